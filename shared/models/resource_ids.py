"""A small parser for ARM resource ids, strict enough to catch the typos seen in real templates.

ARM compares the fixed words of an id (``subscriptions``, ``resourceGroups``, ``providers``, resource
types) case-insensitively, so we do too; anything else about the shape is checked strictly, because
AIB only finds a mistyped id when the build fails half an hour later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# ARM: letters (any script), digits, underscore, hyphen, period, parentheses; max 90; no trailing period.
_RESOURCE_GROUP = re.compile(r"^[-\w.()]{1,90}$")
_NAMESPACE = re.compile(r"^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)+$")
# Characters ARM refuses in resource names, plus braces and angle brackets (template placeholders).
_BAD_NAME_CHARS = set("<>%&:\\?/{}*#|\"'")
_GALLERY_VERSION = re.compile(r"^\d{1,10}\.\d{1,10}\.\d{1,10}$")
_INT32_MAX = 2**31 - 1


class ResourceIdError(ValueError):
    """The string is not a well-formed ARM resource id of the expected kind; ``str()`` says why."""


@dataclass(frozen=True)
class ResourceId:
    """A parsed ARM resource id.

    ``types`` holds the (type, name) pairs after the provider namespace, e.g.
    ``(("galleries", "g"), ("images", "def"), ("versions", "1.0.0"))``.
    """

    subscription: str
    resource_group: str | None
    provider: str | None
    types: tuple[tuple[str, str], ...]

    @property
    def name(self) -> str:
        """The last name segment (the resource group's name for a resource-group id)."""
        if self.types:
            return self.types[-1][1]
        return self.resource_group or self.subscription

    def parent(self) -> ResourceId:
        """The id one (type, name) pair up: a subnet's virtual network, a version's image definition."""
        return ResourceId(self.subscription, self.resource_group, self.provider, self.types[:-1])

    def __str__(self) -> str:
        parts = ["", "subscriptions", self.subscription]
        if self.resource_group is not None:
            parts += ["resourceGroups", self.resource_group]
        if self.provider is not None:
            parts += ["providers", self.provider]
        for rtype, rname in self.types:
            parts += [rtype, rname]
        return "/".join(parts)


def check_resource_group_name(name: str) -> str | None:
    """Return why ``name`` is not a valid resource group name, or None if it is."""
    if not _RESOURCE_GROUP.match(name):
        return (
            f"resource group name '{name}' must be 1-90 letters, digits, underscores, hyphens, "
            "periods or parentheses"
        )
    if name.endswith("."):
        return f"resource group name '{name}' must not end with a period"
    return None


def check_name_segment(name: str, what: str) -> str | None:
    """Return why ``name`` cannot be an ARM resource name, or None if it can."""
    if not name or name.strip() != name:
        return f"the name after '{what}/' is empty or has leading/trailing spaces"
    bad = sorted(set(name) & _BAD_NAME_CHARS)
    if bad:
        return f"the name '{name}' after '{what}/' contains the character(s) {' '.join(bad)}"
    return None


def parse_resource_id(value: str) -> ResourceId:
    """Parse an ARM resource id (subscription-, resource-group- or resource-level).

    Args:
        value: e.g. ``/subscriptions/{guid}/resourceGroups/rg/providers/Microsoft.Compute/images/img``.

    Returns:
        The parsed id.

    Raises:
        ResourceIdError: the id is malformed; the message names the faulty segment.
    """
    if not value.startswith("/"):
        raise ResourceIdError("a resource id must start with '/subscriptions/'")
    segs = value[1:].split("/")
    if "" in segs:
        raise ResourceIdError("the resource id has an empty segment ('//' or a trailing '/')")
    if segs[0].lower() != "subscriptions" or len(segs) < 2:
        raise ResourceIdError("a resource id must start with '/subscriptions/{subscriptionId}'")
    if not _GUID.match(segs[1]):
        raise ResourceIdError(f"the subscription id '{segs[1]}' is not a GUID")
    rest = segs[2:]
    group: str | None = None
    if rest and rest[0].lower() == "resourcegroups":
        if len(rest) < 2:
            raise ResourceIdError("'resourceGroups' must be followed by a resource group name")
        problem = check_resource_group_name(rest[1])
        if problem:
            raise ResourceIdError(problem)
        group, rest = rest[1], rest[2:]
    if not rest:
        return ResourceId(segs[1], group, None, ())
    return _parse_provider_part(segs[1], group, rest)


def _parse_provider_part(sub: str, group: str | None, rest: list[str]) -> ResourceId:
    if rest[0].lower() != "providers":
        raise ResourceIdError(f"expected 'providers' but found '{rest[0]}'")
    if len(rest) < 2 or not _NAMESPACE.match(rest[1]):
        found = rest[1] if len(rest) > 1 else ""
        raise ResourceIdError(f"'{found}' is not a resource provider namespace such as 'Microsoft.Compute'")
    pairs = rest[2:]
    if not pairs or len(pairs) % 2:
        raise ResourceIdError(
            f"after 'providers/{rest[1]}' a resource id needs type/name pairs, found '{'/'.join(pairs)}'"
        )
    types: list[tuple[str, str]] = []
    for i in range(0, len(pairs), 2):
        problem = check_name_segment(pairs[i + 1], pairs[i])
        if problem:
            raise ResourceIdError(problem)
        types.append((pairs[i], pairs[i + 1]))
    return ResourceId(sub, group, rest[1], tuple(types))


_SINGULAR = {
    "images": "image",
    "galleries": "gallery",
    "versions": "version",
    "virtualNetworks": "vnet",
    "subnets": "subnet",
    "userAssignedIdentities": "identity",
}


@dataclass(frozen=True)
class ResourceKind:
    """The provider and type chain a field's resource id must have."""

    label: str
    provider: str
    types: tuple[str, ...]

    @property
    def pattern(self) -> str:
        """The id's shape with ``{placeholders}``, for messages."""
        chain = "/".join(f"{t}/{{{_SINGULAR.get(t, 'name')}}}" for t in self.types)
        return f"/subscriptions/{{subscriptionId}}/resourceGroups/{{rg}}/providers/{self.provider}/{chain}"


MANAGED_IMAGE = ResourceKind("managed image", "Microsoft.Compute", ("images",))
GALLERY_IMAGE = ResourceKind("gallery image definition", "Microsoft.Compute", ("galleries", "images"))
GALLERY_IMAGE_VERSION = ResourceKind(
    "gallery image version", "Microsoft.Compute", ("galleries", "images", "versions")
)
SUBNET = ResourceKind("subnet", "Microsoft.Network", ("virtualNetworks", "subnets"))
USER_IDENTITY = ResourceKind(
    "user-assigned managed identity", "Microsoft.ManagedIdentity", ("userAssignedIdentities",)
)


def parse_typed_id(value: str, kind: ResourceKind) -> ResourceId:
    """Parse ``value`` and check it is a resource-group-scoped id of ``kind``.

    Raises:
        ResourceIdError: malformed, or another kind of resource (the message shows the expected shape).
    """
    rid = parse_resource_id(value)
    if rid.resource_group is None or rid.provider is None:
        raise ResourceIdError(f"a {kind.label} id must look like {kind.pattern}")
    if rid.provider.lower() != kind.provider.lower():
        raise ResourceIdError(f"expected provider '{kind.provider}' but found '{rid.provider}'")
    found = tuple(t for t, _ in rid.types)
    for i, want in enumerate(kind.types):
        got = found[i] if i < len(found) else None
        if got is None or got.lower() != want.lower():
            prev = f"{kind.provider}/" + "/".join(f"{t}/{n}" for t, n in rid.types[:i])
            shown = f"'{got}'" if got is not None else "the end of the id"
            raise ResourceIdError(
                f"expected '{want}' after '{prev.rstrip('/')}' but found {shown}; "
                f"a {kind.label} id looks like {kind.pattern}"
            )
    if len(found) != len(kind.types):
        raise ResourceIdError(f"unexpected segments after the {kind.label}; expected {kind.pattern}")
    return rid


def check_gallery_version(version: str, *, allow_latest: bool) -> str | None:
    """Return why ``version`` is not a gallery image version name (``x.y.z`` or ``latest``), or None."""
    if allow_latest and version == "latest":
        return None
    if not _GALLERY_VERSION.match(version) or any(int(p) > _INT32_MAX for p in version.split(".")):
        allowed = "'latest' or " if allow_latest else ""
        return f"gallery image version '{version}' must be {allowed}major.minor.patch (32-bit integers)"
    return None


# Azure refuses to delete a resource another one still uses (NicInUse, PublicIPAddressCannotBeDeleted,
# InUseSubnetCannotBeDeleted, InUseNetworkSecurityGroupCannotBeDeleted), so kiln deletes the build VM's
# resources in their dependency order: the VM, its NIC, the public IP the NIC held, then the VNet (its build
# subnet references the NSG, so the VNet goes first), the NSG, and the disks. Deletes still run in the
# background, so every caller retries an in-use conflict on its next round.
DELETE_ORDER = (
    "microsoft.compute/virtualmachines",
    "microsoft.network/networkinterfaces",
    "microsoft.network/publicipaddresses",
    "microsoft.network/virtualnetworks",
    "microsoft.network/networksecuritygroups",
    "microsoft.compute/disks",
)


def resource_type(resource_id: str) -> str:
    """The lower-cased top-level type of an ARM id (``microsoft.network/networkinterfaces``)."""
    parts = resource_id.strip("/").split("/")
    lowered = [p.lower() for p in parts]
    if "providers" not in lowered or len(parts) < lowered.index("providers") + 3:
        return ""
    at = lowered.index("providers")
    return f"{lowered[at + 1]}/{lowered[at + 2]}"


def delete_rank(type_or_id: str) -> int:
    """Where a resource type (or the type of an id) comes in the deletion order; unknown types last."""
    lowered = type_or_id.lower()
    kind = resource_type(lowered) if lowered.startswith("/") else lowered
    return DELETE_ORDER.index(kind) if kind in DELETE_ORDER else len(DELETE_ORDER)
