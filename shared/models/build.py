"""What crosses the Durable boundary during a build: one input and one output model per activity.

Every model travels as ``model_dump(mode="json")`` and is validated again on arrival (style habit 3).
Fields are added with defaults so runs in flight keep replaying. No model carries a secret: credentials are
referenced by the name of a Key Vault secret (architecture decision 9).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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
StepKind = Literal["Shell", "PowerShell", "File", "WindowsRestart", "WindowsUpdate", "Deprovision"]
TargetType = Literal["ManagedImage", "SharedImage", "VHD"]


class _Msg(BaseModel):
    model_config = ConfigDict(extra="ignore")


class PhaseError(_Msg):
    """A permanent failure, returned (not raised) so the orchestrator can start compensation."""

    code: str
    message: str
    phase: Phase | None = None
    target: str | None = None
    details: list[dict[str, Any]] = Field(default_factory=list)


class RunRef(_Msg):
    """Which run an activity works for; everything else is looked up or derived from it."""

    subscription_id: str
    resource_group: str
    template_name: str
    run_id: str
    location: str
    expires_at: str = ""  # ISO time; tagged on everything the run creates (kiln.expiresAt) for the janitor


class TimingPolicy(_Msg):
    """How patiently the orchestrator retries and polls. Part of the input so replays stay deterministic;
    local mode runs the same policy on the simulator's faster clock (``scaled``)."""

    retry_first_interval_ms: int = 5_000
    retry_max_attempts: int = 5
    poll_interval_seconds: float = 15.0
    deploy_timeout_minutes: float = 60
    step_poll_interval_seconds: float = 10.0
    region_timeout_minutes: float = 180
    undo_timeout_minutes: float = 30
    undo_poll_interval_seconds: float = 10.0
    poll_rounds_per_generation: int = 100
    # Activities suggest how long to wait before asking again (Azure's Retry-After, or their own estimate);
    # polls never wait longer than this.
    max_poll_wait_seconds: float = 300.0
    max_windows_update_rounds: int = 10
    # Multiplies buildTimeoutInMinutes, and the waits activities suggest: 1 in Azure; in local mode the
    # simulator's latency scale, so a build makes as many polls on the fast clock as it would in Azure.
    timeout_scale: float = 1.0
    hint_scale: float = 1.0

    def scaled(self, factor: float) -> TimingPolicy:
        """This policy on a clock ``factor`` times Azure's (floors keep a zero factor workable)."""
        f = max(factor, 0.0)
        return self.model_copy(
            update={
                "retry_first_interval_ms": max(20, int(self.retry_first_interval_ms * f)),
                "poll_interval_seconds": max(0.05, self.poll_interval_seconds * f),
                "step_poll_interval_seconds": max(0.05, self.step_poll_interval_seconds * f),
                "undo_poll_interval_seconds": max(0.05, self.undo_poll_interval_seconds * f),
                "deploy_timeout_minutes": max(1.0, self.deploy_timeout_minutes * f),
                "region_timeout_minutes": max(1.0, self.region_timeout_minutes * f),
                "undo_timeout_minutes": max(1.0, self.undo_timeout_minutes * f),
                "max_poll_wait_seconds": max(0.2, self.max_poll_wait_seconds * f),
                "timeout_scale": max(f, 0.005),
                "hint_scale": f,
            }
        )


class BuildInput(_Msg):
    """The input of the ``build_image`` orchestration."""

    run: RunRef
    template: dict[str, Any]  # the template's wire JSON at run start (validated again on arrival)
    trigger: Literal["Manual", "AutoRun", "SourceImage", "Schedule"] = "Manual"
    expires_at: str  # ISO time after which the janitor may delete what this run left
    timing: TimingPolicy = Field(default_factory=TimingPolicy)
    # "serial" distributes one target, and one gallery region, after another: the baseline bench/build.py
    # measures the parallel default against.
    distribution: Literal["parallel", "serial"] = "parallel"


