"""Recognise template shapes from old API versions and say what the current contract calls them.

Quickstarts written for 2018–2019 preview versions are still copied into pipelines; Azure answers
them with an unmarshalling error. We name the old field or value and its replacement instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from shared.models.customizers import CUSTOMIZER_TYPES, VALIDATOR_TYPES
from shared.models.distribute import DISTRIBUTE_TYPES
from shared.models.paths import Path, items_at
from shared.models.sources import SOURCE_TYPES

Finding = tuple[Path, str, str]  # (path, detail code, message)

_DISCRIMINATED: tuple[tuple[Path, str, tuple[str, ...]], ...] = (
    (("properties", "source"), "type", SOURCE_TYPES),
    (("properties", "customize", "*"), "type", CUSTOMIZER_TYPES),
    (("properties", "validate", "inVMValidations", "*"), "type", VALIDATOR_TYPES),
    (("properties", "distribute", "*"), "type", DISTRIBUTE_TYPES),
    (("properties", "distribute", "*", "versioning"), "scheme", ("Latest", "Source")),
)
_SCRIPT_HOLDERS: tuple[Path, ...] = (
    ("properties", "customize", "*"),
    ("properties", "validate", "inVMValidations", "*"),
)
_OLD_VNET_FIELDS = ("name", "subnetName", "resourceGroupName")
_SUBNET_SHAPE = (
    "/subscriptions/{subscriptionId}/resourceGroups/{rg}/providers/Microsoft.Network/"
    "virtualNetworks/{vnet}/subnets/{subnet}"
)


def find_legacy(body: Mapping[str, Any], *, is_update: bool = False) -> Iterator[Finding]:
    """Yield (path, code, message) for every pre-2020 shape in a template body or PATCH body."""
    yield from _discriminators(body)
    for pattern in _SCRIPT_HOLDERS:
        for path, item in items_at(body, pattern):
            if isinstance(item, Mapping) and "script" in item:
                message = "'script' is the pre-2019 name of this field; use 'scriptUri'"
                yield (*path, "script"), "LegacyField", message
    for path, vnet in items_at(body, ("properties", "vmProfile", "vnetConfig")):
        if isinstance(vnet, Mapping):
            for old in _OLD_VNET_FIELDS:
                if old in vnet:
                    yield (
                        (*path, old),
                        "LegacyField",
                        f"'vnetConfig.{old}' belongs to the 2019 preview API; give the whole subnet as "
                        f"'subnetId': {_SUBNET_SHAPE}",
                    )
    if not is_update and "identity" not in body:
        yield (
            ("identity",),
            "RequiredField",
            "'identity' is required since api-version 2020-02-14: give exactly one user-assigned identity, "
            'e.g. {"type": "UserAssigned", "userAssignedIdentities": {"<identity resource id>": {}}}',
        )


def _discriminators(body: Mapping[str, Any]) -> Iterator[Finding]:
    for pattern, key, valid in _DISCRIMINATED:
        for path, item in items_at(body, pattern):
            value = item.get(key) if isinstance(item, Mapping) else None
            if not isinstance(value, str) or value in valid:
                continue
            if pattern[1] == "source" and value.upper() == "ISO":
                yield (
                    path,
                    "LegacyField",
                    "the 'ISO' source type (sourceURI, sha256Checksum) was removed from the API; use a "
                    "'PlatformImage' (e.g. RHEL from the Marketplace, with planInfo for BYOS), "
                    "'ManagedImage' or 'SharedImageVersion' source",
                )
                continue
            match = next((v for v in valid if v.lower() == value.lower()), None)
            if match is not None:
                yield (
                    (*path, key),
                    "LegacyField",
                    f"'{value}' is the old spelling; use '{match}' ({key} values are case-sensitive since "
                    "api-version 2020-02-14)",
                )
