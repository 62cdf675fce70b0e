"""A Functions app hosting kiln's real orchestrators beside scripted activities.

The orchestrators are replayed by the real azure-functions-durable SDK inside devhost's engine; the
activities answer from a per-test ``Script``: what each phase returns, which one fails, which one never
finishes. Every call is recorded, so tests read the order in which phases and undos ran.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import azure.durable_functions as df

from functions.orchestrations import bp as orchestrators_bp
from shared.models.build import (
    BuildVm,
    DeployOutput,
    DistributeInput,
    DistributeStarted,
    PollOutput,
    PreflightOutput,
    ResolvedSource,
    ResolveSourceOutput,
    StagingOutput,
    StagingPlan,
    StepOutcome,
    StepStarted,
    TargetResult,
    UndoOutput,
)

Behaviour = Callable[[dict[str, Any]], Any]

VM = BuildVm(
    resource_group="IT_rg_tpl_0001",
    vm_name="kilnabcd1234",
    deployment_name="kiln-build-abcd1234",
    storage_account="kilnstaging",
    admin_secret_name="kiln-admin-abcd1234",
)


def _target_result(payload: dict[str, Any]) -> dict[str, Any]:
    target = payload["data"]["target"]
    started = payload["data"]["started"]
    return PollOutput(
        done=True,
        succeeded=True,
        result=TargetResult(
            run_output_name=target["run_output_name"],
            type=target["type"],
            succeeded=True,
            artifact_id=started.get("artifact_id"),
        ).model_dump(mode="json"),
    ).model_dump(mode="json")


def _started(payload: dict[str, Any]) -> dict[str, Any]:
    inp = DistributeInput.model_validate(payload)
    regions = (
        [r["name"] for r in inp.target.spec.get("targetRegions", [])]
        if inp.target.type == "SharedImage"
        else []
    )
    artifact = f"/artifacts/{inp.target.run_output_name}"
    return DistributeStarted(artifact_id=artifact, regions=regions).model_dump(mode="json")


def _done(**extra: Any) -> dict[str, Any]:
    return PollOutput(done=True, succeeded=True, **extra).model_dump(mode="json")


def default_behaviours() -> dict[str, Behaviour]:
    source = ResolvedSource(
        type="PlatformImage",
        publisher="Canonical",
        offer="o",
        sku="s",
        version="1.0.0",
        exact_version="1.0.0",
        vm_size="Standard_D2ds_v4",
        hyper_v_generation="V2",
    )
    plan = StagingPlan(resource_group="IT_rg_tpl_0001", create=True, storage_account="kilnstaging")
    ok_step = PollOutput(
        done=True, succeeded=True, result=StepOutcome(succeeded=True, exit_code=0).model_dump()
    )
    return {
        "update_run_status": lambda p: None,
        "resolve_source": lambda p: ResolveSourceOutput(source=source).model_dump(mode="json"),
        "preflight": lambda p: PreflightOutput(staging=plan).model_dump(mode="json"),
        "prepare_staging_group": lambda p: StagingOutput(
            resource_group_id="/subscriptions/s/resourceGroups/IT"
        ).model_dump(),
        "deploy_build_vm": lambda p: DeployOutput(vm=VM).model_dump(mode="json"),
        "check_deployment": lambda p: _done(),
        "stage_artifacts": lambda p: {"staged": []},
        "start_step": lambda p: StepStarted(command_name="cmd").model_dump(mode="json"),
        "check_step": lambda p: ok_step.model_dump(mode="json"),
        "restart_vm": lambda p: StepStarted(command_name="restart").model_dump(mode="json"),
        "check_vm_ready": lambda p: _done(),
        "deallocate_vm": lambda p: PollOutput(done=False).model_dump(mode="json"),
        "check_vm_deallocated": lambda p: _done(),
        "generalize_vm": lambda p: _done(),
        "start_distribute": _started,
        "check_region": lambda p: _done(state="Completed"),
        "retry_region": lambda p: {},
        "check_distribute": _target_result,
        "record_outputs": lambda p: None,
        "cleanup_build_vm": lambda p: UndoOutput(done=True).model_dump(mode="json"),
        "undo_distribute": lambda p: UndoOutput(done=True).model_dump(mode="json"),
    }


class Script:
    """What the scripted activities answer, and the record of every call (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.behaviours = default_behaviours()

    def call(self, name: str, payload: dict[str, Any]) -> Any:
        with self.lock:
            self.calls.append((name, payload))
            behaviour = self.behaviours[name]
        return behaviour(payload)

    def names(self) -> list[str]:
        with self.lock:
            return [n for n, _ in self.calls if n != "update_run_status"]

    def payloads(self, name: str) -> list[dict[str, Any]]:
        with self.lock:
            return [p for n, p in self.calls if n == name]


SCRIPT = Script()

app = df.DFApp()
app.register_functions(orchestrators_bp)


def _register(name: str) -> None:
    def activity(payload: dict[str, Any]) -> Any:
        return SCRIPT.call(name, payload)

    activity.__name__ = name
    app.activity_trigger(input_name="payload")(app.function_name(name)(activity))


for _name in default_behaviours():
    _register(_name)

FUNCTIONS = app.get_functions()
