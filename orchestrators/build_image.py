"""``build_image``: one run of an image template, in AIB's order, with compensation on every way out.

Read top to bottom it is the phase list of docs/build.md: resolve the source, preflight, staging resource
group, deploy the build VM, stage artifacts, customize, validate, generalize, distribute, record run outputs,
clean up. The order of yields is a wire contract for runs in flight: add phases at the end of a branch, never
reorder; a change of the input's shape raises ``BUILD_SCHEMA`` (an older input is then ended, not replayed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import azure.durable_functions as df

from orchestrators.flow import Flow, Interrupted
from orchestrators.outcome import Outcome, deprovision_step, failure_message, step_specs, timeout_message
from orchestrators.poll import Yields, iso
from shared.models import TemplateProperties, Validate
from shared.models.build import (
    BUILD_SCHEMA,
    BuildInput,
    BuildResult,
    BuildVm,
    DistributeTarget,
    PhaseError,
    PhaseFailed,
    ResolvedSource,
    RunRef,
    RunStatusUpdate,
    StagingPlan,
    StepSpec,
    StepState,
    TargetResult,
    workload_step,
)
from shared.models.durable import (
    CHECK_DEPLOYMENT,
    CHECK_VM_DEALLOCATED,
    DEALLOCATE_VM,
    DELETE_BUILD_VM,
    DEPLOY_BUILD_VM,
    DISTRIBUTE_TARGET,
    GENERALIZE_VM,
    PREFLIGHT,
    PREPARE_STAGING_GROUP,
    RECORD_OUTPUTS,
    RESOLVE_SOURCE,
    RUN_STEP,
    STAGE_ARTIFACTS,
    UNDO_DISTRIBUTE,
    UPDATE_RUN_STATUS,
    ArtifactsInput,
    DeployInput,
    DistributeInput,
    DistributeTargetInput,
    PreflightInput,
    RecordOutputsInput,
    ResolveSourceInput,
    RunStepInput,
    StagingInput,
    StepInput,
    UndoInput,
    VmProbe,
)
from shared.models.template import DEFAULT_BUILD_TIMEOUT


@dataclass
class Build:
    """One run as the orchestration goes: its flow, its input, and what it has learnt so far."""

    flow: Flow
    input: BuildInput
    outcome: Outcome = field(default_factory=Outcome)

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
    yield from flow.status(
        run_state="Running", run_sub_state="Queued", phase="resolve", message="Run started."
    )
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


def _clean_up(b: Build) -> Yields:
    """Compensation on a failure, cancel or timeout; on success, the build VM's deletion as its own phase."""
    flow, outcome = b.flow, b.outcome
    if outcome.interrupted == "Canceled":
        yield from flow.status(run_state="Canceling", message="Cancel requested: cleaning up.")
    if outcome.keep_vm:
        flow.drop_undo(DELETE_BUILD_VM)
    if not outcome.succeeded or outcome.interrupted:
        problems: list[str] = yield from flow.compensate()
        return problems
    # What is left on the stack besides the build VM is the partial work of failed distribute targets.
    cleanup = flow.drop_undo(DELETE_BUILD_VM)
    problems = yield from flow.compensate()
    if cleanup is not None:
        flow.phase = "cleanup"
        yield from flow.run_undo(*cleanup)
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


def _build(b: Build) -> Yields:
    flow, run, template = b.flow, b.input.run, b.input.template
    source = yield from _resolve(b)
    flow.phase = "preflight"
    yield from flow.status(exact_version=source.exact_version, phase="preflight")
    pre = yield from flow.call(PREFLIGHT, PreflightInput(run=run, template=template, source=source))
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
    yield from _distribute(b, source, vm)
    flow.phase = "outputs"
    yield from flow.call(RECORD_OUTPUTS, RecordOutputsInput(run=run, targets=b.outcome.targets))


def _resolve(b: Build) -> Yields:
    b.flow.phase = "resolve"
    out = yield from b.flow.call(
        RESOLVE_SOURCE, ResolveSourceInput(run=b.input.run, template=b.input.template)
    )
    if out.error is not None or out.source is None:
        raise PhaseFailed(
            out.error or PhaseError(code="BadSource", message="The source could not be resolved.")
        )
    source: ResolvedSource = out.source
    return source


def _provision(b: Build, source: ResolvedSource, staging: StagingPlan) -> Yields:
    flow, run, template = b.flow, b.input.run, b.input.template
    flow.phase = "staging"
    yield from flow.status(
        run_sub_state="Building", phase="staging", exact_staging_resource_group=staging.resource_group
    )
    made = yield from flow.call(PREPARE_STAGING_GROUP, StagingInput(run=run, template=template, plan=staging))
    if made.error is not None:
        raise PhaseFailed(made.error)
    flow.phase = "deploy"
    yield from flow.status(phase="deploy", message="Deploying the build VM.")
    flow.push_undo(DELETE_BUILD_VM, UndoInput(run=run, staging=staging))
    deploy = DeployInput(run=run, template=template, source=source, staging=staging)
    deployed = yield from flow.call(DEPLOY_BUILD_VM, deploy)
    if deployed.error is not None or deployed.vm is None:
        error = PhaseError(code="DeploymentFailed", message="The build VM was not deployed.")
        raise PhaseFailed(deployed.error or error)
    vm: BuildVm = deployed.vm
    flow.drop_undo(DELETE_BUILD_VM)
    flow.push_undo(DELETE_BUILD_VM, UndoInput(run=run, staging=staging, vm=vm))
    yield from flow.poll_until(
        CHECK_DEPLOYMENT,
        VmProbe(run=run, vm=vm),
        timeout=timedelta(minutes=flow.timing.deploy_timeout_minutes),
        message="The build VM deployment did not finish in time.",
        code="DeploymentFailed",
    )
    flow.phase = "artifacts"
    staged = yield from flow.call(STAGE_ARTIFACTS, ArtifactsInput(run=run, template=template, vm=vm))
    if staged.error is not None:
        raise PhaseFailed(staged.error)
    return vm