class PollSpec(_Msg):
    """Input of the ``poll_until_done`` sub-orchestration: call ``activity`` until its PollOutput is done."""

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


class ResolvedSource(_Msg):
    """The source image, pinned to an exact version, and what it implies for the build."""

    type: Literal["PlatformImage", "ManagedImage", "SharedImageVersion"]
    publisher: str | None = None
    offer: str | None = None
    sku: str | None = None
    version: str | None = None  # exact Marketplace version
    image_id: str | None = None  # managed image id or exact gallery image version id
    exact_version: str | None = None  # what lastRunStatus / the template's exactVersion shows
    os_type: Literal["Linux", "Windows"] = "Linux"
    hyper_v_generation: Literal["V1", "V2"] = "V1"
    security_type: str = "Standard"
    plan: dict[str, str] | None = None  # {name, product, publisher}
    vm_size: str  # vmSize with the generation default applied
    os_disk_size_gb: int | None = None


class ResolveSourceInput(_Msg):
    run: RunRef
    template: dict[str, Any]


class ResolveSourceOutput(_Msg):
    source: ResolvedSource | None = None
    error: PhaseError | None = None


class StagingPlan(_Msg):
    resource_group: str
    create: bool  # kiln creates it (and deletes it with the template)
    storage_account: str


class PreflightInput(_Msg):
    run: RunRef
    template: dict[str, Any]
    source: ResolvedSource


class PreflightOutput(_Msg):
    staging: StagingPlan | None = None
    error: PhaseError | None = None


class StagingInput(_Msg):
    run: RunRef
    template: dict[str, Any]
    plan: StagingPlan


class StagingOutput(_Msg):
    resource_group_id: str | None = None
    error: PhaseError | None = None


class BuildVm(_Msg):
    """Where the build VM lives, once its deployment has been started."""

    resource_group: str
    vm_name: str
    deployment_name: str
    storage_account: str
    admin_secret_name: str | None = None
    resource_ids: list[str] = Field(default_factory=list)


class DeployInput(_Msg):
    run: RunRef
    template: dict[str, Any]
    source: ResolvedSource
    staging: StagingPlan


class DeployOutput(_Msg):
    vm: BuildVm | None = None
    error: PhaseError | None = None


class PollInput(_Msg):
    """Input of every ``check_*`` activity the polling sub-orchestrations call."""

    run: RunRef
    vm: BuildVm
    key: str = ""  # what to check: a run command name, a target's runOutputName, a region …
    data: dict[str, Any] = Field(default_factory=dict)


class PollOutput(_Msg):
    done: bool
    succeeded: bool = False
    state: str = ""
    result: dict[str, Any] = Field(default_factory=dict)
    error: PhaseError | None = None
    retry_after_seconds: int | None = None


class StepSpec(_Msg):
    """One customizer, validator or generalize step, as the build runs it."""

    phase: Literal["customize", "optimize", "validate", "generalize"]
    index: int
    name: str = ""
    kind: StepKind
    os_type: Literal["Linux", "Windows"] = "Linux"
    spec: dict[str, Any] = Field(default_factory=dict)  # the customizer's wire JSON


def workload_step(
    template_properties: dict[str, Any], os_type: Literal["Linux", "Windows"]
) -> StepSpec | None:
    """The step running ``optimize.workload`` (after customization, before validation), if it is Enabled.

    Its script is the artifact ``stage_artifacts`` staged for phase ``optimize``, index 0 (checksum verified):
    a Shell script on Linux, a PowerShell script on Windows. Pure, so the orchestrator can call it.
    """
    workload = ((template_properties.get("optimize") or {}).get("workload")) or {}
    if str(workload.get("state") or "") != "Enabled" or not workload.get("scriptUri"):
        return None
    kind: StepKind = "PowerShell" if os_type == "Windows" else "Shell"
    spec = {
        "type": kind,
        "scriptUri": workload["scriptUri"],
        "sha256Checksum": workload.get("sha256Checksum", ""),
    }
    return StepSpec(phase="optimize", index=0, name="workload", kind=kind, os_type=os_type, spec=spec)


