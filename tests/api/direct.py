"""Call the app's HTTP functions in-process, routed as the Functions host routes them (no server)."""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func

from devhost.binding import binding_json
from devhost.routes import compile_route

BASE = "https://kiln.test"
# Functions with a Durable client get a binding whose RPC listener is a closed port: direct tests never
# reach a run in flight (those go through devhost), so any client call fails loudly instead of hanging.
NO_DURABLE_HOST = "http://127.0.0.1:9"


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

    def __init__(self, functions: tuple[Any, ...], *, rpc_base: str = NO_DURABLE_HOST) -> None:
        self._routes = []
        self._binding = binding_json(public_base=BASE, rpc_base=rpc_base, hub="direct", system_key="k")
        for fn in functions:
            trigger = fn.get_trigger()
            if trigger.type != "httpTrigger":
                continue
            methods = {str(getattr(m, "value", m)).upper() for m in trigger.methods or []}
            clients = [b.name for b in fn.get_bindings() if b.type == "durableClient"]
            self._routes.append((compile_route(trigger.route), methods, fn.get_user_function(), clients))

    def _call(self, fn: Any, clients: list[str], req: func.HttpRequest) -> Any:
        if not inspect.iscoroutinefunction(fn):
            return fn(req)
        return asyncio.run(fn(req=req, **{name: self._binding for name in clients}))

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
        for route, methods, fn, clients in self._routes:
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
            resp = self._call(fn, clients, req)
            text = resp.get_body().decode()
            parsed = json.loads(text) if text and resp.mimetype == "application/json" else None
            return Reply(resp.status_code, dict(resp.headers), text, parsed)
        return Reply(404, {}, "", None)

    def get(self, path: str, version: str = "2025-10-01", **kw: Any) -> Reply:
        return self.request("GET", path, params={"api-version": version, **kw.pop("params", {})}, **kw)

    def put(self, path: str, body: Any, version: str = "2025-10-01", **kw: Any) -> Reply:
        return self.request("PUT", path, params={"api-version": version}, body=body, **kw)

    def patch(self, path: str, body: Any, version: str = "2025-10-01", **kw: Any) -> Reply:
        return self.request("PATCH", path, params={"api-version": version}, body=body, **kw)

    def delete(self, path: str, version: str = "2025-10-01", **kw: Any) -> Reply:
        return self.request("DELETE", path, params={"api-version": version}, **kw)