def _customize(b: Build, source: ResolvedSource, vm: BuildVm) -> Yields:
    """The customizers in order, then optimize.workload when it is Enabled; a failure is a customizer's."""
    flow = b.flow
    flow.phase = "customize"
    yield from flow.status(run_sub_state="Customizing", phase="customize")
    steps = step_specs("customize", b.props.customize or [], source.os_type)
    workload = workload_step(b.props, source.os_type)
    for step in [*steps, *([workload] if workload else [])]:
        if step.phase == "optimize":
            flow.phase = "optimize"
            yield from flow.status(run_sub_state="Optimizing", phase="optimize")
        result = yield from _run_step(b, vm, step)
        if not result.succeeded:
            b.outcome.keep_vm = b.abort_on("customizer")
            raise PhaseFailed(b.outcome.step_error(step, result, vm))


def _validate(b: Build, source: ResolvedSource, vm: BuildVm) -> Yields:
    validations = b.validate.inVMValidations or []
    if not validations:
        return
    flow = b.flow
    flow.phase = "validate"
    yield from flow.status(run_sub_state="Validating", phase="validate")
    for step in step_specs("validate", validations, source.os_type):
        result = yield from _run_step(b, vm, step)
        if not result.succeeded:
            error = b.outcome.step_error(step, result, vm)
            if b.validate.continueDistributeOnFailure:
                b.outcome.validation_failed = error
                return
            b.outcome.keep_vm = b.abort_on("validator")
            raise PhaseFailed(error)


def _run_step(b: Build, vm: BuildVm, step: StepSpec) -> Yields:
    flow = b.flow
    yield from flow.status(step=StepState(phase=step.phase, index=step.index, name=step.name))
    inp = RunStepInput(step=StepInput(run=b.input.run, vm=vm, step=step), timing=flow.timing)
    raw = yield from flow.race(flow.sub(RUN_STEP, inp))
    return RUN_STEP.output.model_validate(raw)


def _generalize(b: Build, source: ResolvedSource, vm: BuildVm) -> Yields:
    flow = b.flow
    flow.phase = "generalize"
    yield from flow.status(
        run_sub_state="Distributing", phase="generalize", message="Generalizing the build VM."
    )
    result = yield from _run_step(b, vm, deprovision_step(source.os_type))
    if not result.succeeded:
        error = PhaseError(code="GeneralizeFailed", message="Deprovisioning failed.", phase="generalize")
        raise PhaseFailed(result.error or error)
    probe = VmProbe(run=b.input.run, vm=vm)
    yield from flow.call(DEALLOCATE_VM, probe)
    yield from flow.poll_until(
        CHECK_VM_DEALLOCATED,
        probe,
        timeout=timedelta(minutes=30),
        message="The build VM did not deallocate in time.",
        code="GeneralizeFailed",
    )
    generalized = yield from flow.call(GENERALIZE_VM, probe)
    if generalized.error is not None:
        raise PhaseFailed(generalized.error)


def _distribute(b: Build, source: ResolvedSource, vm: BuildVm) -> Yields:
    flow, run = b.flow, b.input.run
    flow.phase = "distribute"
    yield from flow.status(run_sub_state="Distributing", phase="distribute")
    tags = dict(b.input.template.tags or {})
    serial = b.input.distribution == "serial"
    results: list[TargetResult] = []
    tasks = []
    for index, spec in enumerate(b.props.distribute):
        target = DistributeTarget(index=index, type=spec.type, run_output_name=spec.runOutputName, spec=spec)
        if serial and spec.type == "SharedImage":
            target = target.model_copy(update={"region_limit": 1})
        inp = DistributeInput(run=run, vm=vm, source=source, target=target, template_tags=tags)
        flow.push_undo(UNDO_DISTRIBUTE, UndoInput(run=run, vm=vm, target=target))
        task = flow.sub(
            DISTRIBUTE_TARGET, DistributeTargetInput(target=inp, timing=flow.timing, serial=serial)
        )
        if serial:  # the baseline bench/build.py compares against: one target after another
            results.append(DISTRIBUTE_TARGET.output.model_validate((yield from flow.race(task))))
        else:
            tasks.append(task)
    if not serial:
        results = [
            DISTRIBUTE_TARGET.output.model_validate(r)
            for r in (yield from flow.race(flow.ctx.task_all(tasks)))
        ]
    b.outcome.targets = results
    # Undo of a target is for a failed or cancelled run; a target that succeeded keeps its artifact.
    succeeded = {t.run_output_name for t in results if t.succeeded}
    flow.undo = [
        (activity, undo)
        for activity, undo in flow.undo
        if activity != UNDO_DISTRIBUTE or undo.target is None or undo.target.run_output_name not in succeeded
    ]
    yield from flow.status(targets=results)
