"""The Durable boundary: every activity and orchestration kiln registers, by name, with its input and its
output model, and the event a run waits for.

Names are defined here once. The orchestrator calls activities through these descriptors (``Flow.call``),
the registration in ``functions/`` binds each descriptor to its implementation, and the tests derive both
sides from the code. What crosses is always ``model_dump(mode="json")`` of the input model, validated again
on arrival as that model; outputs likewise.

Two conventions keep history short (a build's history grows with its phases, not with its polls):

* every input may carry a ``report``: the change of the run's state the phase begins with, which the
  activity function records before it does its work (no activity of its own);
* an activity that follows a long operation gets a ``Wait`` and waits for the operation itself (asking
  Azure less and less often) until it ends or ``until``; its answer is a ``Polled``, and the orchestration
  calls it again while it is not ``done``.
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
    PhaseError,
    ResolvedSource,
    RunRef,
    RunStatusRecorded,
    RunStatusUpdate,
    StagingPlan,
    StepOutcome,
    StepSpec,
    TargetResult,
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
    """One orchestrator function."""

    name: str
    input: type[In]
    output: type[Out]


# -- what every input and every waiting answer has --------------------------------------------------
class Reported(Msg):
    """An activity input: ``report`` is recorded in the run document before the activity's work."""

    report: RunStatusUpdate | None = None


class Wait(Msg):
    """How long an activity may wait for its operation, and how often it asks."""

    until: str  # ISO time: answer by then, done or not
    poll_seconds: float = 2.0  # the first pause; each next one is ``backoff`` times longer
    max_poll_seconds: float = 30.0
    backoff: float = 1.5
    hint_scale: float = 1.0  # multiplies Azure's Retry-After (the simulator's clock in local mode)


class Polled(Msg):
    """What every waiting activity answers: whether the thing is done, and how it ended."""

    done: bool
    succeeded: bool = False
    state: str = ""
    error: PhaseError | None = None
    retry_after_seconds: int | None = None


# -- the phases ---------------------------------------------------------------------------------------
class ResolveSourceInput(Reported):
    run: RunRef
    template: ImageTemplate


class ResolveSourceOutput(Msg):
    source: ResolvedSource | None = None
    error: PhaseError | None = None


class PreflightInput(Reported):
    run: RunRef
    template: ImageTemplate
    source: ResolvedSource


class PreflightOutput(Msg):
    staging: StagingPlan | None = None
    error: PhaseError | None = None


class StagingInput(Reported):
    run: RunRef
    template: ImageTemplate
    plan: StagingPlan


class StagingOutput(Msg):
    resource_group_id: str | None = None
    error: PhaseError | None = None


class DeployInput(Reported):
    run: RunRef
    template: ImageTemplate
    source: ResolvedSource
    staging: StagingPlan
    wait: Wait | None = None  # None: one look, no waiting


class DeployOutput(Polled):
    """The build VM (known once the deployment has started) and whether its deployment has ended."""

    vm: BuildVm | None = None


class VmProbe(Reported):
    """Input of the activities that act on the build VM and wait for it."""

    run: RunRef
    vm: BuildVm
    wait: Wait | None = None  # None: one look, no waiting


class ArtifactsInput(Reported):
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


class StepInput(Reported):
    """One step (customizer, validator, generalize) and its attempt (Windows Update round, restart check)."""

    run: RunRef
    vm: BuildVm
    step: StepSpec
    attempt: int = 0
    wait: Wait | None = None  # None: one look, no waiting


class StepChecked(Polled):
    """A step's Run Command, started if it was not, followed until done; then how the step ended."""

    outcome: StepOutcome | None = None


class RestartInput(StepInput):
    begin: bool = True  # restart now (the first call); False: only wait for the VM to come back


