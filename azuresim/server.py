"""The azuresim application: the Sim object dispatch (faults, auth, latency, routing, errors, log)."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
import traceback
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from azuresim import auth, control, lro, persistence, rbac
from azuresim.blobs import BlobAccess
from azuresim.errors import SimError, arm_error, error_response
from azuresim.faults import FaultRule, FaultRules
from azuresim.latency import LatencyModel
from azuresim.router import Router, SimRequest
from azuresim.state import ResourceStore

log = logging.getLogger("azuresim")
REQUEST_LOG_LIMIT = 20000


class Sim:
    """Everything a handler can reach: the store, operations, latency, faults, blobs, control settings."""

    def __init__(
        self,
        *,
        state_file: Path | None = None,
        storage_connection_string: str | None = None,
        latency_scale: float = 0.0,
        seed: int | None = None,
    ) -> None:
        self.state_file = state_file
        self.store = ResourceStore(on_change=self.persist)
        self.latency = LatencyModel(latency_scale)
        self.faults = FaultRules(seed)
        self.blobs = BlobAccess(storage_connection_string)
        self.control: dict[str, Any] = {}
        self.request_log: list[dict[str, Any]] = []
        self.operations: dict[str, lro.Operation] = {}
        self.tasks: set[asyncio.Task[Any]] = set()
        self.router = Router()
        self._flush_scheduled = False
        if state_file is not None and state_file.exists():
            self.load()

    def persist(self) -> None:
        """Write the state file soon (writes are coalesced); a no-op without ``--state-file``."""
        if self.state_file is None or self._flush_scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._flush_scheduled = True
        loop.call_later(0.05, self.flush)

    def flush(self) -> None:
        self._flush_scheduled = False
        if self.state_file is not None:
            persistence.save(self, self.state_file)

    def load(self) -> None:
        assert self.state_file is not None
        persistence.load(self, self.state_file)

    def log_request(self, entry: dict[str, Any]) -> None:
        self.request_log.append(entry)
        if len(self.request_log) > REQUEST_LOG_LIMIT:
            del self.request_log[: REQUEST_LOG_LIMIT // 2]


async def _fault_response(request: web.Request, rule: FaultRule) -> web.StreamResponse | None:
    if rule.delay_ms > 0:
        await asyncio.sleep(rule.delay_ms / 1000)
    if rule.hang:
        # Never answer: hold the request until the client gives up and closes the connection.
        while request.transport is not None and not request.transport.is_closing():
            await asyncio.sleep(0.1)
        return web.Response(status=499)
    if rule.status is None:
        return None
    headers = {"Retry-After": f"{rule.retry_after:g}"} if rule.status in (429, 503) else None
    return arm_error(rule.status, rule.code, rule.message, headers=headers)


def _parse_body(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise SimError(
            400,
            "InvalidRequestContent",
            f"The request content was invalid and could not be deserialized: {exc}",
        ) from exc


async def _handle(sim: Sim, request: web.Request, raw: bytes, arm: bool) -> tuple[web.StreamResponse, str]:
    path = request.path
    if arm:
        await _arm_checks(sim, request)
    found = sim.router.match(request.method, path)
    if found is None:
        if sim.router.allows_other_method(path):
            raise SimError(
                405,
                "HttpMethodNotAllowed",
                f"The requested resource does not support http method '{request.method}'.",
            )
        raise SimError(404, "InvalidResourceType", f"azuresim does not serve '{request.method} {path}'.")
    route, params = found
    if arm:
        rbac.check(sim.store, request.headers, *rbac.arm_action(request.method, path))
    elif route.op.startswith("keyvault."):
        vaults = sim.store.list(type="Microsoft.KeyVault/vaults")
        scope = vaults[0]["id"] if vaults else "/"
        rbac.check(sim.store, request.headers, rbac.vault_action(request.method, path), scope, data=True)
    req = SimRequest(
        method=request.method,
        path=path,
        params=params,
        query=dict(request.query),
        headers=request.headers,
        body=_parse_body(raw),
        sim=sim,
        base_url=f"https://{request.host}",
        op=route.op,
        raw=raw,
    )
    resp = await route.handler(req)
    if request.method == "HEAD" and route.method == "GET":
        resp = web.Response(status=204 if resp.status == 200 else resp.status)
    return resp, route.op


async def _arm_checks(sim: Sim, request: web.Request) -> None:
    """What ARM's front door does before any provider sees a request: auth, api-version, its own latency."""
    auth.check_bearer(request.headers)
    if "api-version" not in request.query:
        raise SimError(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    delay = sim.latency.delay("arm.request")
    if delay > 0:
        await asyncio.sleep(delay)


async def dispatch(request: web.Request) -> web.StreamResponse:
    sim: Sim = request.app["sim"]
    raw = await request.read()
    if request.path.startswith("/_sim/"):
        try:
            return (await _handle(sim, request, raw, arm=False))[0]
        except SimError as exc:
            return error_response(exc)
    start = time.perf_counter()
    resp, op = await _answer(sim, request, raw)
    _trace(sim, request, resp, op, time.perf_counter() - start)
    return resp


async def _answer(sim: Sim, request: web.Request, raw: bytes) -> tuple[web.StreamResponse, str]:
    """The response to an ARM or data-plane request (a fault rule's, if one matches) and its op name."""
    path = request.path
    rule = sim.faults.pick(request.method, path, raw.decode(errors="replace")) if sim.faults.rules else None
    fault = await _fault_response(request, rule) if rule is not None else None
    if fault is not None:
        return fault, "fault"
    try:
        return await _handle(sim, request, raw, arm=auth.is_arm_path(path))
    except SimError as exc:
        return error_response(exc), ""
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        return arm_error(500, "InternalServerError", f"azuresim: {type(exc).__name__}: {exc}"), ""


def _trace(sim: Sim, request: web.Request, resp: web.StreamResponse, op: str, seconds: float) -> None:
    # ARM's tracing headers; kiln logs them next to its own errors.
    request_id = str(uuid.uuid4())
    resp.headers.setdefault("x-ms-request-id", request_id)
    resp.headers["x-ms-correlation-request-id"] = request.headers.get(
        "x-ms-correlation-request-id", request_id
    )
    sim.log_request(
        {
            "time": datetime.now(UTC).isoformat(),
            "requestId": request_id,
            "method": request.method,
            "path": request.path,
            "query": request.query_string,
            "status": resp.status,
            "op": op,
            "durationMs": round(seconds * 1000, 3),
        }
    )


def build_app(sim: Sim) -> web.Application:
    """The aiohttp application with every provider's routes registered."""
    from azuresim import providers

    lro.register(sim.router)
    control.register(sim.router)
    providers.register_all(sim.router)
    rbac.register(sim.router)
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app["sim"] = sim
    app.router.add_route("*", "/{tail:.*}", dispatch)

    async def _cleanup(_app: web.Application) -> None:
        for task in list(sim.tasks):
            task.cancel()
        await sim.blobs.close()
        sim.flush()

    app.on_cleanup.append(_cleanup)
    return app