class StepInput(_Msg):
    run: RunRef
    vm: BuildVm
    step: StepSpec
    attempt: int = 0  # Windows Update round, restart check round …


class StepStarted(_Msg):
    command_name: str | None = None
    error: PhaseError | None = None


class StepOutcome(_Msg):
    """How a step ended: the exit code, whether it counts as success, the last log lines."""

    succeeded: bool
    exit_code: int | None = None
    needs_restart: bool = False
    updates_remaining: int | None = None
    updates_installed: int = 0
    log_tail: list[str] = Field(default_factory=list)
    error: PhaseError | None = None


class ArtifactsInput(_Msg):
    run: RunRef
    template: dict[str, Any]
    vm: BuildVm


class ArtifactsOutput(_Msg):
    staged: list[dict[str, Any]] = Field(default_factory=list)  # {phase, index, uri, blob, sha256}
    error: PhaseError | None = None


class DistributeTarget(_Msg):
    index: int
    type: TargetType
    run_output_name: str
    spec: dict[str, Any]  # the distributor's wire JSON
    version: str | None = None  # the gallery version chosen for a SharedImage target
    all_regions: list[Any] = Field(default_factory=list)  # serial baseline: every region, spec has a prefix


class DistributeInput(_Msg):
    run: RunRef
    vm: BuildVm
    source: ResolvedSource
    target: DistributeTarget
    template_tags: dict[str, str] = Field(default_factory=dict)


class DistributeStarted(_Msg):
    artifact_id: str | None = None
    artifact_uri: str | None = None
    version: str | None = None
    regions: list[str] = Field(default_factory=list)
    error: PhaseError | None = None


class TargetResult(_Msg):
    """What one distribute target ended with; the run's runOutputs are made of these."""

    run_output_name: str
    type: TargetType
    succeeded: bool
    artifact_id: str | None = None
    artifact_uri: str | None = None
    regions: dict[str, str] = Field(default_factory=dict)  # region -> Completed | Failed | TimedOut
    error: PhaseError | None = None


class RunStatusUpdate(_Msg):
    """A change of the run's state, written to the run document and the template's lastRunStatus."""

    run: RunRef
    run_state: RunState | None = None
    run_sub_state: RunSubState | None = None
    phase: Phase | None = None
    message: str | None = None
    time: str  # orchestration time (context.current_utc_datetime), never the wall clock
    step: dict[str, Any] | None = None  # {phase, index, name, state}
    targets: list[TargetResult] | None = None
    regions: dict[str, dict[str, str]] | None = None  # runOutputName -> region -> state
    finished: bool = False
    exact_version: str | None = None
    exact_staging_resource_group: str | None = None
    # errorHandling "abort": the build VM stays for debugging until the template is deleted, and this says
    # where it is (resource group, VM name, admin secret name). The janitor reads the run document's
    # properties.keptBuildVm, never the message.
    kept_vm: BuildVm | None = None


class RunStatusRecorded(_Msg):
    """The run document's state after an update was applied (what ``update_run_status`` answers)."""

    run_state: RunState
    run_sub_state: RunSubState
    finished: bool


class RecordOutputsInput(_Msg):
    """What ``record_outputs`` writes: the run's distribute targets (runOutputs of the succeeded ones)."""

    run: RunRef
    targets: list[TargetResult] = Field(default_factory=list)


class OutputsRecorded(_Msg):
    written: list[str] = Field(default_factory=list)


class UndoInput(_Msg):
    """Input of every undo activity: enough to find what the run created, by name and tag."""

    run: RunRef
    vm: BuildVm | None = None
    staging: StagingPlan | None = None
    target: DistributeTarget | None = None
    started: DistributeStarted | None = None


class UndoOutput(_Msg):
    """What an undo reports each time it is called; the orchestrator polls it until ``done``."""

    done: bool
    succeeded: bool = True
    remaining: list[str] = Field(default_factory=list)
    message: str = ""
