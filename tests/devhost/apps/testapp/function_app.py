# mypy: disable-error-code="untyped-decorator"
"""Tiny Durable Functions app that devhost's tests run (engine and server).

Engine-side functions come first; the server helper appends HTTP/timer/Event Grid functions below.
Orchestrators must stay deterministic: module-level state is only read by activities, except
``NONDETERMINISM`` which the engine tests flip on purpose.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

# Test hooks (in-process tests only).
GATES: dict[str, threading.Event] = {}
FLAKY_CALLS: dict[str, int] = {}
NONDETERMINISM = {"mode": "activity"}


def gate(name: str) -> threading.Event:
    """The Event that the ``wait_gate`` activity named ``name`` blocks on (created on first use)."""
    return GATES.setdefault(name, threading.Event())


# ---------------------------------------------------------------- activities
@app.activity_trigger(input_name="name")
def hello(name: str) -> str:
    return f"Hello {name}!"


@app.activity_trigger(input_name="n")
def double(n: int) -> int:
    return n * 2


@app.activity_trigger(input_name="value")
async def async_echo(value: Any) -> Any:
    await asyncio.sleep(0)
    return {"echo": value}


@app.activity_trigger(input_name="message")
def fail_always(message: str) -> None:
    raise RuntimeError(message)


@app.activity_trigger(input_name="spec")
def flaky(spec: dict[str, Any]) -> str:
    """Fails ``spec['fail_times']`` times per ``spec['key']``, then succeeds."""
    calls = FLAKY_CALLS[spec["key"]] = FLAKY_CALLS.get(spec["key"], 0) + 1
    if calls <= spec["fail_times"]:
        raise RuntimeError(f"transient failure #{calls}")
    return f"ok after {calls} calls"


@app.activity_trigger(input_name="name")
def wait_gate(name: str) -> str:
    if not gate(name).wait(timeout=60):
        raise TimeoutError(f"gate {name} never opened")
    return f"gate {name} passed"


@app.activity_trigger(input_name="spec")
def record_call(spec: dict[str, Any]) -> int:
    """Appends a line to ``spec['path']``; the first call with ``block_first`` hangs (tests kill it)."""
    path = Path(spec["path"])
    with path.open("a") as fh:
        fh.write("call\n")
    calls = len(path.read_text().splitlines())
    if calls == 1 and spec.get("block_first"):
        time.sleep(3600)
    return calls


# ---------------------------------------------------------------- orchestrators
@app.orchestration_trigger(context_name="context")
def sequence(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    results = []
    for city in context.get_input() or ["Tokyo", "Seattle", "London"]:
        results.append((yield context.call_activity("hello", city)))
    return results


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    count = context.get_input()
    results = yield context.task_all([context.call_activity("double", i) for i in range(count)])
    return {"count": len(results), "sum": sum(results), "first": results[:3]}


@app.orchestration_trigger(context_name="context")
def with_retry(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    spec = context.get_input()
    options = df.RetryOptions(
        first_retry_interval_in_milliseconds=spec.get("interval_ms", 20),
        max_number_of_attempts=spec["attempts"],
    )
    return (yield context.call_activity_with_retry("flaky", options, spec))


@app.orchestration_trigger(context_name="context")
def two_events(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    first = yield context.wait_for_external_event("E")
    second = yield context.wait_for_external_event("E")
    return [first, second]


@app.orchestration_trigger(context_name="context")
def custom_status(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    spec = context.get_input()
    if "status" in spec:
        context.set_custom_status(spec["status"])
    yield context.wait_for_external_event("go")
    if "final" in spec:
        context.set_custom_status(spec["final"])
    return "done"


@app.orchestration_trigger(context_name="context")
def counter(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    """Eternal-orchestration shape: doubles, waits for 'bump' from round 1 on, continues as new."""
    state = context.get_input()
    if state["round"] >= state["until"]:
        return state
    value = yield context.call_activity("double", state["value"])
    if state["round"] >= 1:
        bump = yield context.wait_for_external_event("bump")
        value += bump
    context.continue_as_new({"round": state["round"] + 1, "until": state["until"], "value": value})


@app.orchestration_trigger(context_name="context")
def child(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    spec = context.get_input()
    greeting = yield context.call_activity("hello", spec["name"])
    if spec.get("fail"):
        raise ValueError(f"child {spec['name']} exploded")
    return {"greeting": greeting, "parent": context.parent_instance_id}


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    spec = context.get_input()
    first = yield context.call_sub_orchestrator("child", {"name": "a"})
    named = yield context.call_sub_orchestrator("child", {"name": "b"}, instance_id=spec.get("child_id"))
    try:
        yield context.call_sub_orchestrator("child", {"name": "c", "fail": spec.get("fail", False)})
        outcome = "child c ok"
    except Exception as exc:
        outcome = f"caught: {str(exc).splitlines()[0]}"
    return {"first": first, "named": named, "outcome": outcome}


@app.orchestration_trigger(context_name="context")
def sub_with_retry(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    options = df.RetryOptions(first_retry_interval_in_milliseconds=10, max_number_of_attempts=2)
    return (yield context.call_sub_orchestrator_with_retry("child", options, {"name": "r", "fail": True}))


@app.orchestration_trigger(context_name="context")
def sleeper(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    seconds = context.get_input()
    started = context.current_utc_datetime
    yield context.create_timer(started + dt.timedelta(seconds=seconds))
    return (context.current_utc_datetime - started).total_seconds()


@app.orchestration_trigger(context_name="context")
def race(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    """task_any between an approval event and a timeout timer (cancelled when the event wins)."""
    timer = context.create_timer(context.current_utc_datetime + dt.timedelta(seconds=context.get_input()))
    approval = context.wait_for_external_event("Approve")
    winner = yield context.task_any([approval, timer])
    if winner == approval:
        timer.cancel()
        return {"winner": "approval", "value": approval.result}
    return {"winner": "timeout"}


@app.orchestration_trigger(context_name="context")
def stale_waiters(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    """Monitor-style rounds leave 3 abandoned 'Approve' waiters behind, then two real waits follow."""
    for _ in range(3):
        timeout = context.create_timer(context.current_utc_datetime + dt.timedelta(milliseconds=10))
        yield context.task_any([context.wait_for_external_event("Approve"), timeout])
    context.set_custom_status("ready")
    first = yield context.wait_for_external_event("Approve")
    yield context.call_activity("hello", "between")
    second = yield context.wait_for_external_event("Approve")
    return [first, second]


@app.orchestration_trigger(context_name="context")
def big_status(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    context.set_custom_status("x" * context.get_input())
    yield context.call_activity("hello", "status")
    return "done"


@app.orchestration_trigger(context_name="context")
def uses_unsupported(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    if context.get_input() == "signal":
        context.signal_entity(df.EntityId("counter", "k"), "add", 1)
        yield context.call_activity("hello", "after signal")
    else:
        yield context.call_http("GET", "http://127.0.0.1:9/never")
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def gated(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    return (yield context.call_activity("wait_gate", context.get_input()))


@app.orchestration_trigger(context_name="context")
def failing(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    yield context.call_activity("hello", "before failure")
    raise ValueError("orchestrator gave up")


@app.orchestration_trigger(context_name="context")
def activity_failure(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    try:
        yield context.call_activity("fail_always", "disk full")
    except Exception as exc:
        return str(exc).splitlines()[0]
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def gated_parent(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    """Runs the 'gated' orchestrator as a child named by the input; reports how it ended."""
    try:
        result = yield context.call_sub_orchestrator("gated", "parent-gate", instance_id=context.get_input())
    except Exception as exc:
        return f"child failed: {str(exc).strip()}"
    return f"child returned: {result}"


@app.orchestration_trigger(context_name="context")
def twin_children(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    """Two children with the same explicit instance id: the second cannot start while the first runs."""
    calls = [context.call_sub_orchestrator("gated", "twin-gate", instance_id="twin") for _ in range(2)]
    try:
        yield context.task_all(calls)
    except Exception as exc:
        return str(exc).strip()
    return "both ran"


@app.orchestration_trigger(context_name="context")
def missing_activity(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    try:
        yield context.call_activity("ghost", None)
    except Exception as exc:
        return str(exc).splitlines()[0]
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def drifting(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    """Deliberately non-deterministic: what it schedules first depends on NONDETERMINISM (tests flip it)."""
    if NONDETERMINISM["mode"] == "activity":
        yield context.call_activity("hello", "first")
    elif NONDETERMINISM["mode"] == "other_activity":
        yield context.call_activity("double", 1)
    else:
        yield context.create_timer(context.current_utc_datetime)
    context.set_custom_status("waiting")
    yield context.wait_for_external_event("E")
    return "finished"


@app.orchestration_trigger(context_name="context")
def at_least_once(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    return (yield context.call_activity("record_call", context.get_input()))


@app.orchestration_trigger(context_name="context")
def mixed(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    """Async activity + uuid + time: checks replay stability of new_uuid and current_utc_datetime."""
    first_uuid = context.new_uuid()
    echoed = yield context.call_activity("async_echo", {"n": 1})
    return {"echo": echoed, "uuid": first_uuid, "again": context.new_uuid() != first_uuid}


# ---------------------------------------------------------------- server helper: append below this line


# HTTP, timer and Event Grid functions for tests/devhost/server. Side effects go to files named by
# environment variables so the tests can observe a devhost subprocess.
def _append(env_name: str, record: dict[str, Any]) -> None:
    import json
    import os

    target = os.environ.get(env_name)
    if target:
        with open(target, "a") as fh:
            fh.write(json.dumps(record) + "\n")


@app.route(route="orchestrators/{name}/{instance_id?}", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    body = req.get_body()
    instance_id = await client.start_new(
        req.route_params["name"], req.route_params.get("instance_id"), req.get_json() if body else None
    )
    response: func.HttpResponse = client.create_check_status_response(req, instance_id)
    return response


@app.route(route="status/{instance_id}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def http_status(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    status = await client.get_status(req.route_params["instance_id"], show_history=True)
    if not status:
        return func.HttpResponse("{}", status_code=404, mimetype="application/json")
    import json

    return func.HttpResponse(json.dumps(status.to_json()), mimetype="application/json")


@app.route(route="echo/{id:int}/{*rest}", methods=["GET", "POST", "PUT"])
def echo(req: func.HttpRequest) -> func.HttpResponse:
    import json

    payload = {
        "method": req.method,
        "url": req.url,
        "route": dict(req.route_params),
        "query": dict(req.params),
        "contentType": req.headers.get("content-type"),
        "body": req.get_body().decode(),
    }
    return func.HttpResponse(
        json.dumps(payload), status_code=201, mimetype="application/json", headers={"X-Echo": "yes"}
    )


@app.route(route="names/{name:alpha}", methods=["GET"])
async def by_name(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"alpha:{req.route_params['name']}")


@app.route(route="names/{code:regex(^\\d{{3}}$)}", methods=["GET"])
def by_code(req: func.HttpRequest) -> str:
    return f"code:{req.route_params['code']}"


@app.route(route="optional/{x?}", methods=["GET"])
def optional(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"x={req.route_params.get('x')}")


@app.route(route="keyed", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def keyed(req: func.HttpRequest) -> str:
    return "function level ok"


@app.route(route="admin-only", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
def admin_only(req: func.HttpRequest) -> str:
    return "admin level ok"


@app.route(route="explode", methods=["GET"])
def explode(req: func.HttpRequest) -> str:
    raise RuntimeError("boom")


@app.route(
    route="subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.VirtualMachineImages/imageTemplates/{name}",
    methods=["GET"],
    auth_level=func.AuthLevel.ANONYMOUS,
)
def arm_image_template(req: func.HttpRequest) -> func.HttpResponse:
    """Shaped like ARM's GET of an image template, for the TLS test with the official SDK client."""
    import json

    p = req.route_params
    body = {
        "id": f"/subscriptions/{p['sub']}/resourceGroups/{p['rg']}/providers/"
        f"Microsoft.VirtualMachineImages/imageTemplates/{p['name']}",
        "name": p["name"],
        "type": "Microsoft.VirtualMachineImages/imageTemplates",
        "location": "westus2",
        "properties": {"provisioningState": "Succeeded", "authorization": req.headers.get("authorization")},
    }
    return func.HttpResponse(json.dumps(body), mimetype="application/json")


