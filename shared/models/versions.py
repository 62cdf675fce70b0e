"""What each supported api-version of imageTemplates contains (contract §10)."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

from shared.models.paths import Path, items_at

LATEST_API_VERSION = "2025-10-01"
SUPPORTED_API_VERSIONS: tuple[str, ...] = ("2025-10-01", "2024-02-01", "2022-07-01")

# (container pattern, field, first api-version that has it). "*" = every list item.
TEMPLATE_FIELDS_INTRODUCED: tuple[tuple[Path, str, str], ...] = (
    (("properties",), "additionalDataDisks", "2025-10-01"),
    (("properties", "optimize"), "workload", "2025-10-01"),
    (("properties", "distribute", "*"), "replicationMode", "2025-10-01"),
    (("properties",), "autoRun", "2024-02-01"),
    (("properties",), "managedResourceTags", "2024-02-01"),
    (("properties", "vmProfile", "vnetConfig"), "containerInstanceSubnetId", "2024-02-01"),
    (("properties",), "errorHandling", "2023-07-01"),
)
UPDATE_FIELDS_INTRODUCED: tuple[tuple[Path, str, str], ...] = (
    (("properties",), "vmProfile", "2024-02-01"),
    (("properties", "distribute", "*"), "replicationMode", "2025-10-01"),
)


def newer_fields(
    body: Mapping[str, Any], api_version: str, table: tuple[tuple[Path, str, str], ...]
) -> Iterator[tuple[Path, str]]:
    """Yield (path, message) for each field of ``body`` that ``api_version`` does not have."""
    for pattern, field, introduced in table:
        if api_version >= introduced:
            continue
        for path, container in items_at(body, pattern):
            if isinstance(container, Mapping) and field in container:
                yield (
                    (*path, field),
                    f"'{field}' is not part of api-version {api_version} (it was added in {introduced}); "
                    f"remove it or use api-version {introduced} or later",
                )


def strip_newer_fields(
    wire: dict[str, Any], api_version: str, table: tuple[tuple[Path, str, str], ...]
) -> dict[str, Any]:
    """Return a copy of ``wire`` without the fields ``api_version`` lacks."""
    out = copy.deepcopy(wire)
    for pattern, field, introduced in table:
        if api_version >= introduced:
            continue
        for _, container in items_at(out, pattern):
            if isinstance(container, dict):
                container.pop(field, None)
    return out
