"""Find unresolved placeholders: ``<region>``, ``{subscription-id}``, ``$VAR``, ARM ``[expressions]``.

ARM expressions are flagged wherever they occur (values and object keys), because nothing between the
caller and kiln would evaluate them. The other token styles are flagged only in fields that hold ids,
names, regions, URIs and sizes: script lines and free text legitimately contain ``$VAR``, ``<`` and ``{``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from shared.models.paths import Path

# ARM treats a string that starts with '[' and ends with ']' as an expression ('[[' escapes). We also
# require a function call so that shell tests such as "[ -d /tmp ]" in inline scripts are left alone.
_ARM_EXPRESSION = re.compile(r"^\[\s*[A-Za-z][A-Za-z0-9.]*\s*\(.*\)\s*\]$", re.DOTALL)
_TOKENS = (
    re.compile(r"<[^<>\s][^<>]*>"),
    re.compile(r"\{[A-Za-z][\w.\- ]*\}"),
    # Storage's own "$root", "$web" and "$logs" containers are real names, not shell variables.
    re.compile(r"\$(\{[A-Za-z_]\w*\}|\([A-Za-z_][\w.]*\)|(?!(root|web|logs)\b)[A-Za-z_]\w*)"),
)
_REFERENCE_KEYS = frozenset(
    {
        "location",
        "imageId",
        "imageVersionId",
        "galleryImageId",
        "scriptUri",
        "sourceUri",
        "uri",
        "destination",
        "runOutputName",
        "subnetId",
        "containerInstanceSubnetId",
        "vmSize",
        "proxyVmSize",
        "stagingResourceGroup",
        "publisher",
        "offer",
        "sku",
        "version",
        "planName",
        "planProduct",
        "planPublisher",
    }
)
_REFERENCE_LISTS = frozenset({"replicationRegions", "userAssignedIdentities"})
_IDENTITY_MAP: Path = ("identity", "userAssignedIdentities")


def is_arm_expression(value: str) -> bool:
    """Whether ``value`` is a whole-string ARM template expression such as ``[parameters('x')]``."""
    return bool(_ARM_EXPRESSION.match(value.strip()))


def placeholder_token(value: str) -> str | None:
    """The first placeholder token in ``value`` (``<x>``, ``{x}``, ``$X``, ``${X}``, ``$(X)``), if any."""
    for pattern in _TOKENS:
        match = pattern.search(value)
        if match:
            return match.group(0)
    return None


def _is_reference(path: Path) -> bool:
    last = path[-1] if path else None
    if isinstance(last, str):
        if last == "name":
            return len(path) >= 3 and path[-3] == "targetRegions"
        return last in _REFERENCE_KEYS
    return len(path) >= 2 and path[-2] in _REFERENCE_LISTS


def _describe(value: str, path: Path, *, reference: bool) -> str | None:
    if is_arm_expression(value):
        return (
            f"'{value}' is an unevaluated ARM template expression; deploy the ARM template through Azure "
            "Resource Manager, or substitute the value before submitting the resource body"
        )
    token = placeholder_token(value) if reference else None
    if token is not None:
        return f"'{value}' contains the unresolved placeholder '{token}'; replace it with the real value"
    return None


def find_placeholders(body: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """Yield (path, message) for every unresolved placeholder in ``body``.

    Args:
        body: plain JSON data (the resource body or any part of it).
        path: the path of ``body`` from the resource root.
    """
    if isinstance(body, str):
        message = _describe(body, path, reference=_is_reference(path))
        if message:
            yield path, message
    elif isinstance(body, list):
        for i, item in enumerate(body):
            yield from find_placeholders(item, (*path, i))
    elif isinstance(body, Mapping):
        for key, value in body.items():
            child = (*path, key)
            if isinstance(key, str):
                message = _describe(key, child, reference=path == _IDENTITY_MAP)
                if message:
                    yield child, message.replace("'; ", "' (an object key); ", 1)
                    continue
            yield from find_placeholders(value, child)
