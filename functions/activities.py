"""The build's activities as Durable activity functions, one per descriptor of ``shared.models.durable``.

Each function validates its input on arrival as the descriptor's input model, calls the phase module with
the process's ports (``root().build``), and answers with the output model dumped as JSON. ``BINDINGS`` is
the one table joining a descriptor to its implementation; a test checks it covers exactly what the
orchestrators call.
"""

from __future__ import annotations

import json
from collections.abc import Callable
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
from shared.ports import BuildPorts

bp = df.Blueprint()
Implementation = Callable[..., BaseModel]
BINDINGS: tuple[tuple[d.Activity[Any, Any], Implementation], ...] = (
    (d.RESOLVE_SOURCE, resolve_source.run),
    (d.PREFLIGHT, preflight.run),
    (d.PREPARE_STAGING_GROUP, staging_group.run),
    (d.DEPLOY_BUILD_VM, deploy_vm.run),
    (d.CHECK_DEPLOYMENT, deploy_vm.check),
    (d.STAGE_ARTIFACTS, stage_artifacts.run),
    (d.START_STEP, steps.start),
    (d.CHECK_STEP, steps.check),
    (d.RESTART_VM, vm_power.restart),
    (d.CHECK_VM_READY, vm_power.check_ready),
    (d.DEALLOCATE_VM, vm_power.deallocate),
    (d.CHECK_VM_DEALLOCATED, vm_power.check_deallocated),
    (d.GENERALIZE_VM, vm_power.generalize),
    (d.START_DISTRIBUTE, distribute.start),
    (d.CHECK_DISTRIBUTE, distribute.check),
    (d.CHECK_REGION, distribute.check_region),
    (d.RETRY_REGION, distribute.retry_region),
    (d.UNDO_DISTRIBUTE, distribute.undo),
    (d.DELETE_BUILD_VM, delete_build_vm.run),
    (d.UPDATE_RUN_STATUS, run_record.update_status),
    (d.RECORD_OUTPUTS, run_record.record_outputs),
)


def _ports() -> BuildPorts:
    from shared.bootstrap import root

    return root().build


def call(
    activity: d.Activity[Any, Any], fn: Implementation, payload: Any, ports: BuildPorts | None = None
) -> dict[str, Any]:
    """Validate ``payload`` as the activity's input, run ``fn``, and return its output as JSON-ready data."""
    if isinstance(payload, str | bytes):
        payload = json.loads(payload)
    out = fn(activity.input.model_validate(payload), ports=ports or _ports())
    if not isinstance(out, activity.output):
        raise TypeError(f"{activity.name} answered {type(out).__name__}, not {activity.output.__name__}")
    answer: dict[str, Any] = out.model_dump(mode="json")
    return answer


def _register(activity: d.Activity[Any, Any], fn: Implementation) -> None:
    def function(payload: Any) -> dict[str, Any]:
        return call(activity, fn, payload)

    function.__name__ = function.__qualname__ = activity.name
    bp.function_name(name=activity.name)(bp.activity_trigger(input_name="payload")(function))


for _activity, _fn in BINDINGS:
    _register(_activity, _fn)
