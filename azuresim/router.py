"""Case-insensitive path routing for the ARM-shaped endpoints azuresim serves.

Patterns look like
``/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}``.
Literals match case-insensitively (the SDK sends ``/resourcegroups/``); ``{x}`` matches one segment and
``{x:path}`` (an azuresim extension) matches one or more segments. Among patterns that match, single-segment
patterns win, then those with more literals after a ``{x:path}``, then those with more literal segments: a
provider's specific route beats the generic resource-by-id route.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from azuresim.server import Sim


@dataclass
class SimRequest:
    method: str
    path: str
    params: dict[str, str]
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: Any
    sim: Sim
    base_url: str
    op: str = ""
    raw: bytes = b""

    @property
    def api_version(self) -> str:
        return self.query.get("api-version", "")


Handler = Callable[[SimRequest], Awaitable[web.StreamResponse]]

_PARAM = re.compile(r"\{(\w+)(:path)?\}")


@dataclass
class Route:
    method: str
    pattern: str
    handler: Handler
    op: str
    regex: re.Pattern[str]
    literals: int
    order: int
    multi: bool = field(default=False)
    tail: int = field(default=0)  # literal segments after the multi-segment parameter


def _compile(pattern: str) -> tuple[re.Pattern[str], int, bool, int]:
    parts = pattern.strip("/").split("/")
    out: list[str] = []
    literals = 0
    multi = False
    tail = 0
    for part in parts:
        m = _PARAM.fullmatch(part)
        if m is None:
            out.append(re.escape(part))
            literals += 1
            tail += 1
        elif m.group(2):
            out.append(f"(?P<{m.group(1)}>[^?]+?)")
            multi = True
            tail = 0
        else:
            out.append(f"(?P<{m.group(1)}>[^/]+)")
    return re.compile("/" + "/".join(out) + "/?", re.IGNORECASE), literals, multi, tail if multi else 0


def _rank(route: Route) -> tuple[bool, int, int]:
    # A multi-segment route anchored by literals after its wildcard (``/{scope:path}/…/tags/default``)
    # is more specific than one that ends in it (the generic ``…/providers/{rest:path}``).
    return (route.multi, -route.tail, -route.literals)


class Router:
    """Maps (method, path) to a handler and the operation type name used by latency and faults."""

    def __init__(self) -> None:
        self._routes: list[Route] = []

    def add(self, method: str, pattern: str, handler: Handler, *, op: str) -> None:
        regex, literals, multi, tail = _compile(pattern)
        route = Route(method.upper(), pattern, handler, op, regex, literals, len(self._routes), multi, tail)
        self._routes.append(route)
        # Most specific first: single-segment patterns before multi-segment ones, then more literals first.
        self._routes.sort(key=lambda r: (*_rank(r), r.order))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The best route for ``method`` and ``path`` (HEAD falls back to GET), or None."""
        method = method.upper()
        fallback: tuple[Route, dict[str, str]] | None = None
        for route in self._routes:
            if route.method != method and not (method == "HEAD" and route.method == "GET"):
                continue
            m = route.regex.fullmatch(path)
            if m is None:
                continue
            if route.method == method:
                if fallback is not None and _rank(fallback[0]) < _rank(route):
                    return fallback
                return route, m.groupdict()
            if fallback is None:
                fallback = (route, m.groupdict())
        return fallback

    def allows_other_method(self, path: str) -> bool:
        return any(r.regex.fullmatch(path) for r in self._routes)

    @property
    def routes(self) -> list[Route]:
        return list(self._routes)
