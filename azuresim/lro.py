"""Long-running operations as ARM runs them: ``Azure-AsyncOperation`` + ``Location`` + ``Retry-After``.

An operation waits its op's latency, then runs the handler's ``work``. Its status URL answers
``{"status": "InProgress"|"Succeeded"|"Failed"|"Canceled", "error"?}``; its Location URL answers 202 while it
runs and then 200 with the result (``work``'s return value, else the resource) or 204 for a delete.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from azuresim.errors import SimError, error_body
from azuresim.router import Router, SimRequest
from azuresim.state import public

API_VERSION = "2024-03-01"
OPERATIONS_KEPT = 20000


@dataclass
class Operation:
    id: str
    method: str
    resource_id: str | None
    done_at: float
    status: str = "InProgress"
    error: dict[str, Any] | None = None
    result: Any = None
    start_time: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    end_time: str | None = None
    task: asyncio.Task[None] | None = None

    def remaining(self) -> float:
        return max(self.done_at - time.monotonic(), 0.0)

    def status_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "name": self.id,
            "status": self.status,
            "startTime": self.start_time,
        }
        if self.end_time:
            body["endTime"] = self.end_time
        if self.error is not None:
            body["error"] = self.error
        return body


def retry_after(remaining: float) -> str:
    """Whole seconds, as Azure sends them (the SDK parses the header as an int), rounded up; under half a
    second left it is "0" (not "1": ten times the latency of a 0.1 s operation on a fast latency scale).
    "0" makes azure-core wait its client's ``polling_interval`` instead, so clients of a fast simulator
    should set that small."""
    return str(math.ceil(remaining - 1e-9)) if remaining >= 0.5 else "0"


def _namespace(resource_id: str | None, path: str) -> str:
    parts = (resource_id or path).strip("/").split("/")
    low = [p.lower() for p in parts]
    if "providers" in low:
        at = low.index("providers")
        if at + 1 < len(parts):
            return parts[at + 1]
    return "Microsoft.Resources"


def _subscription(req: SimRequest) -> str:
    parts = req.path.strip("/").split("/")
    return parts[1] if len(parts) > 1 and parts[0].lower() == "subscriptions" else "00000000"


_START_STATE = {"PUT": "Creating", "PATCH": "Updating", "DELETE": "Deleting"}


def _set_state(resource: dict[str, Any] | None, state: str) -> None:
    if resource is not None:
        resource.setdefault("properties", {})["provisioningState"] = state


async def begin(
    req: SimRequest,
    *,
    op: str,
    resource_id: str | None,
    status: int = 202,
    body: Any = None,
    work: Callable[[], Awaitable[Any]] | None = None,
    location: str = "eastus",
    start_state: str | None = None,
) -> web.Response:
    """Start an async operation and answer ``status`` with its polling headers (see the module docstring).

    ``start_state`` overrides the provisioningState the resource shows while the operation runs (default:
    Creating / Updating / Deleting by method).
    """
    sim = req.sim
    delay = sim.latency.delay(op)
    oper = Operation(str(uuid.uuid4()), req.method, resource_id, time.monotonic() + delay)
    _prune(sim.operations)
    sim.operations[oper.id] = oper
    resource = _resource_of(sim, oper)
    if start_state is None and req.method in _START_STATE:
        start_state = _START_STATE[req.method]
        start_state = "Updating" if start_state == "Creating" and status == 200 else start_state
    if start_state is not None:
        _set_state(resource, start_state)
    if body is None and resource is not None and req.method != "DELETE":
        body = public(resource)
    rule = sim.faults.pick(req.method, req.path, req.raw.decode(errors="replace"), async_=True)
    if rule is not None:
        work = _failing(rule.status or 500, rule.code, rule.message)
    task = asyncio.get_running_loop().create_task(_run(sim, oper, delay, work))
    oper.task = task
    sim.tasks.add(task)
    task.add_done_callback(sim.tasks.discard)
    headers = _polling_headers(req, oper, location, delay)
    if body is None:
        return web.Response(status=status, headers=headers)
    return web.json_response(body, status=status, headers=headers)


def _polling_headers(req: SimRequest, oper: Operation, location: str, delay: float) -> dict[str, str]:
    ns = _namespace(oper.resource_id, req.path)
    base = f"{req.base_url}/subscriptions/{_subscription(req)}/providers/{ns}/locations/{location}"
    query = f"?api-version={req.api_version or API_VERSION}"
    return {
        "Azure-AsyncOperation": f"{base}/operations/{oper.id}{query}",
        "Location": f"{base}/operationResults/{oper.id}{query}",
        "Retry-After": retry_after(delay),
    }


def _resource_of(sim: Any, oper: Operation) -> dict[str, Any] | None:
    found: dict[str, Any] | None = sim.store.get(oper.resource_id) if oper.resource_id else None
    return found


def _failing(status: int, code: str, message: str) -> Callable[[], Awaitable[Any]]:
    async def fail() -> Any:
        raise SimError(status, code, message)

    return fail


def running(sim: Any, prefix: str) -> list[Operation]:
    """Operations in flight on the resource ``prefix`` or anything below it."""
    low = prefix.lower()
    return [
        o
        for o in sim.operations.values()
        if o.status == "InProgress"
        and o.resource_id
        and (o.resource_id.lower() == low or o.resource_id.lower().startswith(low + "/"))
    ]


def _prune(operations: dict[str, Operation]) -> None:
    # Finished operations are kept for their pollers; the oldest go once there are many.
    if len(operations) > OPERATIONS_KEPT:
        finished = [k for k, o in operations.items() if o.status != "InProgress"]
        for key in finished[: len(operations) - OPERATIONS_KEPT // 2]:
            del operations[key]


def cancel(sim: Any, oper: Operation) -> None:
    """Stop an operation in flight: it ends Canceled and so does its resource's provisioningState."""
    if oper.status == "InProgress" and oper.task is not None:
        oper.task.cancel()
    oper.status = "Canceled"
    oper.end_time = datetime.now(UTC).isoformat()
    _set_state(_resource_of(sim, oper), "Canceled")


