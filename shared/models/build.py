"""What a build knows and hands on: the run, its timing, the pinned source, the build VM, the steps and the
distribute targets, and what a run reports about itself.

These are the values every activity and orchestration input and output is made of (``shared.models.durable``
has those inputs and outputs). Every model travels as ``model_dump(mode="json")`` and is validated again on
arrival (style habit 3); fields are added with defaults. No model carries a secret: credentials are
referenced by the name of a Key Vault secret (architecture decision 9).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.models.customizers import Customizer, PowerShellCustomizer, ShellCustomizer
from shared.models.distribute import Distributor
from shared.models.template import ImageTemplate, TemplateProperties

# The input format of ``build_image``: an orchestration started with another one is ended, not replayed.
BUILD_SCHEMA = 4
RunState = Literal["Running", "Canceling", "Succeeded", "PartiallySucceeded", "Failed", "Canceled"]
RunSubState = Literal["Queued", "Building", "Customizing", "Optimizing", "Validating", "Distributing"]
Phase = Literal[
    "resolve",
    "preflight",
    "staging",
    "deploy",
    "artifacts",
    "customize",
    "optimize",
    "validate",
    "generalize",
    "distribute",
    "outputs",
    "cleanup",
]
StepPhase = Literal["customize", "optimize", "validate", "generalize"]
StepKind = Literal["Shell", "PowerShell", "File", "WindowsRestart", "WindowsUpdate", "Deprovision"]
TargetType = Literal["ManagedImage", "SharedImage", "VHD"]
OsType = Literal["Linux", "Windows"]


class Msg(BaseModel):
    """Base of what crosses the Durable boundary: unknown fields (from a newer kiln) are ignored."""

    model_config = ConfigDict(extra="ignore")


class PhaseError(Msg):
    """A permanent failure, returned (not raised) so the orchestrator can start compensation."""

    code: str
    message: str
    phase: Phase | None = None
    target: str | None = None
    details: list[dict[str, Any]] = Field(default_factory=list)  # ARM error details: {code, target, message}


class PhaseFailed(Exception):
    """A phase ended with a permanent error: an activity returns ``error`` as its result, the orchestrator
    starts compensation. ``missing``: Azure answered not-found (a poll then says the thing is gone)."""

    def __init__(self, error: PhaseError, *, missing: bool = False) -> None:
        super().__init__(error.message)
        self.error = error
        self.missing = missing


class RunRef(Msg):
    """Which run an activity works for; everything else is looked up or derived from it."""

    subscription_id: str
    resource_group: str
    template_name: str
    run_id: str
    location: str
    expires_at: str = ""  # ISO time; tagged on everything the run creates (kiln.expiresAt) for the janitor


class TimingPolicy(Msg):
    """How patiently a build retries and waits. Part of the input so replays stay deterministic; local mode
    runs the same policy on the simulator's faster clock (``scaled``).

    An activity that follows a long operation waits for it itself, for at most ``wait_budget_seconds``,
    asking Azure first after ``wait_poll_seconds``, then less and less often (``wait_backoff``, never more
    than ``max_wait_poll_seconds`` apart, ``step_wait_poll_seconds`` for steps; longer when Azure's
    Retry-After says so); the orchestration calls it again until the operation ends or its timeout passes.
    So history grows with the phases, not the polls.
    """

    retry_first_interval_ms: int = 5_000
    retry_max_attempts: int = 5
    wait_budget_seconds: float = 600.0
    wait_poll_seconds: float = 2.0
    max_wait_poll_seconds: float = 30.0  # deployments, captures, replication, deletes
    step_wait_poll_seconds: float = 5.0  # Run Command steps and restarts: minutes long, on the critical path
    wait_backoff: float = 1.5
    deploy_timeout_minutes: float = 60
    generalize_timeout_minutes: float = 30
    step_timeout_minutes: float = 240
    region_timeout_minutes: float = 180
    undo_timeout_minutes: float = 30
    max_windows_update_rounds: int = 10
    # Multiplies buildTimeoutInMinutes, and the waits Azure suggests: 1 in Azure; in local mode the
    # simulator's latency scale, so a build waits on the fast clock as it would in Azure.
    timeout_scale: float = 1.0
    hint_scale: float = 1.0

    def scaled(self, factor: float) -> TimingPolicy:
        """This policy on a clock ``factor`` times Azure's (floors keep a zero factor workable)."""
        f = max(factor, 0.0)
        return self.model_copy(
            update={
                "retry_first_interval_ms": max(20, int(self.retry_first_interval_ms * f)),
                "wait_budget_seconds": max(0.5, self.wait_budget_seconds * f),
                "wait_poll_seconds": max(0.02, self.wait_poll_seconds * f),
                "max_wait_poll_seconds": max(0.05, self.max_wait_poll_seconds * f),
                "step_wait_poll_seconds": max(0.05, self.step_wait_poll_seconds * f),
                "deploy_timeout_minutes": max(1.0, self.deploy_timeout_minutes * f),
                "generalize_timeout_minutes": max(1.0, self.generalize_timeout_minutes * f),
                "step_timeout_minutes": max(1.0, self.step_timeout_minutes * f),
                "region_timeout_minutes": max(1.0, self.region_timeout_minutes * f),
                "undo_timeout_minutes": max(1.0, self.undo_timeout_minutes * f),
                "timeout_scale": max(f, 0.005),
                "hint_scale": f,
            }
        )


