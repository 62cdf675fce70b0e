"""Health and admin endpoints: ``/healthz`` (anonymous) and the host's ``/admin/host/status`` and ping."""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from typing import Any

from aiohttp import web

from devhost import errors
from devhost.keys import Keys

VERSION = "4.0.0-devhost"


class AdminEndpoints:
    def __init__(self, *, keys: Keys, engine: Any, functions: list[str], hub: str) -> None:
        self._keys = keys
        self._engine = engine
        self._functions = functions
        self._hub = hub
        self._started = time.monotonic()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/admin/host/status", self.host_status)
        app.router.add_get("/admin/host/ping", self.ping)
        app.router.add_post("/admin/host/ping", self.ping)

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"status": "Healthy", "engine": await self._stats(), "uptimeSeconds": self._uptime()}
        )

    async def ping(self, request: web.Request) -> web.Response:
        return web.Response(status=200)

    async def host_status(self, request: web.Request) -> web.Response:
        # Like the host, status is an admin API: master key only.
        if not self._keys.allows(request, "admin"):
            return errors.unauthorized()
        return web.json_response(
            {
                "id": socket.gethostname().lower(),
                "state": "Running",
                "version": VERSION,
                "versionDetails": f"devhost {VERSION} (Python {sys.version.split()[0]})",
                "processUptime": int(self._uptime() * 1000),
                "functions": self._functions,
                "durable": {"taskHub": self._hub, "engine": await self._stats()},
            }
        )

    async def _stats(self) -> dict[str, int] | None:
        if self._engine is None:
            return None
        stats: dict[str, int] = await asyncio.to_thread(self._engine.stats)
        return stats

    def _uptime(self) -> float:
        return round(time.monotonic() - self._started, 3)