async def _run(sim: Any, oper: Operation, delay: float, work: Callable[[], Awaitable[Any]] | None) -> None:
    try:
        if delay > 0:
            await asyncio.sleep(delay)
        oper.result = await work() if work is not None else None
        oper.status = "Succeeded"
        resource = _resource_of(sim, oper) if oper.method != "DELETE" else None
        if resource is not None and resource.get("properties", {}).get("provisioningState") != "Failed":
            _set_state(resource, "Succeeded")
    except asyncio.CancelledError:
        return
    except SimError as exc:
        oper.status = "Failed"
        oper.error = exc.body()["error"]
        _set_state(_resource_of(sim, oper), "Failed")
    except Exception as exc:  # a bug in a provider must still end the operation, as Azure's 500s do
        oper.status = "Failed"
        oper.error = error_body("InternalServerError", f"azuresim: {type(exc).__name__}: {exc}")["error"]
        _set_state(_resource_of(sim, oper), "Failed")
    oper.end_time = datetime.now(UTC).isoformat()
    sim.persist()


def _get(req: SimRequest) -> Operation:
    oper = req.sim.operations.get(req.params["opid"])
    if oper is None:
        raise SimError(404, "OperationNotFound", f"The operation '{req.params['opid']}' could not be found.")
    return oper


async def operation_status(req: SimRequest) -> web.StreamResponse:
    oper = _get(req)
    headers = {"Retry-After": retry_after(oper.remaining())} if oper.status == "InProgress" else {}
    return web.json_response(oper.status_body(), headers=headers)


async def operation_result(req: SimRequest) -> web.StreamResponse:
    oper = _get(req)
    if oper.status == "InProgress":
        return web.Response(status=202, headers={"Retry-After": retry_after(oper.remaining())})
    if oper.status != "Succeeded":
        err = oper.error or {"code": "OperationFailed", "message": "The operation failed."}
        raise SimError(400, err.get("code", "OperationFailed"), err.get("message", ""))
    if oper.result is not None:
        return web.json_response(oper.result)
    resource = req.sim.store.get(oper.resource_id) if oper.resource_id and oper.method != "DELETE" else None
    if resource is not None:
        return web.json_response(public(resource))
    return web.Response(status=204)


def register(router: Router) -> None:
    base = "/subscriptions/{sub}/providers/{ns}/locations/{loc}"
    router.add("GET", base + "/operations/{opid}", operation_status, op="arm.operation.get")
    router.add("GET", base + "/operationResults/{opid}", operation_result, op="arm.operation.get")
