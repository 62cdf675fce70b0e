"""Rules that span several fields (contract §9.6 and friends), checked on the raw body.

They run on the plain JSON rather than on the model so that a template with a type error in one
place still gets every cross-field problem reported in the same answer. Each rule ignores values of
the wrong type: the structural pass reports those.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from shared.models import resource_ids as rids
from shared.models.fields import is_storage_url
from shared.models.paths import Path, get_in, items_at
from shared.models.regions import normalize_region

Finding = tuple[Path, str, str]  # (path, detail code, message)
_SCRIPTED = ("Shell", "PowerShell")


def _script_items(body: Mapping[str, Any]) -> Iterator[tuple[Path, Mapping[str, Any]]]:
    for pattern in (("properties", "customize", "*"), ("properties", "validate", "inVMValidations", "*")):
        for path, item in items_at(body, pattern):
            if isinstance(item, Mapping):
                yield path, item


def scripts(body: Mapping[str, Any]) -> Iterator[Finding]:
    """scriptUri XOR inline; runAsSystem needs runElevated; File needs sourceUri and destination."""
    for path, item in _script_items(body):
        kind = item.get("type")
        if kind in _SCRIPTED:
            # A legacy 'script' is reported on its own; it stands for scriptUri here.
            has_uri = item.get("scriptUri") is not None or item.get("script") is not None
            has_inline = item.get("inline") is not None
            if has_uri and has_inline:
                yield (*path, "inline"), "MutuallyExclusive", "give either 'scriptUri' or 'inline', not both"
            elif not has_uri and not has_inline:
                yield path, "RequiredField", f"a {kind} step needs exactly one of 'scriptUri' or 'inline'"
            elif has_inline and item.get("inline") == []:
                yield (*path, "inline"), "InvalidValue", "'inline' must hold at least one command"
        if kind == "PowerShell" and item.get("runAsSystem") is True and item.get("runElevated") is not True:
            message = "'runAsSystem' can only be true when 'runElevated' is true"
            yield (*path, "runAsSystem"), "MutuallyExclusive", message
        if kind == "File":
            for field in ("sourceUri", "destination"):
                if item.get(field) is None:
                    yield (*path, field), "RequiredField", f"'{field}' is required for a File step"


def secure_uris(body: Mapping[str, Any]) -> Iterator[Finding]:
    """Every scriptUri / sourceUri uses https, or is an Azure Storage URL (read through the Blobs port, over
    https); a VHD target's uri uses https. Checked at PUT and by ``kiln validate``, so an http URL fails there
    and not half an hour into a build (preflight checks it again for templates stored before the rule)."""
    downloads = [
        *[(path, item, ("scriptUri", "sourceUri")) for path, item in _script_items(body)],
        *[
            (path, item, ("scriptUri",))
            for path, item in items_at(body, ("properties", "optimize", "workload"))
            if isinstance(item, Mapping)
        ],
    ]
    for path, item, fields in downloads:
        for field in fields:
            value = item.get(field)
            if isinstance(value, str) and _is_http(value) and not is_storage_url(value):
                message = f"'{field}' must use https (or be an Azure Storage URL): kiln downloads it"
                yield (*path, field), "InsecureUri", message
    for path, item in items_at(body, ("properties", "distribute", "*")):
        if isinstance(item, Mapping) and item.get("type") == "VHD":
            value = item.get("uri")
            if isinstance(value, str) and _is_http(value):
                yield (*path, "uri"), "InsecureUri", "a VHD target's 'uri' must use https"


def _is_http(value: str) -> bool:
    return value[:7].lower() == "http://"


def platform_image(body: Mapping[str, Any]) -> Iterator[Finding]:
    """A PlatformImage source names publisher, offer, sku and version (AIB cannot pick defaults)."""
    source = get_in(body, ("properties", "source"))
    if isinstance(source, Mapping) and source.get("type") == "PlatformImage":
        for field in ("publisher", "offer", "sku", "version"):
            if source.get(field) is None:
                message = f"'{field}' is required for a PlatformImage source"
                if field == "version":
                    message += " (use 'latest' to take the newest at build time)"
                yield ("properties", "source", field), "RequiredField", message


def shared_image(body: Mapping[str, Any]) -> Iterator[Finding]:
    """targetRegions XOR replicationRegions; storageAccountType only with replicationRegions."""
    for path, item in items_at(body, ("properties", "distribute", "*")):
        if not isinstance(item, Mapping) or item.get("type") != "SharedImage":
            continue
        if item.get("targetRegions") is not None and item.get("replicationRegions") is not None:
            yield (
                (*path, "replicationRegions"),
                "MutuallyExclusive",
                "give 'targetRegions' or the deprecated 'replicationRegions', not both",
            )
        if item.get("storageAccountType") is not None and item.get("replicationRegions") is None:
            yield (
                (*path, "storageAccountType"),
                "MutuallyExclusive",
                "the distributor-level 'storageAccountType' only goes with 'replicationRegions'; "
                "set 'storageAccountType' on each entry of 'targetRegions' instead",
            )
        yield from _duplicate_regions(path, item)


def _duplicate_regions(path: Path, item: Mapping[str, Any]) -> Iterator[Finding]:
    seen: set[str] = set()
    regions = item.get("targetRegions")
    for i, region in enumerate(regions if isinstance(regions, list) else []):
        name = region.get("name") if isinstance(region, Mapping) else None
        if isinstance(name, str):
            if normalize_region(name) in seen:
                yield (*path, "targetRegions", i, "name"), "InvalidValue", f"region '{name}' is listed twice"
            seen.add(normalize_region(name))


def run_output_names(body: Mapping[str, Any]) -> Iterator[Finding]:
    """runOutputName names a sub-resource, so it is unique (ARM names are case-insensitive)."""
    first: dict[str, int] = {}
    for path, item in items_at(body, ("properties", "distribute", "*")):
        name = item.get("runOutputName") if isinstance(item, Mapping) else None
        if isinstance(name, str):
            index = first.setdefault(name.lower(), int(path[-1]))
            if index != path[-1]:
                message = f"runOutputName '{name}' is already used by properties.distribute[{index}]"
                yield (*path, "runOutputName"), "InvalidValue", message


def vnet(body: Mapping[str, Any]) -> Iterator[Finding]:
    """containerInstanceSubnetId: needs subnetId, same VNet, other subnet; excludes proxyVmSize."""
    for path, config in items_at(body, ("properties", "vmProfile", "vnetConfig")):
        if not isinstance(config, Mapping) or config.get("containerInstanceSubnetId") is None:
            continue
        aci_path = (*path, "containerInstanceSubnetId")
        if config.get("subnetId") is None:
            message = "'containerInstanceSubnetId' requires 'subnetId' (a subnet of the same virtual network)"
            yield aci_path, "RequiredField", message
        if config.get("proxyVmSize") not in (None, ""):
            yield (
                (*path, "proxyVmSize"),
                "MutuallyExclusive",
                "'proxyVmSize' must not be set with 'containerInstanceSubnetId' (no proxy VM is used then)",
            )
        build, aci = _subnet(config.get("subnetId")), _subnet(config.get("containerInstanceSubnetId"))
        if build is None or aci is None:
            continue
        if str(build.parent()).lower() != str(aci.parent()).lower():
            yield aci_path, "InvalidValue", "must be a subnet of the same virtual network as 'subnetId'"
        elif build.name.lower() == aci.name.lower():
            yield aci_path, "InvalidValue", "must be a different subnet from 'subnetId' (delegated to ACI)"


def _subnet(value: Any) -> rids.ResourceId | None:
    if not isinstance(value, str):
        return None
    try:
        return rids.parse_typed_id(value, rids.SUBNET)
    except rids.ResourceIdError:
        return None


def identity(body: Mapping[str, Any]) -> Iterator[Finding]:
    """A template has exactly one user-assigned identity."""
    ident = body.get("identity")
    if not isinstance(ident, Mapping):
        return
    kind, ids = ident.get("type"), ident.get("userAssignedIdentities")
    if kind == "None":
        yield (
            ("identity", "type"),
            "InvalidValue",
            "a template needs its user-assigned identity; 'None' is only for a PATCH that removes it",
        )
    elif kind == "UserAssigned" and (ids is None or (isinstance(ids, Mapping) and len(ids) != 1)):
        count = len(ids) if isinstance(ids, Mapping) else 0
        yield (
            ("identity", "userAssignedIdentities"),
            "InvalidValue",
            f"the template supports exactly one user-assigned identity; {count} given",
        )


def update_identity(body: Mapping[str, Any]) -> Iterator[Finding]:
    """In a PATCH, 'None' removes the identity (and then lists none); UserAssigned names one."""
    ident = body.get("identity")
    if not isinstance(ident, Mapping):
        return
    ids = ident.get("userAssignedIdentities")
    if ident.get("type") == "None" and ids:
        message = "must be empty when 'type' is 'None'"
        yield ("identity", "userAssignedIdentities"), "MutuallyExclusive", message
    elif ident.get("type") == "UserAssigned":
        yield from identity(body)


TEMPLATE_RULES: tuple[Callable[[Mapping[str, Any]], Iterator[Finding]], ...] = (
    identity,
    platform_image,
    scripts,
    secure_uris,
    shared_image,
    run_output_names,
    vnet,
)
UPDATE_RULES: tuple[Callable[[Mapping[str, Any]], Iterator[Finding]], ...] = (
    update_identity,
    secure_uris,
    shared_image,
    run_output_names,
    vnet,
)
