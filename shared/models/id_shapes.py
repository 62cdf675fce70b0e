"""Check the shape of resource ids that contain placeholders.

``/subscriptions/{subscription-id}/.../Microsoft.Compute/gallery/...`` has a placeholder *and* a typo;
reporting only the placeholder would let the typo through once the placeholder is filled in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from shared.models.fields import RESOURCE_ID_CHECKS
from shared.models.paths import Path, get_in
from shared.models.placeholders import is_arm_expression, placeholder_token

_ZERO_GUID = "00000000-0000-0000-0000-000000000000"


def _field_of(path: Path) -> str | None:
    """The resource-id field a path points at (list items and map keys count as their list/map)."""
    for part in reversed(path[-2:]):
        if isinstance(part, str) and part in RESOURCE_ID_CHECKS:
            return part
    return None


def _fill(value: str) -> str:
    segments = value.split("/")
    for i, segment in enumerate(segments):
        if placeholder_token(segment) is not None:
            after_subscriptions = i > 0 and segments[i - 1].lower() == "subscriptions"
            segments[i] = _ZERO_GUID if after_subscriptions else re.sub(r"[^A-Za-z0-9]", "", segment) or "x"
    return "/".join(segments)


def id_shape_problems(body: Any, placeholder_paths: Iterable[Path]) -> Iterator[tuple[Path, str]]:
    """Yield (path, message) for resource ids that are malformed even with their placeholders filled."""
    for path in placeholder_paths:
        field = _field_of(path)
        is_key = len(path) >= 2 and isinstance(path[-1], str) and path[-2] == field
        value = path[-1] if is_key else get_in(body, path)
        if field is None or not isinstance(value, str) or not value.startswith("/"):
            continue
        if is_arm_expression(value):
            continue
        message = RESOURCE_ID_CHECKS[field](_fill(value))
        if message is not None:
            yield path, message.replace(_fill(value), value)