class BuildInput(Msg):
    """The input of the ``build_image`` orchestration: the template, parsed once, travels typed."""

    schema_version: int = 1  # BUILD_SCHEMA since the template travels typed; absent in older inputs
    run: RunRef
    template: ImageTemplate  # the template as stored when the run started
    trigger: Literal["Manual", "AutoRun", "SourceImage", "Schedule"] = "Manual"
    expires_at: str  # ISO time after which the janitor may delete what this run left
    timing: TimingPolicy = Field(default_factory=TimingPolicy)
    # "serial" distributes one target, and one gallery region, after another: the baseline bench/build.py
    # measures the parallel default against.
    distribution: Literal["parallel", "serial"] = "parallel"

    @property
    def properties(self) -> TemplateProperties:
        return self.template.properties


class ResolvedSource(Msg):
    """The source image, pinned to an exact version, and what it implies for the build."""

    type: Literal["PlatformImage", "ManagedImage", "SharedImageVersion"]
    publisher: str | None = None
    offer: str | None = None
    sku: str | None = None
    version: str | None = None  # exact Marketplace version
    image_id: str | None = None  # managed image id or exact gallery image version id
    exact_version: str | None = None  # what lastRunStatus / the template's exactVersion shows
    os_type: OsType = "Linux"
    hyper_v_generation: Literal["V1", "V2"] = "V1"
    security_type: str = "Standard"
    plan: dict[str, str] | None = None  # {name, product, publisher}
    vm_size: str  # vmSize with the generation default applied
    os_disk_size_gb: int | None = None


class StagingPlan(Msg):
    resource_group: str
    create: bool  # kiln creates it (and deletes it with the template)
    storage_account: str


class BuildVm(Msg):
    """Where the build VM lives, once its deployment has been started."""

    resource_group: str
    vm_name: str
    deployment_name: str
    storage_account: str
    admin_secret_name: str | None = None
    resource_ids: list[str] = Field(default_factory=list)


class StepSpec(Msg):
    """One customizer, validator or generalize step, as the build runs it."""

    phase: StepPhase
    index: int
    name: str = ""
    kind: StepKind
    os_type: OsType = "Linux"
    spec: Customizer | None = None  # the customizer or validator; None for the generalize step

    def describe(self) -> str:
        """``customize step 2 'install nginx' (Shell)``: how logs and errors name a step."""
        name = f" '{self.name}'" if self.name else ""
        return f"{self.phase} step {self.index}{name} ({self.kind})"


