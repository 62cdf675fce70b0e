"""The Durable boundary: every activity and orchestration kiln registers, by name, with its input and its
output model, and the event a run waits for.

Names are defined here once. Orchestrators call activities through these descriptors (``Flow.call``), the
registration in ``functions/`` binds each descriptor to its implementation, and the tests derive both sides
from the code. What crosses is always ``model_dump(mode="json")`` of the input model, validated again on
arrival as that model; outputs likewise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from shared.models.build import (
    BuildInput,
    BuildResult,
    BuildVm,
    DistributeStarted,
    DistributeTarget,
    Msg,
    Phase,
    PhaseError,
    ResolvedSource,
    RunRef,
    RunStatusRecorded,
    RunStatusUpdate,
    StagingPlan,
    StepOutcome,
    StepSpec,
    TargetResult,
    TimingPolicy,
)
from shared.models.template import ImageTemplate

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)

CANCEL_EVENT = "cancel"  # raised on a run's orchestration by POST …/cancel and by DELETE of its template


@dataclass(frozen=True)
class Activity(Generic[In, Out]):
    """One activity function: its registered name and the models of what goes in and comes out."""

    name: str
    input: type[In]
    output: type[Out]


@dataclass(frozen=True)
class Orchestration(Generic[In, Out]):
    """One orchestrator function (``build_image`` or one of its sub-orchestrations)."""

    name: str
    input: type[In]
    output: type[Out]


# -- what activities take and answer ------------------------------------------------------------------
class Polled(Msg):
    """What every polled activity answers: whether the thing is done, how it ended, when to ask again."""

    done: bool
    succeeded: bool = False
    state: str = ""
    error: PhaseError | None = None
    retry_after_seconds: int | None = None


class ResolveSourceInput(Msg):
    run: RunRef
    template: ImageTemplate


class ResolveSourceOutput(Msg):
    source: ResolvedSource | None = None
    error: PhaseError | None = None


class PreflightInput(Msg):
    run: RunRef
    template: ImageTemplate
    source: ResolvedSource


class PreflightOutput(Msg):
    staging: StagingPlan | None = None
    error: PhaseError | None = None


class StagingInput(Msg):
    run: RunRef
    template: ImageTemplate
    plan: StagingPlan


class StagingOutput(Msg):
    resource_group_id: str | None = None
    error: PhaseError | None = None


class DeployInput(Msg):
    run: RunRef
    template: ImageTemplate
    source: ResolvedSource
    staging: StagingPlan


class DeployOutput(Msg):
    vm: BuildVm | None = None
    error: PhaseError | None = None


class VmProbe(Msg):
    """Input of the activities that act on, or look at, the build VM and its deployment."""

    run: RunRef
    vm: BuildVm


class ArtifactsInput(Msg):
    run: RunRef
    template: ImageTemplate
    vm: BuildVm


class StagedArtifact(Msg):
    """One script or file, fetched, verified and stored in the staging account for the VM."""

    phase: Literal["customize", "optimize", "validate"]
    index: int
    uri: str
    blob: str
    sha256: str


class ArtifactsOutput(Msg):
    staged: list[StagedArtifact] = Field(default_factory=list)
    error: PhaseError | None = None


class StepInput(Msg):
    run: RunRef
    vm: BuildVm
    step: StepSpec
    attempt: int = 0  # Windows Update round, restart check round …


class StepStarted(Msg):
    command_name: str | None = None
    error: PhaseError | None = None


class StepChecked(Polled):
    """A poll of a step's Run Command; once done, how the step ended."""

    outcome: StepOutcome | None = None


class Generalized(Msg):
    error: PhaseError | None = None


class DistributeInput(Msg):
    run: RunRef
    vm: BuildVm
    source: ResolvedSource
    target: DistributeTarget
    template_tags: dict[str, str] = Field(default_factory=dict)


class TargetProbe(Msg):
    """Input of the polls of one distribute target: what was started for it."""

    run: RunRef
    vm: BuildVm
    target: DistributeTarget
    started: DistributeStarted


class TargetChecked(Polled):
    """A poll of one distribute target; once done, its result."""

    result: TargetResult | None = None


class RegionProbe(TargetProbe):
    """Input of the polls (and the retry) of one region of a gallery target."""

    region: str


class RegionState(Msg):
    region: str
    state: str  # Queued | Replicating | Completed | Failed | Unknown
    progress: int | None = None
    details: str | None = None


class RegionChecked(Polled):
    """A poll of one region of a gallery image version."""

    region: RegionState | None = None


class UndoInput(Msg):
    """Input of every undo activity: enough to find what the run created, by name and tag."""

    run: RunRef
    vm: BuildVm | None = None
    staging: StagingPlan | None = None
    target: DistributeTarget | None = None
    started: DistributeStarted | None = None


class UndoOutput(Polled):
    """What an undo reports each time it is called; polled until ``done``, ``remaining`` says what is left."""

    succeeded: bool = True
    remaining: list[str] = Field(default_factory=list)
    message: str = ""


