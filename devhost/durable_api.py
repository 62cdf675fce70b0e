"""The Durable HTTP API: the loopback RPC routes the Python client calls, and the public management URLs.

The same handlers serve ``/durabletask/...`` on the RPC listener (loopback only, like the extension's
``127.0.0.1:17071``) and ``/runtime/webhooks/durabletask/...`` on the public port (the durable system key or
the master key as ``code``, like the host). The RPC listener asks for the durable system key too: any local
process can reach a loopback port, and its answers carry that key. The Python SDK sends no key of its own,
so the binding's ``rpcBaseUrl`` carries it as the first path segment (``/{key}/durabletask/...``); other
callers may send it as ``code`` or ``x-functions-key``. Status codes follow the extension's HttpApiHandler.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from devhost import errors
from devhost.keys import DURABLE_SYSTEM_KEY, Keys

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_RUNNING = {"Pending", "Running", "ContinuedAsNew"}


class DurableApi:
    def __init__(
        self, *, engine: Any, keys: Keys, management_payload: Callable[[str], dict[str, str]]
    ) -> None:
        self._engine = engine
        self._keys = keys
        self._payload = management_payload

    def add_routes(self, app: web.Application, prefix: str, *, public: bool) -> None:
        """Register the API under ``prefix``: the RPC listener's (``/durabletask`` and
        ``/{key}/durabletask``) or the public port's (``/runtime/webhooks/durabletask``)."""
        routes: list[tuple[str, str, Handler]] = [
            ("POST", "/orchestrators/{name}", self.start),
            ("POST", "/orchestrators/{name}/{instance_id}", self.start),
            ("GET", "/instances", self.query),
            ("GET", "/instances/", self.query),
            ("DELETE", "/instances", self.purge_by),
            ("DELETE", "/instances/", self.purge_by),
            ("GET", "/instances/{instance_id}", self.status),
            ("DELETE", "/instances/{instance_id}", self.purge),
            ("POST", "/instances/{instance_id}/raiseEvent/{event}", self.raise_event),
            ("POST", "/instances/{instance_id}/terminate", self.terminate),
            ("POST", "/instances/{instance_id}/{operation}", self.unsupported),
        ]
        prefixes = [prefix] if public else [prefix, "/{rpc_key}" + prefix]
        for method, path, handler in routes:
            for start in prefixes:
                app.router.add_route(method, start + path, self._guard(handler, public=public))

    def _guard(self, handler: Handler, *, public: bool) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            in_path = request.match_info.get("rpc_key")
            if in_path is not None:
                if not self._keys.is_system_key(in_path, DURABLE_SYSTEM_KEY):
                    return errors.unauthorized()
            elif not self._keys.allows(request, f"system:{DURABLE_SYSTEM_KEY}"):
                return errors.unauthorized()
            if self._engine is None:
                return errors.error(503, "DurableEngineUnavailable", "The durable engine is not running.")
            request["public"] = public
            return await handler(request)

        return guarded

    async def start(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        instance_id = request.match_info.get("instance_id")
        input_json = decode_body(await request.text())
        from devhost.engine import InstanceExists, UnknownFunction

        try:
            iid = await asyncio.to_thread(self._engine.start_new, name, instance_id, input_json)
        except UnknownFunction:
            message = f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function."
            return web.json_response({"Message": message, "ExceptionMessage": message}, status=400)
        except InstanceExists:
            message = f"An orchestration with the instance ID '{instance_id}' already exists and is running."
            return web.json_response({"Message": message, "ExceptionMessage": message}, status=409)
        payload = {"id": iid, **{k: v for k, v in self._payload(iid).items() if k != "id"}}
        return web.json_response(payload, status=202, headers={"Location": payload["statusQueryGetUri"]})

    async def status(self, request: web.Request) -> web.Response:
        iid = request.match_info["instance_id"]
        q = request.query
        status = await asyncio.to_thread(
            self._engine.get_status,
            iid,
            show_history=_flag(q.get("showHistory")),
            show_history_output=_flag(q.get("showHistoryOutput")),
            show_input=_flag(q.get("showInput"), default=True),
        )
        if status is None:
            if request["public"]:
                return errors.error(404, "NotFound", f"No instance with ID '{iid}' was found.")
            return web.json_response({}, status=404)
        runtime = status.get("runtimeStatus")
        headers: dict[str, str] = {}
        if runtime in _RUNNING:
            code = 202
            headers = {"Location": self._payload(iid)["statusQueryGetUri"], "Retry-After": "10"}
        elif runtime == "Failed" and _flag(q.get("returnInternalServerErrorOnFailure")):
            code = 500
        else:
            code = 200
        return web.json_response(status, status=code, headers=headers)

    async def query(self, request: web.Request) -> web.Response:
        q = request.query
        try:
            filters = _filters(q)
            top = int(q["top"]) if q.get("top") else None
        except ValueError as exc:
            return errors.error(400, "BadRequest", str(exc))
        rows, token = await asyncio.to_thread(
            self._engine.query,
            **filters,
            instance_id_prefix=q.get("instanceIdPrefix") or None,
            top=top,
            continuation=request.headers.get("x-ms-continuation-token") or None,
            show_input=_flag(q.get("showInput")),
        )
        headers = {"x-ms-continuation-token": token} if token else {}
        return web.json_response(rows, headers=headers)

    async def raise_event(self, request: web.Request) -> web.Response:
        iid, name = request.match_info["instance_id"], request.match_info["event"]
        data = decode_body(await request.text())
        outcome = await asyncio.to_thread(self._engine.raise_event, iid, name, data)
        return _outcome(outcome, iid)

    async def terminate(self, request: web.Request) -> web.Response:
        iid = request.match_info["instance_id"]
        outcome = await asyncio.to_thread(self._engine.terminate, iid, request.query.get("reason"))
        return _outcome(outcome, iid)

    async def purge(self, request: web.Request) -> web.Response:
        deleted = await asyncio.to_thread(self._engine.purge, request.match_info["instance_id"])
        return web.json_response({"instancesDeleted": deleted}, status=200 if deleted else 404)

    async def purge_by(self, request: web.Request) -> web.Response:
        try:
            filters = _filters(request.query)
        except ValueError as exc:
            return errors.error(400, "BadRequest", str(exc))
        deleted = await asyncio.to_thread(self._engine.purge_by, **filters)
        return web.json_response({"instancesDeleted": deleted}, status=200 if deleted else 404)

    async def unsupported(self, request: web.Request) -> web.Response:
        operation = request.match_info["operation"]
        return errors.error(
            501, "NotImplemented", f"devhost does not support the '{operation}' instance operation."
        )


def decode_body(text: str) -> str | None:
    """The JSON text of a client payload.

    The Python client posts ``json=df_dumps(value)``, so the body is a JSON *string* holding the JSON text;
    other callers (curl, other SDKs) post the value itself.
    """
    if not text.strip():
        return None
    value = json.loads(text)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            return json.dumps(value)
        return value
    return json.dumps(value)


def _outcome(outcome: str, iid: str) -> web.Response:
    if outcome == "accepted":
        return web.Response(status=202)
    if outcome == "gone":
        return errors.error(410, "Gone", f"The instance '{iid}' has already completed.")
    return errors.error(404, "NotFound", f"No instance with ID '{iid}' was found.")


def _filters(q: Any) -> dict[str, Any]:
    statuses = [s for s in (q.get("runtimeStatus") or "").split(",") if s]
    return {
        "runtime_status": statuses or None,
        "created_from": _time(q.get("createdTimeFrom"), "createdTimeFrom"),
        "created_to": _time(q.get("createdTimeTo"), "createdTimeTo"),
    }


def _time(text: str | None, field: str) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace(" ", "+"))
    except ValueError:
        raise ValueError(f"The query parameter '{field}' is not an ISO 8601 time: '{text}'.") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _flag(text: str | None, *, default: bool = False) -> bool:
    return default if text is None else text.strip().lower() == "true"