class DistributeInput(Reported):
    run: RunRef
    vm: BuildVm
    source: ResolvedSource
    target: DistributeTarget
    template_tags: dict[str, str] = Field(default_factory=dict)
    started: DistributeStarted | None = None  # what an earlier call started; None: start it
    retry_regions: list[str] = Field(default_factory=list)  # ask the gallery to replicate these again now
    retried: list[str] = Field(default_factory=list)  # regions asked again already (this call's included)
    wait: Wait | None = None  # None: one look, no waiting
    until_captured: bool = False  # also come back once the target no longer needs the build VM


class RegionState(Msg):
    region: str
    state: str  # Queued | Replicating | Completed | Failed | Unknown
    progress: int | None = None
    details: str | None = None


class TargetProgress(Polled):
    """A distribute target, started if it was not, followed until it has ended: what was started, each
    gallery region's replication, and at the end the target's result."""

    started: DistributeStarted | None = None
    regions: list[RegionState] = Field(default_factory=list)
    result: TargetResult | None = None
    # The target no longer needs the build VM: a managed image or VHD once it has ended, a gallery version
    # once its own region holds its copy (the capture; other regions replicate from the gallery).
    captured: bool = False


class UndoInput(Reported):
    """Input of every undo activity: enough to find what the run created, by name and tag."""

    run: RunRef
    vm: BuildVm | None = None
    staging: StagingPlan | None = None
    target: DistributeTarget | None = None
    started: DistributeStarted | None = None
    wait: Wait | None = None  # None: one round, no waiting


class UndoOutput(Polled):
    """What an undo reports; called again while not ``done``, ``remaining`` says what is left."""

    succeeded: bool = True
    remaining: list[str] = Field(default_factory=list)
    message: str = ""


class OutputsRecorded(Msg):
    written: list[str] = Field(default_factory=list)


class RecordOutputsInput(Reported):
    """What ``record_outputs`` writes: the run's distribute targets (runOutputs of the succeeded ones)."""

    run: RunRef
    targets: list[TargetResult] = Field(default_factory=list)


# -- the activities -----------------------------------------------------------------------------------
RESOLVE_SOURCE = Activity("resolve_source", ResolveSourceInput, ResolveSourceOutput)
PREFLIGHT = Activity("preflight", PreflightInput, PreflightOutput)
PREPARE_STAGING_GROUP = Activity("prepare_staging_group", StagingInput, StagingOutput)
DEPLOY_BUILD_VM = Activity("deploy_build_vm", DeployInput, DeployOutput)
STAGE_ARTIFACTS = Activity("stage_artifacts", ArtifactsInput, ArtifactsOutput)
RUN_STEP = Activity("run_step", StepInput, StepChecked)
RESTART_VM = Activity("restart_vm", RestartInput, Polled)
GENERALIZE_VM = Activity("generalize_vm", VmProbe, Polled)
DISTRIBUTE = Activity("distribute", DistributeInput, TargetProgress)
UNDO_DISTRIBUTE = Activity("undo_distribute", UndoInput, UndoOutput)
DELETE_BUILD_VM = Activity("delete_build_vm", UndoInput, UndoOutput)
UPDATE_RUN_STATUS = Activity("update_run_status", RunStatusUpdate, RunStatusRecorded)
RECORD_OUTPUTS = Activity("record_outputs", RecordOutputsInput, OutputsRecorded)

ACTIVITIES: tuple[Activity[Any, Any], ...] = (
    RESOLVE_SOURCE,
    PREFLIGHT,
    PREPARE_STAGING_GROUP,
    DEPLOY_BUILD_VM,
    STAGE_ARTIFACTS,
    RUN_STEP,
    RESTART_VM,
    GENERALIZE_VM,
    DISTRIBUTE,
    UNDO_DISTRIBUTE,
    DELETE_BUILD_VM,
    UPDATE_RUN_STATUS,
    RECORD_OUTPUTS,
)

# -- the orchestrations -------------------------------------------------------------------------------
BUILD_IMAGE = Orchestration("build_image", BuildInput, BuildResult)

ORCHESTRATIONS: tuple[Orchestration[Any, Any], ...] = (BUILD_IMAGE,)
