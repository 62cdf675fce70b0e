"""``build_image``: one run of an image template, in AIB's order, with compensation on every way out.

Read top to bottom it is the phase list of docs/build.md: resolve the source, preflight, staging resource
group, deploy the build VM, stage artifacts, customize, validate, generalize, distribute, record run outputs,
clean up. Each phase's first activity records the phase's start (its input's ``report``), and an activity
that follows a long operation waits for it itself, so the history grows with the phases, not with polls.
The order of yields is a wire contract for runs in flight; a change of the input's shape raises
``BUILD_SCHEMA`` (an older input is then ended, not replayed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import azure.durable_functions as df

from orchestrators.distribute import VmRelease, distribute, targets_of
from orchestrators.flow import Flow, Interrupted, Yields, iso
from orchestrators.outcome import Outcome, deprovision_step, failure_message, step_specs, timeout_message
from orchestrators.steps import run_step
from shared.models import TemplateProperties, Validate
from shared.models.build import (
    BUILD_SCHEMA,
    BuildInput,
    BuildResult,
    BuildVm,
    PhaseError,
    PhaseFailed,
    ResolvedSource,
    RunRef,
    RunStatusUpdate,
    StagingPlan,
    StepSpec,
    StepState,
    workload_step,
)
from shared.models.durable import (
    DELETE_BUILD_VM,
    DEPLOY_BUILD_VM,
    GENERALIZE_VM,
    PREFLIGHT,
    PREPARE_STAGING_GROUP,
    RECORD_OUTPUTS,
    RESOLVE_SOURCE,
    STAGE_ARTIFACTS,
    UNDO_DISTRIBUTE,
    UPDATE_RUN_STATUS,
    ArtifactsInput,
    DeployInput,
    DeployOutput,
    PreflightInput,
    RecordOutputsInput,
    ResolveSourceInput,
    StagingInput,
    UndoInput,
    VmProbe,
    Wait,
)
from shared.models.template import DEFAULT_BUILD_TIMEOUT


@dataclass
class Build:
    """One run as the orchestration goes: its flow, its input, and what it has learnt so far."""

    flow: Flow
    input: BuildInput
    outcome: Outcome = field(default_factory=Outcome)
    release: VmRelease = field(default_factory=VmRelease)  # the build VM's deletion once captured

    @property
    def run(self) -> RunRef:
        return self.input.run

    @property
    def props(self) -> TemplateProperties:
        return self.input.template.properties

    @property
    def validate(self) -> Validate:
        return self.props.validate_ or Validate()

    def abort_on(self, which: str) -> bool:
        """Whether errorHandling keeps the build VM when a customizer or a validator fails."""
        handling = self.props.errorHandling
        mode = handling.onCustomizerError if which == "customizer" else handling.onValidationError
        return str(mode).lower() == "abort"


def build_image(context: df.DurableOrchestrationContext) -> Yields:
    raw = context.get_input()
    try:
        build = BuildInput.model_validate(raw)
        if build.schema_version != BUILD_SCHEMA:
            raise ValueError(f"input schema {build.schema_version}, this kiln runs schema {BUILD_SCHEMA}")
    except ValueError as exc:  # pydantic's ValidationError is one too
        # Started by another version of kiln: its history cannot be replayed by this code, so nothing of it
        # runs; the janitor deletes what it created once its expiry passes.
        message = f"The run was started by another version of kiln and cannot continue: {exc}".split("\n")[0]
        yield from _end_unreadable(context, raw, message)
        return BuildResult(run_state="Failed", message=message).model_dump(mode="json")
    if not build.run.expires_at:  # every phase tags what it creates with the run's expiry, for the janitor
        build = build.model_copy(
            update={"run": build.run.model_copy(update={"expires_at": build.expires_at})}
        )
    minutes = build.properties.buildTimeoutInMinutes or DEFAULT_BUILD_TIMEOUT
    b = Build(Flow(context, build, minutes * build.timing.timeout_scale), build)
    flow, outcome = b.flow, b.outcome
    try:
        yield from _build(b)
    except PhaseFailed as failed:
        outcome.fail(failed.error)
    except Interrupted as interrupted:
        outcome.interrupted = interrupted.reason
    except Exception as exc:  # an activity that kept failing after its retries
        outcome.fail(PhaseError(code="InternalError", message=str(exc).split("\n")[0], phase=flow.phase))
    problems = yield from _clean_up(b)
    flow.finish()
    final = outcome.final_state()
    message = _final_message(b, problems)
    yield from flow.status(
        run_state=final,
        message=message,
        finished=True,
        targets=outcome.targets or None,
        phase=flow.phase,
        kept_vm=outcome.vm if outcome.keep_vm else None,
    )
    return BuildResult(run_state=final, message=message, targets=outcome.targets).model_dump(mode="json")


def _end_unreadable(context: df.DurableOrchestrationContext, raw: object, message: str) -> Yields:
    """End the run document of an input this kiln cannot read, if it still names its run."""
    try:
        run = RunRef.model_validate(raw.get("run") if isinstance(raw, dict) else None)
    except ValueError:
        return
    update = RunStatusUpdate(
        run=run, time=iso(context.current_utc_datetime), run_state="Failed", message=message, finished=True
    )
    yield context.call_activity(UPDATE_RUN_STATUS.name, update.model_dump(mode="json"))


def _build(b: Build) -> Yields:
    flow, run, template = b.flow, b.run, b.input.template
    started = flow.report(
        run_state="Running", run_sub_state="Building", phase="resolve", message="Run started."
    )
    source = yield from _resolve(b, started)
    flow.phase = "preflight"
    report = flow.report(exact_version=source.exact_version, phase="preflight")
    pre = yield from flow.call(
        PREFLIGHT, PreflightInput(run=run, template=template, source=source, report=report)
    )
    if pre.error is not None or pre.staging is None:
        raise PhaseFailed(pre.error or PhaseError(code="PreflightFailed", message="Preflight failed."))
    vm = yield from _provision(b, source, pre.staging)
    b.outcome.vm = vm
    if not b.validate.sourceValidationOnly:
        yield from _customize(b, source, vm)
    yield from _validate(b, source, vm)
    if b.validate.sourceValidationOnly:
        return
    if b.outcome.validation_failed and not b.validate.continueDistributeOnFailure:
        return
    yield from _generalize(b, source, vm)
    flow.phase = "distribute"
    report = flow.report(run_sub_state="Distributing", phase="distribute", message="Distributing the image.")
    targets = targets_of(flow, vm, source)
    b.outcome.targets = yield from distribute(flow, targets, report, b.release)
    # Undo of a target is for a failed or cancelled run; a target that succeeded keeps its artifact.
    kept = {t.run_output_name for t in b.outcome.targets if t.succeeded}
    flow.undo = [(a, u) for a, u in flow.undo if a != UNDO_DISTRIBUTE or not _kept(u, kept)]
    flow.phase = "outputs"
    report = flow.report(phase="outputs", targets=b.outcome.targets)
    yield from flow.call(
        RECORD_OUTPUTS, RecordOutputsInput(run=run, targets=b.outcome.targets, report=report)
    )


def _kept(undo: UndoInput, kept: set[str]) -> bool:
    return undo.target is not None and undo.target.run_output_name in kept


def _resolve(b: Build, report: RunStatusUpdate) -> Yields:
    b.flow.phase = "resolve"
    out = yield from b.flow.call(
        RESOLVE_SOURCE, ResolveSourceInput(run=b.run, template=b.input.template, report=report)
    )
    if out.error is not None or out.source is None:
        raise PhaseFailed(
            out.error or PhaseError(code="BadSource", message="The source could not be resolved.")
        )
    source: ResolvedSource = out.source
    return source


def _provision(b: Build, source: ResolvedSource, staging: StagingPlan) -> Yields:
    flow, run, template = b.flow, b.run, b.input.template
    flow.phase = "staging"
    report = flow.report(
        run_sub_state="Building", phase="staging", exact_staging_resource_group=staging.resource_group
    )
    made = yield from flow.call(
        PREPARE_STAGING_GROUP, StagingInput(run=run, template=template, plan=staging, report=report)
    )
    if made.error is not None:
        raise PhaseFailed(made.error)
    flow.phase = "deploy"
    report = flow.report(phase="deploy", message="Deploying the build VM.")
    flow.push_undo(DELETE_BUILD_VM, UndoInput(run=run, staging=staging))

    def deploy(wait: Wait) -> DeployInput:
        return DeployInput(
            run=run, template=template, source=source, staging=staging, wait=wait, report=report
        )

    def seen(answer: DeployOutput) -> None:  # the VM's undo names it as soon as it is known
        if answer.vm is not None and flow.drop_undo(DELETE_BUILD_VM) is not None:
            flow.push_undo(DELETE_BUILD_VM, UndoInput(run=run, staging=staging, vm=answer.vm))

    timeout = timedelta(minutes=flow.timing.deploy_timeout_minutes)
    message = "The build VM deployment did not finish in time."
    deployed = yield from flow.wait_for(DEPLOY_BUILD_VM, deploy, timeout=timeout, message=message, seen=seen)
    if not deployed.succeeded or deployed.vm is None:
        error = deployed.error or PhaseError(
            code="DeploymentFailed", message="The build VM was not deployed."
        )
        raise PhaseFailed(error)
    vm: BuildVm = deployed.vm
    flow.phase = "artifacts"
    report = flow.report(phase="artifacts", message="Staging the scripts and files.")
    staged = yield from flow.call(
        STAGE_ARTIFACTS, ArtifactsInput(run=run, template=template, vm=vm, report=report)
    )
    if staged.error is not None:
        raise PhaseFailed(staged.error)
    return vm


def _customize(b: Build, source: ResolvedSource, vm: BuildVm) -> Yields:
    """The customizers in order, then optimize.workload when it is Enabled; a failure is a customizer's."""
    flow = b.flow
    flow.phase = "customize"
    steps = step_specs("customize", b.props.customize or [], source.os_type)
    workload = workload_step(b.props, source.os_type)
    for i, step in enumerate([*steps, *([workload] if workload else [])]):
        extra: dict[str, object] = {"run_sub_state": "Customizing", "phase": "customize"} if i == 0 else {}
        if step.phase == "optimize":
            flow.phase = "optimize"
            extra = {"run_sub_state": "Optimizing", "phase": "optimize"}
        result = yield from _run_step(b, vm, step, **extra)
        if not result.succeeded:
            b.outcome.keep_vm = b.abort_on("customizer")
            raise PhaseFailed(b.outcome.step_error(step, result, vm))


