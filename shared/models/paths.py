"""JSON paths for error targets: ``properties.customize[2].inline``, rooted at the resource body."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

Path = tuple[str | int, ...]
_PLAIN_KEY = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")


def format_path(path: Path) -> str:
    """Render ``("properties", "customize", 2, "inline")`` as ``properties.customize[2].inline``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += "['" + part.replace("'", "\\'") + "']"
    return out


def is_within(path: Path, ancestor: Path) -> bool:
    """Whether ``path`` is ``ancestor`` or lies under it."""
    return path[: len(ancestor)] == ancestor


def get_in(node: Any, path: Path) -> Any:
    """The value at ``path`` in plain JSON data, or None where the path does not exist."""
    for part in path:
        if isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node):
            node = node[part]
        elif isinstance(part, str) and isinstance(node, Mapping):
            node = node.get(part)
        else:
            return None
    return node


def document_order(body: Any, path: Path) -> tuple[int, ...]:
    """A sort key that puts paths in the order their fields appear in ``body`` (missing ones last)."""
    key: list[int] = []
    node = body
    for part in path:
        if isinstance(node, Mapping) and part in node:
            key.append(list(node).index(part))
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            key.append(part)
            node = node[part]
        else:
            key.append(len(node) if isinstance(node, Mapping | list) else 0)
            node = None
    return tuple(key)


def items_at(node: Any, pattern: Path, prefix: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Yield (path, value) for every match of ``pattern``, where ``"*"`` stands for each list index."""
    if not pattern:
        yield prefix, node
        return
    head, rest = pattern[0], pattern[1:]
    if head == "*":
        if isinstance(node, list):
            for i, child in enumerate(node):
                yield from items_at(child, rest, (*prefix, i))
    elif isinstance(node, Mapping) and head in node:
        yield from items_at(node[head], rest, (*prefix, head))