def workload_step(properties: TemplateProperties, os_type: OsType) -> StepSpec | None:
    """The step running ``optimize.workload`` (after customization, before validation), if it is Enabled.

    Its script is the artifact ``stage_artifacts`` staged for phase ``optimize``, index 0 (checksum verified):
    a Shell script on Linux, a PowerShell script on Windows. Pure, so the orchestrator can call it.
    """
    workload = properties.optimize.workload if properties.optimize else None
    if workload is None or workload.state != "Enabled" or not workload.scriptUri:
        return None
    spec: Customizer
    if os_type == "Windows":
        spec = PowerShellCustomizer(
            type="PowerShell", scriptUri=workload.scriptUri, sha256Checksum=workload.sha256Checksum
        )
    else:
        spec = ShellCustomizer(
            type="Shell", scriptUri=workload.scriptUri, sha256Checksum=workload.sha256Checksum
        )
    return StepSpec(phase="optimize", index=0, name="workload", kind=spec.type, os_type=os_type, spec=spec)


class StepOutcome(Msg):
    """How a step ended: the exit code, whether it counts as success, the last log lines."""

    succeeded: bool
    exit_code: int | None = None
    needs_restart: bool = False
    updates_remaining: int | None = None
    updates_installed: int = 0
    log_tail: list[str] = Field(default_factory=list)
    error: PhaseError | None = None


class DistributeTarget(Msg):
    index: int
    type: TargetType
    run_output_name: str
    spec: Distributor
    version: str | None = None  # the gallery version chosen for a SharedImage target
    region_limit: int | None = None  # serial baseline: replicate only to the first N target regions
    identity: str | None = None  # the template's user-assigned identity: the target is written as it


class DistributeStarted(Msg):
    artifact_id: str | None = None
    artifact_uri: str | None = None
    version: str | None = None
    regions: list[str] = Field(default_factory=list)
    home: str | None = None  # a gallery version's own region (its definition's): where it is captured
    error: PhaseError | None = None


class TargetResult(Msg):
    """What one distribute target ended with; the run's runOutputs are made of these."""

    run_output_name: str
    type: TargetType
    succeeded: bool
    artifact_id: str | None = None
    artifact_uri: str | None = None
    regions: dict[str, str] = Field(default_factory=dict)  # region -> Completed | Failed | TimedOut
    error: PhaseError | None = None


class StepState(Msg):
    """The step the run is at, as the run document shows it."""

    phase: StepPhase
    index: int
    name: str = ""
    state: Literal["Running", "Succeeded", "Failed", "Canceled"] = "Running"


class RunStatusUpdate(Msg):
    """A change of the run's state, written to the run document and the template's lastRunStatus."""

    run: RunRef
    run_state: RunState | None = None
    run_sub_state: RunSubState | None = None
    phase: Phase | None = None
    message: str | None = None
    time: str  # orchestration time (context.current_utc_datetime), never the wall clock
    step: StepState | None = None
    targets: list[TargetResult] | None = None
    regions: dict[str, dict[str, str]] | None = None  # runOutputName -> region -> state
    finished: bool = False
    exact_version: str | None = None
    exact_staging_resource_group: str | None = None
    # errorHandling "abort": the build VM stays for debugging until the template is deleted, and this says
    # where it is (resource group, VM name, admin secret name). The janitor reads the run document's
    # properties.keptBuildVm, never the message.
    kept_vm: BuildVm | None = None


class RunStatusRecorded(Msg):
    """The run document's state after an update was applied (what ``update_run_status`` answers)."""

    run_state: RunState
    run_sub_state: RunSubState
    finished: bool


class BuildResult(Msg):
    """How ``build_image`` ended (its output): the final runState, the message, every target."""

    run_state: RunState
    message: str
    targets: list[TargetResult] = Field(default_factory=list)