def _validate(b: Build, source: ResolvedSource, vm: BuildVm) -> Yields:
    validations = b.validate.inVMValidations or []
    if not validations:
        return
    flow = b.flow
    flow.phase = "validate"
    for i, step in enumerate(step_specs("validate", validations, source.os_type)):
        extra: dict[str, object] = {"run_sub_state": "Validating", "phase": "validate"} if i == 0 else {}
        result = yield from _run_step(b, vm, step, **extra)
        if not result.succeeded:
            error = b.outcome.step_error(step, result, vm)
            if b.validate.continueDistributeOnFailure:
                b.outcome.validation_failed = error
                return
            b.outcome.keep_vm = b.abort_on("validator")
            raise PhaseFailed(error)


def _run_step(b: Build, vm: BuildVm, step: StepSpec, **extra: object) -> Yields:
    state = StepState(phase=step.phase, index=step.index, name=step.name)
    report = b.flow.report(step=state, message=f"Running {step.describe()}.", **extra)
    outcome = yield from run_step(b.flow, vm, step, report)
    return outcome


def _generalize(b: Build, source: ResolvedSource, vm: BuildVm) -> Yields:
    flow = b.flow
    flow.phase = "generalize"
    result = yield from _run_step(
        b, vm, deprovision_step(source.os_type), run_sub_state="Distributing", phase="generalize"
    )
    if not result.succeeded:
        error = PhaseError(code="GeneralizeFailed", message="Deprovisioning failed.", phase="generalize")
        raise PhaseFailed(result.error or error)
    report = flow.report(message="Generalizing the build VM.")

    def probe(wait: Wait) -> VmProbe:
        return VmProbe(run=b.run, vm=vm, wait=wait, report=report)

    timeout = timedelta(minutes=flow.timing.generalize_timeout_minutes)
    done = yield from flow.wait_for(
        GENERALIZE_VM, probe, timeout=timeout, message="The build VM did not deallocate in time."
    )
    if not done.succeeded:
        raise PhaseFailed(
            done.error
            or PhaseError(code="GeneralizeFailed", message="Generalizing failed.", phase="generalize")
        )


