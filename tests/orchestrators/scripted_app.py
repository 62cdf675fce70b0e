"""A Functions app hosting kiln's real orchestrators beside scripted activities.

The orchestrators are replayed by the real azure-functions-durable SDK inside devhost's engine; the
activities answer from a per-test ``Script``: what each phase returns, which one fails, which one never
finishes. Every call is recorded, so tests read the order in which phases and undos ran. The activities
registered are exactly the descriptors of ``shared.models.durable`` and ``shared.models.cycles``; each
default answer is that descriptor's output model, and a waiting activity's default is done at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import azure.durable_functions as df

from functions.orchestrations import bp as orchestrators_bp
from shared.models import cycles as c
from shared.models import durable as d
from shared.models.build import (
    BuildVm,
    DistributeStarted,
    PhaseError,
    ResolvedSource,
    StagingPlan,
    StepOutcome,
    TargetResult,
)
from shared.models.durable import RegionState

Behaviour = Callable[[dict[str, Any]], Any]
ALL_ACTIVITIES = (*d.ACTIVITIES, *c.CYCLE_ACTIVITIES)  # the build's and the patch cycle's

VM = BuildVm(
    resource_group="IT_rg_tpl_0001",
    vm_name="kilnabcd1234",
    deployment_name="kiln-build-abcd1234",
    storage_account="kilnstaging",
    admin_secret_name="kiln-admin-abcd1234",
)


def progress(payload: dict[str, Any], *, failed: tuple[str, ...] = ()) -> dict[str, Any]:
    """What ``distribute`` answers once its target has ended: every region Completed but ``failed``."""
    inp = d.DistributeInput.model_validate(payload)
    started = inp.started or started_of(inp)
    regions = [RegionState(region=r, state="Failed" if r in failed else "Completed") for r in started.regions]
    ok = not failed
    result = TargetResult(
        run_output_name=inp.target.run_output_name,
        type=inp.target.type,
        succeeded=ok,
        artifact_id=started.artifact_id,
        regions={r.region: r.state for r in regions},
        error=None if ok else PhaseError(code="ReplicationFailed", message=f"failed in {', '.join(failed)}"),
    )
    answer = d.TargetProgress(done=True, succeeded=ok, started=started, regions=regions, result=result)
    return answer.model_dump(mode="json")


def started_of(inp: d.DistributeInput) -> DistributeStarted:
    """What starting ``inp``'s target gives: its artifact and, for a gallery, the regions asked for."""
    spec = inp.target.spec
    regions = [r.name for r in getattr(spec, "targetRegions", None) or []]
    if inp.target.region_limit is not None:
        regions = regions[: inp.target.region_limit]
    return DistributeStarted(
        artifact_id=f"/artifacts/{inp.target.run_output_name}", regions=regions, version="1.0.0"
    )


def done(**extra: Any) -> dict[str, Any]:
    return d.Polled(done=True, succeeded=True, **extra).model_dump(mode="json")


def pending(payload: dict[str, Any]) -> dict[str, Any]:
    """A waiting activity whose operation has not ended within its wait (here: a short one)."""
    time.sleep(0.02)
    return d.Polled(done=False).model_dump(mode="json")


def checked_step(outcome: StepOutcome) -> dict[str, Any]:
    """What ``run_step`` answers once a step has ended as ``outcome``."""
    return d.StepChecked(done=True, succeeded=outcome.succeeded, outcome=outcome).model_dump(mode="json")


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
    recorded = d.RunStatusRecorded(run_state="Running", run_sub_state="Queued", finished=False)
    behaviours: dict[str, Behaviour] = {
        d.UPDATE_RUN_STATUS.name: lambda p: recorded.model_dump(mode="json"),
        d.RESOLVE_SOURCE.name: lambda p: d.ResolveSourceOutput(source=source).model_dump(mode="json"),
        d.PREFLIGHT.name: lambda p: d.PreflightOutput(staging=plan).model_dump(mode="json"),
        d.PREPARE_STAGING_GROUP.name: lambda p: d.StagingOutput(
            resource_group_id="/subscriptions/s/resourceGroups/IT"
        ).model_dump(mode="json"),
        d.DEPLOY_BUILD_VM.name: lambda p: d.DeployOutput(done=True, succeeded=True, vm=VM).model_dump(
            mode="json"
        ),
        d.STAGE_ARTIFACTS.name: lambda p: d.ArtifactsOutput().model_dump(mode="json"),
        d.RUN_STEP.name: lambda p: checked_step(StepOutcome(succeeded=True, exit_code=0)),
        d.RESTART_VM.name: lambda p: done(),
        d.GENERALIZE_VM.name: lambda p: done(),
        d.DISTRIBUTE.name: progress,
        d.RECORD_OUTPUTS.name: lambda p: d.OutputsRecorded().model_dump(mode="json"),
        d.DELETE_BUILD_VM.name: lambda p: d.UndoOutput(done=True).model_dump(mode="json"),
        d.UNDO_DISTRIBUTE.name: lambda p: d.UndoOutput(done=True).model_dump(mode="json"),
    }
    behaviours.update(cycle_behaviours())
    assert set(behaviours) == {a.name for a in ALL_ACTIVITIES}, "a scripted answer for every activity"
    return behaviours


def cycle_behaviours() -> dict[str, Behaviour]:
    """The patch cycle's steps: a cycle of no members, ended Succeeded (or Failed when told it failed)."""
    return {
        c.CYCLE_BEGIN.name: lambda p: c.CycleBegun(members=0).model_dump(mode="json"),
        c.CYCLE_ADMIT.name: lambda p: c.Admitted(next_index=p["next_index"]).model_dump(mode="json"),
        c.CYCLE_CHECK.name: lambda p: c.Checked(ended=p["in_flight"]).model_dump(mode="json"),
        c.CYCLE_FINISH.name: lambda p: c.CycleSummary(state="Succeeded").model_dump(mode="json"),
        c.CYCLE_FAIL.name: lambda p: c.CycleSummary(state="Failed").model_dump(mode="json"),
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
            return [n for n, _ in self.calls if n != d.UPDATE_RUN_STATUS.name]

    def payloads(self, name: str) -> list[dict[str, Any]]:
        with self.lock:
            return [p for n, p in self.calls if n == name]

    def reports(self) -> list[dict[str, Any]]:
        """Every change of the run's state, in order: the reports phases carry and ``update_run_status``."""
        with self.lock:
            calls = list(self.calls)
        found = [p if n == d.UPDATE_RUN_STATUS.name else p.get("report") for n, p in calls]
        return [r for r in found if r]


SCRIPT = Script()

app = df.DFApp()
app.register_functions(orchestrators_bp)


def _register(name: str) -> None:
    def activity(payload: dict[str, Any]) -> Any:
        return SCRIPT.call(name, payload)

    activity.__name__ = name
    app.activity_trigger(input_name="payload")(app.function_name(name)(activity))


for _activity in ALL_ACTIVITIES:
    _register(_activity.name)

FUNCTIONS = app.get_functions()
