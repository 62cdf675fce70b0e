"""HTTP triggers: match the route, check the key, build ``func.HttpRequest``, convert the response."""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func
from aiohttp import web

from devhost import errors
from devhost.app_loader import HttpFunction, LoadedApp, function_name
from devhost.invoke import Invoker
from devhost.keys import Keys


class HttpDispatcher:
    """Serves the app's HTTP functions under the host.json route prefix."""

    def __init__(self, *, app: LoadedApp, keys: Keys, invoker: Invoker) -> None:
        self._app = app
        self._keys = keys
        self._invoker = invoker

    def _relative(self, path: str) -> str | None:
        prefix = self._app.route_prefix
        if not prefix:
            return path
        head = f"/{prefix}".lower()
        if path.lower() == head or path.lower().startswith(head + "/"):
            return path[len(head) :]
        return None

    def find(self, method: str, path: str) -> tuple[HttpFunction, dict[str, str]] | None:
        """The function serving ``method path`` and its route parameters, if any."""
        relative = self._relative(path)
        if relative is None:
            return None
        for candidate in self._app.http:
            params = candidate.route.match(relative)
            if params is None:
                continue
            if candidate.methods is not None and method.upper() not in candidate.methods:
                continue
            return candidate, params
        return None

    async def handle(self, request: web.Request) -> web.StreamResponse | None:
        """Answer ``request`` if an HTTP function serves it; None otherwise."""
        found = self.find(request.method, request.rel_url.raw_path)
        if found is None:
            return None
        target, route_params = found
        if not self._keys.allows(request, target.auth_level):
            return errors.unauthorized()
        http_request = func.HttpRequest(
            method=request.method,
            url=str(request.url),
            headers={k: ", ".join(request.headers.getall(k)) for k in request.headers},
            params={k: request.query[k] for k in request.query},
            route_params=route_params,
            body=await request.read(),
        )
        try:
            result = await self._invoker.call(target.function, "http", http_request, method=request.method)
        except Exception:
            name = function_name(target.function)
            return errors.error(
                500, "InternalServerError", f"Exception while executing function: Functions.{name}"
            )
        return to_aiohttp(result)


def to_aiohttp(result: Any) -> web.Response:
    """Convert a function's return value into an aiohttp response, as the worker's http output does."""
    if isinstance(result, func.HttpResponse):
        headers = {k: v for k, v in result.headers.items()}
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = f"{result.mimetype}; charset={result.charset}"
        return web.Response(status=result.status_code, body=result.get_body(), headers=headers)
    if result is None:
        return web.Response(status=204)
    if isinstance(result, bytes):
        return web.Response(body=result, content_type="application/octet-stream")
    if isinstance(result, str):
        return web.Response(text=result, content_type="text/plain")
    return web.Response(text=json.dumps(result), content_type="application/json")
