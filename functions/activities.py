"""The build's activities as Durable activity functions, one per descriptor of ``shared.models.durable``.

Each function validates its input on arrival as the descriptor's input model, records the ``report`` the
input carries (the change of the run's state its phase begins with), calls the phase module with the
process's ports (``root().build``), and answers with the output model dumped as JSON. Every function is
async: the Functions worker (and devhost) run it on the event loop, so an activity waiting for Azure with
``asyncio.sleep`` holds no worker thread, and a synchronous phase runs on a worker thread off the loop.
``BINDINGS`` is the one table joining a descriptor to its implementation; a test checks it covers exactly
what the orchestrators call.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from typing import Any

import azure.durable_functions as df
from pydantic import BaseModel

from activities import (
    delete_build_vm,
    deploy_vm,
    distribute,
    preflight,
    resolve_source,
    run_record,
    stage_artifacts,
    staging_group,
    steps,
    vm_power,
)
from shared.models import durable as d
from shared.models.build import RunStatusUpdate
from shared.ports import BuildPorts

bp = df.Blueprint()
Implementation = Callable[..., BaseModel | Awaitable[BaseModel]]
BINDINGS: tuple[tuple[d.Activity[Any, Any], Implementation], ...] = (
    (d.RESOLVE_SOURCE, resolve_source.run),
    (d.PREFLIGHT, preflight.run),
    (d.PREPARE_STAGING_GROUP, staging_group.run),
    (d.DEPLOY_BUILD_VM, deploy_vm.run),
    (d.STAGE_ARTIFACTS, stage_artifacts.run),
    (d.RUN_STEP, steps.run),
    (d.RESTART_VM, vm_power.restart_vm),
    (d.GENERALIZE_VM, vm_power.generalize_vm),
    (d.DISTRIBUTE, distribute.run),
    (d.UNDO_DISTRIBUTE, distribute.undo),
    (d.DELETE_BUILD_VM, delete_build_vm.run),
    (d.UPDATE_RUN_STATUS, run_record.update_status),
    (d.RECORD_OUTPUTS, run_record.record_outputs),
)
_log = logging.getLogger("kiln.activities")


def _ports() -> BuildPorts:
    from shared.bootstrap import root

    return root().build


async def call(
    activity: d.Activity[Any, Any], fn: Implementation, payload: Any, ports: BuildPorts | None = None
) -> dict[str, Any]:
    """Validate ``payload`` as the activity's input, record the phase it reports, run ``fn`` (awaited when
    it is async: a waiting activity holds no thread), and return its output as JSON-ready data."""
    if isinstance(payload, str | bytes):
        payload = json.loads(payload)
    inp = activity.input.model_validate(payload)
    ports = ports or _ports()
    run = getattr(inp, "run", None)
    # Every log line of the activity carries the run id. Made on a worker thread: the first one in a process
    # builds the tracer, which may import Azure Monitor, and the event loop is not the place for that.
    context = await asyncio.to_thread(_run_context, getattr(run, "run_id", None))
    with context:
        report = getattr(inp, "report", None)
        if report is not None:
            await asyncio.to_thread(_record, ports, report)
        if inspect.iscoroutinefunction(fn):
            out = await fn(inp, ports=ports)
        else:  # a synchronous phase runs on a worker thread, never on the event loop
            out = await asyncio.to_thread(fn, inp, ports=ports)
    if not isinstance(out, activity.output):
        raise TypeError(f"{activity.name} answered {type(out).__name__}, not {activity.output.__name__}")
    answer: dict[str, Any] = out.model_dump(mode="json")
    return answer


def _run_context(run_id: str | None) -> AbstractContextManager[None]:
    from shared.bootstrap import root

    return root().run_context(run_id)


def _record(ports: BuildPorts, report: RunStatusUpdate) -> None:
    """The phase's report is best effort: the run's own state stays the orchestration's."""
    try:
        ports.runs.apply(report)
    except Exception:
        _log.exception("run %s: the report of a phase could not be recorded", report.run.run_id)


def _register(activity: d.Activity[Any, Any], fn: Implementation) -> None:
    async def function(payload: Any) -> dict[str, Any]:
        return await call(activity, fn, payload)

    function.__name__ = function.__qualname__ = activity.name
    bp.function_name(name=activity.name)(bp.activity_trigger(input_name="payload")(function))


for _activity, _fn in BINDINGS:
    _register(_activity, _fn)