@app.timer_trigger(arg_name="timer", schedule="%TESTAPP_TICK_SCHEDULE%")
def tick(timer: func.TimerRequest) -> None:
    _append("TESTAPP_TIMER_FILE", {"timer": "tick", "pastDue": timer.past_due})


@app.timer_trigger(arg_name="timer", schedule="0 0 0 1 1 *", run_on_startup=True)
def on_startup(timer: func.TimerRequest) -> None:
    _append("TESTAPP_TIMER_FILE", {"timer": "on_startup", "pastDue": timer.past_due})


@app.event_grid_trigger(arg_name="event")
@app.durable_client_input(client_name="client")
async def approve_from_event(event: func.EventGridEvent, client: df.DurableOrchestrationClient) -> None:
    await client.raise_event(event.subject, "E", event.get_json())


@app.event_grid_trigger(arg_name="event")
def record_event(event: func.EventGridEvent) -> None:
    _append(
        "TESTAPP_EVENTS_FILE",
        {
            "id": event.id,
            "type": event.event_type,
            "subject": event.subject,
            "topic": event.topic,
            "data": event.get_json(),
            "time": str(event.event_time),
        },
    )


@app.activity_trigger(input_name="spec")
def slow_mark(spec: dict[str, Any]) -> int:
    """Restart tests: logs start/done per task key in ``spec['path']`` around a sleep."""
    import os

    with open(spec["path"], "a") as fh:
        fh.write(f"start {spec['key']} {os.getpid()}\n")
    time.sleep(spec.get("sleep", 0))
    with open(spec["path"], "a") as fh:
        fh.write(f"done {spec['key']} {os.getpid()}\n")
    return int(spec["value"])


@app.orchestration_trigger(context_name="context")
def restartable(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    """Restart tests: a fan-out of slow activities, a durable timer, then a final activity."""
    spec = context.get_input()
    first = yield context.task_all(
        [
            context.call_activity(
                "slow_mark",
                {
                    "path": spec["path"],
                    "key": f"{context.instance_id}/a{i}",
                    "value": i,
                    "sleep": spec["sleep"],
                },
            )
            for i in range(spec["fan_out"])
        ]
    )
    yield context.create_timer(context.current_utc_datetime + dt.timedelta(seconds=spec["timer_seconds"]))
    last = yield context.call_activity(
        "slow_mark",
        {"path": spec["path"], "key": f"{context.instance_id}/z", "value": 100, "sleep": spec["sleep"]},
    )
    return sum(first) + last