def _clean_up(b: Build) -> Yields:
    """Compensation on a failure, cancel or timeout; on success, the build VM's deletion as its own phase."""
    flow, outcome = b.flow, b.outcome
    if outcome.interrupted == "Canceled":
        yield from flow.status(run_state="Canceling", message="Cancel requested: cleaning up.")
    if outcome.keep_vm:
        flow.drop_undo(DELETE_BUILD_VM)
    if not outcome.succeeded or outcome.interrupted:
        unfinished = b.release.unfinished()
        if unfinished is not None:  # its deletion began during distribution: make sure it ends, last
            flow.undo.insert(0, unfinished)
        problems: list[str] = yield from flow.compensate()
        return problems
    # What is left on the stack besides the build VM is the partial work of failed distribute targets.
    cleanup = flow.drop_undo(DELETE_BUILD_VM)  # still here when no target released the VM (serial)
    problems = yield from flow.compensate()
    if b.release.undo is not None or cleanup is not None:
        flow.phase = "cleanup"
        report = flow.report(phase="cleanup", message="Deleting the build VM.")
        problem = yield from b.release.finish(flow, cleanup, report)
        problems += [problem] if problem else []
    return problems


def _final_message(b: Build, problems: list[str]) -> str:
    if b.outcome.interrupted == "TimedOut":
        text = timeout_message(b.props.buildTimeoutInMinutes or DEFAULT_BUILD_TIMEOUT, b.flow.phase)
    elif b.outcome.interrupted == "Canceled":
        text = "The run was canceled; everything it created was cleaned up."
    else:
        text = failure_message(b.outcome)
    if problems:
        text += " Cleanup problems (the janitor retries them): " + "; ".join(problems)
    return text
