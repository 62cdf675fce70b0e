"""The resource store: every ARM resource azuresim knows, keyed by id, with ids in Azure's canonical casing.

Azure matches ids case-insensitively but answers with canonical casing for the fixed words and the resource
types (``/resourceGroups/``, ``Microsoft.Network/networkInterfaces``) and with the name casing used when the
resource was first created; the store does the same.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

Resources = list[dict[str, Any]]  # an alias: ResourceStore.list shadows the builtin inside the class

_FIXED = {"subscriptions": "subscriptions", "resourcegroups": "resourceGroups", "providers": "providers"}

# Canonical casing of every resource type azuresim serves; providers may add more with register_type().
_TYPES: dict[str, str] = {}


def register_type(full_type: str) -> None:
    """Record the canonical casing of a type such as ``Microsoft.Compute/virtualMachines/runCommands``."""
    parts = full_type.split("/")
    for i in range(2, len(parts) + 1):
        prefix = "/".join(parts[:i])
        _TYPES.setdefault(prefix.lower(), prefix)
    _TYPES.setdefault(parts[0].lower(), parts[0])


for _t in (
    "Microsoft.Resources/resourceGroups",
    "Microsoft.Resources/deployments",
    "Microsoft.Resources/tags",
    "Microsoft.Network/virtualNetworks/subnets",
    "Microsoft.Network/networkInterfaces/ipConfigurations",
    "Microsoft.Network/networkSecurityGroups/securityRules",
    "Microsoft.Network/publicIPAddresses",
    "Microsoft.Storage/storageAccounts/blobServices/containers",
    "Microsoft.Compute/virtualMachines/runCommands",
    "Microsoft.Compute/virtualMachines/extensions",
    "Microsoft.Compute/disks",
    "Microsoft.Compute/snapshots",
    "Microsoft.Compute/images",
    "Microsoft.Compute/galleries/images/versions",
    "Microsoft.ManagedIdentity/userAssignedIdentities",
    "Microsoft.Authorization/roleAssignments",
    "Microsoft.KeyVault/vaults",
    "Microsoft.VirtualMachineImages/imageTemplates",
):
    register_type(_t)


def canonical_id(sub: str, rg: str, provider: str, *type_name_pairs: str) -> str:
    """``/subscriptions/{sub}/resourceGroups/{rg}/providers/{provider}/{type}/{name}/...``, canonical."""
    raw = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{provider}/" + "/".join(type_name_pairs)
    return canonicalize(raw.rstrip("/"))


def canonicalize(resource_id: str) -> str:
    """Canonical casing for the fixed words, provider namespace and types of an id; names are kept."""
    parts = resource_id.strip("/").split("/")
    out: list[str] = []
    i = 0
    while i < len(parts):
        word = parts[i]
        low = word.lower()
        if low == "providers" and i + 1 < len(parts):
            ns = parts[i + 1]
            out += ["providers", _TYPES.get(ns.lower(), ns)]
            type_path = _TYPES.get(ns.lower(), ns)
            i += 2
            # Alternating type/name segments below the namespace.
            while i < len(parts) and parts[i].lower() != "providers":
                type_path = f"{type_path}/{parts[i]}"
                canon = _TYPES.get(type_path.lower())
                out.append(canon.rsplit("/", 1)[1] if canon else parts[i])
                if i + 1 < len(parts):
                    out.append(parts[i + 1])
                i += 2
            continue
        out.append(_FIXED.get(low, word) if i % 2 == 0 else word)
        i += 1
    return "/" + "/".join(out)


def resource_type_of(resource_id: str) -> str:
    """Type of an id, e.g. ``Microsoft.Network/virtualNetworks/subnets``."""
    parts = canonicalize(resource_id).strip("/").split("/")
    low = [p.lower() for p in parts]
    if "providers" not in low:
        if len(parts) == 4 and low[2] == "resourcegroups":
            return "Microsoft.Resources/resourceGroups"
        return "Microsoft.Resources/subscriptions"
    at = len(low) - 1 - low[::-1].index("providers")
    rest = parts[at + 1 :]
    return "/".join([rest[0], *rest[1::2]])


class ResourceStore:
    """Resources by lower-cased id. Values are the JSON bodies Azure would return (plus ``_``-prefixed
    private fields the providers keep, stripped by :func:`public`)."""

    def __init__(self, on_change: Callable[[], None] | None = None) -> None:
        self._items: dict[str, dict[str, Any]] = {}
        self.on_change = on_change
        self.on_delete: Callable[[dict[str, Any]], None] | None = None
        # When each resource was first created and when it went (epoch seconds), for ``/_sim/lifetimes``:
        # how long a build VM lived, against when a gallery region finished. Kept in memory only.
        self.lifetimes: dict[str, dict[str, Any]] = {}

    def get(self, resource_id: str) -> dict[str, Any] | None:
        return self._items.get(resource_id.rstrip("/").lower())

    def put(self, resource_id: str, resource: dict[str, Any]) -> dict[str, Any]:
        key = resource_id.rstrip("/").lower()
        existing = self._items.get(key)
        rid = existing["id"] if existing is not None else canonicalize(resource_id)
        if existing is None:
            self.lifetimes[key] = {"id": rid, "created": time.time(), "deleting": None, "gone": None}
        resource["id"] = rid
        resource["name"] = rid.rsplit("/", 1)[1]
        resource["type"] = resource_type_of(rid)
        self._items[key] = resource
        self._changed()
        return resource

    def deleting(self, resource_id: str) -> None:
        """Note when the deletion of ``resource_id`` was asked for (its lifetime's ``deleting``)."""
        life = self.lifetimes.get(resource_id.rstrip("/").lower())
        if life is not None and life.get("deleting") is None:
            life["deleting"] = time.time()

    def delete(self, resource_id: str) -> bool:
        key = resource_id.rstrip("/").lower()
        gone = self._items.pop(key, None)
        if gone is not None:
            if key in self.lifetimes:
                self.deleting(key)
                self.lifetimes[key]["gone"] = time.time()
            if self.on_delete is not None:
                self.on_delete(gone)
            self._changed()
        return gone is not None

    def list(
        self,
        *,
        prefix: str | None = None,
        type: str | None = None,
        resource_group: tuple[str, str] | None = None,
    ) -> Resources:
        pre = prefix.lower() if prefix else None
        if resource_group is not None:
            sub, rg = resource_group
            pre = f"/subscriptions/{sub}/resourcegroups/{rg}/providers/".lower()
        low_type = type.lower() if type else None
        return [
            r
            for k, r in self._items.items()
            if (pre is None or k.startswith(pre)) and (low_type is None or r["type"].lower() == low_type)
        ]

    def children(self, parent_id: str) -> Resources:
        pre = parent_id.rstrip("/").lower() + "/"
        return [r for k, r in self._items.items() if k.startswith(pre)]

    def all(self) -> Resources:
        return list(self._items.values())

    def dump(self) -> Resources:
        return copy.deepcopy(list(self._items.values()))

    def load(self, items: Resources) -> None:
        self._items = {r["id"].lower(): r for r in items}

    def clear(self) -> None:
        """Remove every resource (each one through ``on_delete``)."""
        for key in list(self._items):
            self.delete(key)

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()


def public(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource as Azure serves it: without azuresim's private ``_`` fields."""
    return {k: v for k, v in resource.items() if not k.startswith("_")}
