"""The devhost process: the public listener (functions, webhooks, admin), the RPC listener, timers, engine."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from devhost import errors, logs, tls
from devhost.admin import AdminEndpoints
from devhost.app_loader import LoadedApp, function_name, load_app
from devhost.binding import binding_json
from devhost.durable_api import DurableApi
from devhost.eventgrid import EventGridWebhook
from devhost.http_functions import HttpDispatcher
from devhost.invoke import Invoker
from devhost.keys import DURABLE_SYSTEM_KEY, Keys, load_keys
from devhost.timers import TimerRunner


@dataclass
class Config:
    app_dir: Path = Path(".")
    host: str = "127.0.0.1"
    port: int = 7071
    state_dir: Path = Path(".state/devhost")
    function_key: str | None = None
    master_key: str | None = None
    activity_workers: int = 8
    orchestration_workers: int = 4
    activity_timeout: float | None = 600.0
    https: bool = False
    cert: Path | None = None
    key: Path | None = None
    ca_out: Path | None = None
    rpc_port: int = 0


class Devhost:
    """Everything one ``devhost serve`` runs; ``start``/``stop`` on the event loop."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.state_dir = config.state_dir.resolve()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.app: LoadedApp = load_app(config.app_dir)
        self.keys: Keys = load_keys(
            self.state_dir, function_key=config.function_key, master_key=config.master_key
        )
        self.engine: Any = self._make_engine()
        self.public_base = ""
        self.rpc_base = ""
        self.ca_file: Path | None = None
        self.invoker = Invoker(binding_json=self.binding_json, app_dir=config.app_dir.resolve())
        self.timers = TimerRunner(functions=self.app.timers, state_dir=self.state_dir, invoker=self.invoker)
        self._runners: list[web.AppRunner] = []

    def _make_engine(self) -> Any:
        try:
            from devhost.engine import DurableEngine
        except ImportError as exc:  # only while the engine package is being built
            logs.emit({"event": "EngineUnavailable", "error": str(exc)})
            return None
        return DurableEngine(
            functions=self.app.functions,
            db_path=self.state_dir / "durable.sqlite3",
            activity_workers=self.config.activity_workers,
            orchestration_workers=self.config.orchestration_workers,
            activity_timeout=self.config.activity_timeout,
            log=lambda record: logs.emit({"event": "FunctionExecuted", **record}),
        )

    def binding_json(self) -> str:
        return binding_json(
            public_base=self.public_base,
            rpc_base=f"{self.rpc_base}/{self.keys.system_keys[DURABLE_SYSTEM_KEY]}",
            hub=self.app.hub_name,
            system_key=self.keys.system_keys[DURABLE_SYSTEM_KEY],
        )

    def management_payload(self, instance_id: str) -> dict[str, str]:
        urls: dict[str, str] = json.loads(self.binding_json())["managementUrls"]
        return {k: v.replace("INSTANCEID", quote(instance_id, safe="")) for k, v in urls.items()}

    async def start(self) -> None:
        api = DurableApi(engine=self.engine, keys=self.keys, management_payload=self.management_payload)
        rpc_app = web.Application(client_max_size=64 * 1024**2)
        api.add_routes(rpc_app, "/durabletask", public=False)
        rpc_port = await self._listen(rpc_app, "127.0.0.1", self.config.rpc_port, None)
        self.rpc_base = f"http://127.0.0.1:{rpc_port}"
        if self.engine is not None:
            await asyncio.to_thread(self.engine.start)
        public = self._public_app(api)
        ssl_context = self._ssl_context()
        port = await self._listen(public, self.config.host, self.config.port, ssl_context)
        host = "127.0.0.1" if self.config.host in ("0.0.0.0", "") else self.config.host
        self.public_base = f"{'https' if ssl_context else 'http'}://{host}:{port}"
        self.timers.start()

    def _public_app(self, api: DurableApi) -> web.Application:
        app = web.Application(client_max_size=64 * 1024**2)
        AdminEndpoints(
            keys=self.keys,
            engine=self.engine,
            functions=sorted(function_name(f) for f in self.app.functions),
            hub=self.app.hub_name,
        ).add_routes(app)
        EventGridWebhook(functions=self.app.eventgrid, keys=self.keys, invoker=self.invoker).add_routes(app)
        api.add_routes(app, "/runtime/webhooks/durabletask", public=True)
        dispatcher = HttpDispatcher(app=self.app, keys=self.keys, invoker=self.invoker)

        async def functions(request: web.Request) -> web.StreamResponse:
            response = await dispatcher.handle(request)
            return response if response is not None else errors.not_found(request.path)

        # [\s\S] rather than ".": a path may hold an encoded newline (%0A), which "." does not match.
        app.router.add_route("*", r"/{tail:[\s\S]*}", functions)
        return app

    def _ssl_context(self) -> Any:
        config = self.config
        if config.cert and config.key:
            self.ca_file = config.ca_out
            return tls.server_context(config.cert, config.key)
        if not config.https:
            return None
        cert, key, ca = tls.ensure_certificate(self.state_dir / "tls", ca_out=config.ca_out)
        self.ca_file = ca
        return tls.server_context(cert, key)

    async def _listen(self, app: web.Application, host: str, port: int, ssl_context: Any) -> int:
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        site = web.SockSite(runner, sock, ssl_context=ssl_context)
        await site.start()
        self._runners.append(runner)
        return int(sock.getsockname()[1])

    async def stop(self) -> None:
        await self.timers.stop()
        for runner in reversed(self._runners):
            await runner.cleanup()
        if self.engine is not None:
            await asyncio.to_thread(self.engine.stop)
        self.invoker.close()
        await _close_client_session()

    def ready_line(self) -> dict[str, Any]:
        return {
            "event": "ready",
            "baseUrl": self.public_base,
            "rpcUrl": self.rpc_base,
            "caFile": str(self.ca_file) if self.ca_file else None,
            "keysFile": str(self.state_dir / "keys.json"),
            "stateDir": str(self.state_dir),
            "routePrefix": self.app.route_prefix,
            "taskHub": self.app.hub_name,
            "functions": sorted(function_name(f) for f in self.app.functions),
            "pid": os.getpid(),
        }


async def serve(config: Config) -> None:
    """Run until SIGTERM or SIGINT."""
    host = Devhost(config)
    await host.start()
    sys.stdout.write(json.dumps(host.ready_line()) + "\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await host.stop()


async def _close_client_session() -> None:
    # The SDK's client keeps one module-level aiohttp session for all client functions; close it with us.
    try:
        from azure.durable_functions.models.utils import http_utils
    except ImportError:
        return
    await http_utils._close_session()
