"""The state every fake port shares: one in-memory Azure subscription.

Resources are plain dicts keyed by lower-cased ARM id. Long operations progress on reads: a ``begin_*`` leaves
the resource in a transitional state and each ``get`` moves it one step (``lro_reads`` steps in all), so a
test can poll exactly as the orchestrator does. Failures are injected per operation name
(``"deployments.begin"``, ``"vms.delete"``, …) and every call is recorded in ``calls`` so tests can
assert on order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from shared.errors import AzureError, AzureNotFound, TransientAzureError
from shared.models.azure import ErrorInfo

SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"

# Which resource type refuses deletion while another resource uses it, and the code Azure answers with.
IN_USE_CODES = {
    "microsoft.network/networkinterfaces": "NicInUse",
    "microsoft.network/publicipaddresses": "PublicIPAddressCannotBeDeleted",
    "microsoft.network/networksecuritygroups": "InUseNetworkSecurityGroupCannotBeDeleted",
    "microsoft.network/virtualnetworks": "InUseSubnetCannotBeDeleted",
    "microsoft.compute/disks": "OperationNotAllowed",
}


@dataclass
class InjectedFailure:
    op: str
    error: AzureError
    times: int


def arm_id(resource_group: str, type_: str, *names: str) -> str:
    """Canonical ARM id: ``resourceId('Microsoft.Network/virtualNetworks/subnets', 'v', 's')`` semantics."""
    namespace, *types = type_.split("/")
    path = "/".join(f"{t}/{n}" for t, n in zip(types, names, strict=True))
    return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{resource_group}/providers/{namespace}/{path}"


def type_of(resource_id: str) -> str:
    parts = resource_id.strip("/").split("/")
    at = [p.lower() for p in parts].index("providers")
    return "/".join([parts[at + 1], *parts[at + 2 :][0::2]]).lower()


def group_of(resource_id: str) -> str:
    return resource_id.strip("/").split("/")[3]


@dataclass
class FakeCloud:
    """One subscription's state, shared by every fake port."""

    lro_reads: int = 1
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    deployments: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[InjectedFailure] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    blobs: dict[str, bytearray] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    failing_deployments: dict[str, ErrorInfo] = field(default_factory=dict)
    sas: dict[str, str] = field(default_factory=dict)  # signature -> the blob URL it lets Azure write

    def fail(self, op: str, error: AzureError, *, times: int = 1) -> None:
        """Make the next ``times`` calls of ``op`` raise ``error``."""
        self.failures.append(InjectedFailure(op, error, times))

    def enter(self, op: str, target: str = "") -> None:
        self.calls.append(f"{op} {target}".strip())
        for rule in self.failures:
            if rule.op == op and rule.times > 0:
                rule.times -= 1
                raise rule.error

    # resources -------------------------------------------------------------------------------------------
    def get(self, resource_id: str) -> dict[str, Any]:
        found = self.resources.get(resource_id.lower())
        if found is None:
            raise AzureNotFound(f"The Resource '{resource_id}' was not found.", target=resource_id)
        return found

    def find(self, resource_id: str) -> dict[str, Any] | None:
        return self.resources.get(resource_id.lower())

    def put(self, resource_id: str, resource: dict[str, Any]) -> dict[str, Any]:
        if group_of(resource_id).lower() not in self.groups:
            raise AzureNotFound(
                f"Resource group '{group_of(resource_id)}' could not be found.", code="ResourceGroupNotFound"
            )
        existing = self.resources.get(resource_id.lower())
        if existing is not None:
            existing.update({k: v for k, v in resource.items() if k != "id"})
            return existing
        resource = {**resource, "id": resource_id, "name": resource_id.rsplit("/", 1)[-1]}
        resource.setdefault("type", type_of(resource_id))
        resource.setdefault("tags", {})
        resource.setdefault("uses", [])
        self.resources[resource_id.lower()] = resource
        return resource

    def users_of(self, resource_id: str) -> list[dict[str, Any]]:
        key = resource_id.lower()
        return [
            r
            for r in self.resources.values()
            if any(u.lower() == key or u.lower().startswith(key + "/") for u in r["uses"])
        ]

    def delete(self, resource_id: str) -> None:
        """Delete as ARM does: not found is fine; a resource still used by another is refused."""
        resource = self.find(resource_id)
        if resource is None:
            return
        users = self.users_of(resource_id)
        if users:
            code = IN_USE_CODES.get(type_of(resource_id), "Conflict")
            raise TransientAzureError(
                f"{resource['name']} is in use by {users[0]['id']} and cannot be deleted.",
                code=code,
                status=400,
            )
        self.resources.pop(resource_id.lower())
        for child in [k for k in self.resources if k.startswith(resource_id.lower() + "/")]:
            self.resources.pop(child)

    def in_group(self, name: str) -> list[dict[str, Any]]:
        return [r for r in self.resources.values() if group_of(r["id"]).lower() == name.lower()]

    def step(self, resource: dict[str, Any]) -> bool:
        """Advance a resource's pending operation by one read; True when it has just finished."""
        if resource.get("pending", 0) <= 0:
            return False
        resource["pending"] -= 1
        return bool(resource["pending"] == 0)


def ids_in(value: Any) -> list[str]:
    """Every ARM id referenced inside a resource's properties (what it uses)."""
    if isinstance(value, dict):
        return [i for v in value.values() for i in ids_in(v)]
    if isinstance(value, list):
        return [i for v in value for i in ids_in(v)]
    if isinstance(value, str) and re.match(
        r"(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/", value
    ):
        return [value]
    return []
