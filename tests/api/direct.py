"""Call the app's HTTP functions in-process, routed as the Functions host routes them (no server)."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func

from devhost.routes import compile_route

BASE = "https://kiln.test"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str
    json: Any = field(default=None)


@functools.cache
def app_functions() -> tuple[Any, ...]:
    """The function app's functions (``get_functions`` may run once per app: its name check fails twice)."""
    import function_app

    return tuple(function_app.app.get_functions())


class DirectApi:
    """Routes ``method path`` to the function whose route template matches, like the host does."""

    def __init__(self, functions: tuple[Any, ...]) -> None:
        self._routes = []
        for fn in functions:
            trigger = fn.get_trigger()
            if trigger.type != "httpTrigger":
                continue
            methods = {str(getattr(m, "value", m)).upper() for m in trigger.methods or []}
            self._routes.append((compile_route(trigger.route), methods, fn.get_user_function()))

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        if raw is None and body is not None:
            raw = json.dumps(body).encode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        raw_path = path.split("?")[0]  # not urlsplit: it silently drops tabs and newlines
        for route, methods, fn in self._routes:
            route_params = route.match(raw_path)
            if route_params is None or (methods and method.upper() not in methods):
                continue
            req = func.HttpRequest(
                method=method.upper(),
                url=BASE + path,
                headers=headers or {},
                params=params or {},
                route_params=route_params,
                body=raw or b"",
            )
            resp = fn(req)
            text = resp.get_body().decode()
            return Reply(resp.status_code, dict(resp.headers), text, json.loads(text) if text else None)
        return Reply(404, {}, "", None)

    def get(self, path: str, version: str = "2025-10-01", **kw: Any) -> Reply:
        return self.request("GET", path, params={"api-version": version, **kw.pop("params", {})}, **kw)

    def put(self, path: str, body: Any, version: str = "2025-10-01", **kw: Any) -> Reply:
        return self.request("PUT", path, params={"api-version": version}, body=body, **kw)

    def patch(self, path: str, body: Any, version: str = "2025-10-01", **kw: Any) -> Reply:
        return self.request("PATCH", path, params={"api-version": version}, body=body, **kw)

    def delete(self, path: str, version: str = "2025-10-01", **kw: Any) -> Reply:
        return self.request("DELETE", path, params={"api-version": version}, **kw)
