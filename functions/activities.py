"""The build's activities as Durable activity functions: validate the input on arrival, answer with JSON.

Each function is a few lines: parse the model, call the phase module with the process's ports, answer with
``model_dump(mode="json")``. The function names are the activity names the orchestrator calls.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

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
from activities.support import steplog
from shared.models import build as m
from shared.ports import BuildPorts

bp = df.Blueprint()
In = TypeVar("In", bound=BaseModel)


def _ports() -> BuildPorts:
    from shared.bootstrap import root

    return root().build


def call(
    model: type[In], fn: Callable[..., BaseModel], payload: Any, ports: BuildPorts | None = None
) -> dict[str, Any]:
    """Validate ``payload`` as ``model``, run ``fn`` and return its output as JSON-ready data."""
    if isinstance(payload, str | bytes):
        payload = json.loads(payload)
    inp = model.model_validate(payload)
    out: dict[str, Any] = fn(inp, ports=ports or _ports()).model_dump(mode="json")
    return out


def append_log_line(inp: m.PollInput, *, ports: BuildPorts) -> m.PollOutput:
    """Append ``data.message`` to the run's customization.log (phase headers, notes)."""
    blobs = ports.blobs(account_url=ports.storage_account_url(inp.vm.storage_account))
    steplog.append_line(blobs, inp.run.run_id, str(inp.data.get("message", "")))
    return m.PollOutput(done=True, succeeded=True)


# (activity name, input model, implementation): the contract with orchestrators/.
ACTIVITIES: list[tuple[str, type[BaseModel], Callable[..., BaseModel]]] = [
    ("resolve_source", m.ResolveSourceInput, resolve_source.run),
    ("preflight", m.PreflightInput, preflight.run),
    ("prepare_staging_group", m.StagingInput, staging_group.run),
    ("deploy_build_vm", m.DeployInput, deploy_vm.run),
    ("check_deployment", m.PollInput, deploy_vm.check),
    ("stage_artifacts", m.ArtifactsInput, stage_artifacts.run),
    ("start_step", m.StepInput, steps.start),
    ("check_step", m.StepInput, steps.check),
    ("restart_vm", m.StepInput, vm_power.restart),
    ("check_vm_ready", m.PollInput, vm_power.check_ready),
    ("deallocate_vm", m.PollInput, vm_power.deallocate),
    ("check_vm_deallocated", m.PollInput, vm_power.check_deallocated),
    ("generalize_vm", m.PollInput, vm_power.generalize),
    ("start_distribute", m.DistributeInput, distribute.start),
    ("check_distribute", m.PollInput, distribute.check),
    ("check_region", m.PollInput, distribute.check_region),
    ("retry_region", m.PollInput, distribute.retry_region),
    ("undo_distribute", m.UndoInput, distribute.undo),
    ("cleanup_build_vm", m.UndoInput, delete_build_vm.run),
    ("append_log", m.PollInput, append_log_line),
    ("update_run_status", m.RunStatusUpdate, run_record.update_status),
    ("record_outputs", m.RecordOutputsInput, run_record.record_outputs),
]


def _register(name: str, model: type[BaseModel], fn: Callable[..., BaseModel]) -> None:
    def activity(payload: Any) -> dict[str, Any]:
        return call(model, fn, payload)

    activity.__name__ = activity.__qualname__ = name
    bp.function_name(name=name)(bp.activity_trigger(input_name="payload")(activity))


for _name, _model, _fn in ACTIVITIES:
    _register(_name, _model, _fn)