class OutputsRecorded(Msg):
    written: list[str] = Field(default_factory=list)


class RecordOutputsInput(Msg):
    """What ``record_outputs`` writes: the run's distribute targets (runOutputs of the succeeded ones)."""

    run: RunRef
    targets: list[TargetResult] = Field(default_factory=list)


# -- what sub-orchestrations take ---------------------------------------------------------------------
class RunStepInput(Msg):
    step: StepInput
    timing: TimingPolicy


class DistributeTargetInput(Msg):
    target: DistributeInput
    timing: TimingPolicy
    serial: bool = False


class PollSpec(Msg):
    """Input of ``poll_until_done``: call ``activity`` until its ``Polled`` answer is done.

    ``payload`` is the polled activity's input model, dumped; the activity validates it on arrival, and the
    poll hands back the activity's last answer, which the caller validates as the activity's output model.
    """

    activity: str
    payload: dict[str, Any]
    interval_seconds: float
    timeout_at: str  # ISO time (orchestration clock)
    timeout_message: str = "The operation did not finish in time."
    retry_first_interval_ms: int = 5_000
    retry_max_attempts: int = 5
    rounds_per_generation: int = 100
    max_wait_seconds: float = 300.0
    hint_scale: float = 1.0
    phase: Phase | None = None


# -- the activities -------------------------------------------------------------------------------------
RESOLVE_SOURCE = Activity("resolve_source", ResolveSourceInput, ResolveSourceOutput)
PREFLIGHT = Activity("preflight", PreflightInput, PreflightOutput)
PREPARE_STAGING_GROUP = Activity("prepare_staging_group", StagingInput, StagingOutput)
DEPLOY_BUILD_VM = Activity("deploy_build_vm", DeployInput, DeployOutput)
CHECK_DEPLOYMENT = Activity("check_deployment", VmProbe, Polled)
STAGE_ARTIFACTS = Activity("stage_artifacts", ArtifactsInput, ArtifactsOutput)
START_STEP = Activity("start_step", StepInput, StepStarted)
CHECK_STEP = Activity("check_step", StepInput, StepChecked)
RESTART_VM = Activity("restart_vm", StepInput, StepStarted)
CHECK_VM_READY = Activity("check_vm_ready", VmProbe, Polled)
DEALLOCATE_VM = Activity("deallocate_vm", VmProbe, Polled)
CHECK_VM_DEALLOCATED = Activity("check_vm_deallocated", VmProbe, Polled)
GENERALIZE_VM = Activity("generalize_vm", VmProbe, Generalized)
START_DISTRIBUTE = Activity("start_distribute", DistributeInput, DistributeStarted)
CHECK_DISTRIBUTE = Activity("check_distribute", TargetProbe, TargetChecked)
CHECK_REGION = Activity("check_region", RegionProbe, RegionChecked)
RETRY_REGION = Activity("retry_region", RegionProbe, Polled)
UNDO_DISTRIBUTE = Activity("undo_distribute", UndoInput, UndoOutput)
DELETE_BUILD_VM = Activity("delete_build_vm", UndoInput, UndoOutput)
UPDATE_RUN_STATUS = Activity("update_run_status", RunStatusUpdate, RunStatusRecorded)
RECORD_OUTPUTS = Activity("record_outputs", RecordOutputsInput, OutputsRecorded)

ACTIVITIES: tuple[Activity[Any, Any], ...] = (
    RESOLVE_SOURCE,
    PREFLIGHT,
    PREPARE_STAGING_GROUP,
    DEPLOY_BUILD_VM,
    CHECK_DEPLOYMENT,
    STAGE_ARTIFACTS,
    START_STEP,
    CHECK_STEP,
    RESTART_VM,
    CHECK_VM_READY,
    DEALLOCATE_VM,
    CHECK_VM_DEALLOCATED,
    GENERALIZE_VM,
    START_DISTRIBUTE,
    CHECK_DISTRIBUTE,
    CHECK_REGION,
    RETRY_REGION,
    UNDO_DISTRIBUTE,
    DELETE_BUILD_VM,
    UPDATE_RUN_STATUS,
    RECORD_OUTPUTS,
)

# -- the orchestrations ---------------------------------------------------------------------------------
BUILD_IMAGE = Orchestration("build_image", BuildInput, BuildResult)
RUN_STEP = Orchestration("run_step", RunStepInput, StepOutcome)
DISTRIBUTE_TARGET = Orchestration("distribute_target", DistributeTargetInput, TargetResult)
POLL_UNTIL_DONE = Orchestration("poll_until_done", PollSpec, Polled)

ORCHESTRATIONS: tuple[Orchestration[Any, Any], ...] = (
    BUILD_IMAGE,
    RUN_STEP,
    DISTRIBUTE_TARGET,
    POLL_UNTIL_DONE,
)
