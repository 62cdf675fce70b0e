"""``build_image``: one run of an image template, in AIB's order, with compensation on every way out.

Read top to bottom it is the phase list of docs/build.md: resolve the source, preflight, staging resource
group, deploy the build VM, stage artifacts, customize, validate, generalize, distribute, record run outputs,
clean up.
The order of yields is a wire contract for runs in flight: add phases at the end of a branch, never reorder.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from orchestrators.flow import Flow, Interrupted, PhaseFailed, Steps
from orchestrators.outcome import Outcome, failure_message, step_specs, timeout_message
from shared.models.build import (
    ArtifactsInput,
    BuildInput,
    BuildVm,
    DeployInput,
    DeployOutput,
    DistributeInput,
    DistributeTarget,
    PhaseError,
    PollInput,
    PreflightInput,
    PreflightOutput,
    ResolvedSource,
    ResolveSourceInput,
    ResolveSourceOutput,
    StagingInput,
    StagingOutput,
    StagingPlan,
    StepInput,
    StepOutcome,
    TargetResult,
    UndoInput,
    workload_step,
)

DEFAULT_TIMEOUT_MINUTES = 240


def build_image(context: df.DurableOrchestrationContext) -> Steps:
    build = BuildInput.model_validate(context.get_input())
    if not build.run.expires_at:  # every phase tags what it creates with the run's expiry, for the janitor
        build = build.model_copy(
            update={"run": build.run.model_copy(update={"expires_at": build.expires_at})}
        )
    props: dict[str, Any] = build.template.get("properties", {})
    minutes = int(props.get("buildTimeoutInMinutes") or DEFAULT_TIMEOUT_MINUTES)
    flow = Flow(context, build, minutes * build.timing.timeout_scale)
    outcome = Outcome()
    yield from flow.status(
        run_state="Running", run_sub_state="Queued", phase="resolve", message="Run started."
    )
    try:
        yield from _build(flow, build, props, outcome)
    except PhaseFailed as failed:
        outcome.fail(failed.error)
    except Interrupted as interrupted:
        outcome.interrupted = interrupted.reason
    except Exception as exc:  # an activity that kept failing after its retries
        outcome.fail(PhaseError(code="InternalError", message=str(exc).split("\n")[0], phase=flow.phase))
    if outcome.interrupted == "Canceled":
        yield from flow.status(run_state="Canceling", message="Cancel requested: cleaning up.")
    if outcome.keep_vm:
        flow.drop_undo("cleanup_build_vm")
    problems: list[str] = []
    if not outcome.succeeded or outcome.interrupted:
        problems = yield from flow.compensate()
    else:
        # What is left on the stack besides the build VM is the partial work of failed distribute targets.
        cleanup = flow.drop_undo("cleanup_build_vm")
        problems = yield from flow.compensate()
        if cleanup is not None:
            flow.phase = "cleanup"
            yield from flow.run_undo(*cleanup)
    flow.finish()
    final = outcome.final_state()
    message = _final_message(flow, outcome, props, problems)
    yield from flow.status(
        run_state=final,
        message=message,
        finished=True,
        targets=outcome.targets or None,
        phase=flow.phase,
        kept_vm=outcome.vm if outcome.keep_vm else None,
    )
    return {
        "runState": final,
        "message": message,
        "targets": [t.model_dump(mode="json") for t in outcome.targets],
    }


def _final_message(flow: Flow, outcome: Outcome, props: dict[str, Any], problems: list[str]) -> str:
    if outcome.interrupted == "TimedOut":
        text = timeout_message(int(props.get("buildTimeoutInMinutes") or DEFAULT_TIMEOUT_MINUTES), flow.phase)
    elif outcome.interrupted == "Canceled":
        text = "The run was canceled; everything it created was cleaned up."
    else:
        text = failure_message(outcome)
    if problems:
        text += " Cleanup problems (the janitor retries them): " + "; ".join(problems)
    return text


def _build(flow: Flow, build: BuildInput, props: dict[str, Any], outcome: Outcome) -> Steps:
    run, template = build.run, build.template
    source = yield from _resolve(flow, ResolveSourceInput(run=run, template=template))
    yield from flow.status(exact_version=source.exact_version, phase="preflight")
    flow.phase = "preflight"
    pre = PreflightOutput.model_validate(
        (
            yield from flow.call(
                "preflight", PreflightInput(run=run, template=template, source=source).model_dump()
            )
        )
    )
    if pre.error is not None or pre.staging is None:
        raise PhaseFailed(pre.error or PhaseError(code="PreflightFailed", message="Preflight failed."))
    staging = pre.staging
    vm = yield from _provision(flow, build, source, staging)
    outcome.vm = vm
    yield from _customize_and_validate(flow, build, props, source, vm, outcome)
    if props.get("validate", {}).get("sourceValidationOnly"):
        return
    if outcome.validation_failed and not props.get("validate", {}).get("continueDistributeOnFailure"):
        return
    yield from _generalize(flow, build, source, vm)
    yield from _distribute(flow, build, props, source, vm, outcome)
    flow.phase = "outputs"
    payload = {"run": run.model_dump(), "targets": [t.model_dump(mode="json") for t in outcome.targets]}
    yield from flow.call("record_outputs", payload)


def _resolve(flow: Flow, inp: ResolveSourceInput) -> Steps:
    flow.phase = "resolve"
    out = ResolveSourceOutput.model_validate((yield from flow.call("resolve_source", inp.model_dump())))
    if out.error is not None or out.source is None:
        raise PhaseFailed(
            out.error or PhaseError(code="BadSource", message="The source could not be resolved.")
        )
    return out.source


def _provision(flow: Flow, build: BuildInput, source: ResolvedSource, staging: StagingPlan) -> Steps:
    run, template = build.run, build.template
    flow.phase = "staging"
    yield from flow.status(
        run_sub_state="Building", phase="staging", exact_staging_resource_group=staging.resource_group
    )
    made = StagingOutput.model_validate(
        (
            yield from flow.call(
                "prepare_staging_group", StagingInput(run=run, template=template, plan=staging).model_dump()
            )
        )
    )
    if made.error is not None:
        raise PhaseFailed(made.error)
    flow.phase = "deploy"
    yield from flow.status(phase="deploy", message="Deploying the build VM.")
    flow.push_undo("cleanup_build_vm", UndoInput(run=run, staging=staging).model_dump(mode="json"))
    deployed = DeployOutput.model_validate(
        (
            yield from flow.call(
                "deploy_build_vm",
                DeployInput(run=run, template=template, source=source, staging=staging).model_dump(),
            )
        )
    )
    if deployed.error is not None or deployed.vm is None:
        raise PhaseFailed(
            deployed.error or PhaseError(code="DeploymentFailed", message="The build VM was not deployed.")
        )
    vm = deployed.vm
    flow.drop_undo("cleanup_build_vm")
    flow.push_undo("cleanup_build_vm", UndoInput(run=run, staging=staging, vm=vm).model_dump(mode="json"))
    probe = PollInput(run=run, vm=vm, key=vm.deployment_name).model_dump(mode="json")
    yield from flow.poll_until(
        "check_deployment",
        probe,
        timeout=timedelta(minutes=flow.timing.deploy_timeout_minutes),
        message="The build VM deployment did not finish in time.",
        code="DeploymentFailed",
    )
    flow.phase = "artifacts"
    staged = yield from flow.call(
        "stage_artifacts", ArtifactsInput(run=run, template=template, vm=vm).model_dump()
    )
    if staged.get("error"):
        raise PhaseFailed(PhaseError.model_validate(staged["error"]))
    return vm


def _customize_and_validate(
    flow: Flow,
    build: BuildInput,
    props: dict[str, Any],
    source: ResolvedSource,
    vm: BuildVm,
    outcome: Outcome,
) -> Steps:
    validate = props.get("validate") or {}
    if not validate.get("sourceValidationOnly"):
        yield from _customize(flow, build, props, source, vm, outcome)
    yield from _validate(flow, build, validate, source, vm, outcome, props)


def _customize(
    flow: Flow,
    build: BuildInput,
    props: dict[str, Any],
    source: ResolvedSource,
    vm: BuildVm,
    outcome: Outcome,
) -> Steps:
    """The customizers in order, then optimize.workload when it is Enabled; a failure is a customizer's."""
    flow.phase = "customize"
    yield from flow.status(run_sub_state="Customizing", phase="customize")
    steps = step_specs("customize", props.get("customize") or [], source.os_type)
    workload = workload_step(props, source.os_type)
    for step in [*steps, *([workload] if workload else [])]:
        if step.phase == "optimize":
            flow.phase = "optimize"
            yield from flow.status(run_sub_state="Optimizing", phase="optimize")
        result = yield from _run_step(flow, build, vm, step)
        if not result.succeeded:
            outcome.keep_vm = _abort(props, "onCustomizerError")
            raise PhaseFailed(outcome.step_error(step, result, vm))


def _validate(
    flow: Flow,
    build: BuildInput,
    validate: dict[str, Any],
    source: ResolvedSource,
    vm: BuildVm,
    outcome: Outcome,
    props: dict[str, Any],
) -> Steps:
    validations = validate.get("inVMValidations") or []
    if not validations:
        return
    flow.phase = "validate"
    yield from flow.status(run_sub_state="Validating", phase="validate")
    for step in step_specs("validate", validations, source.os_type):
        result = yield from _run_step(flow, build, vm, step)
        if not result.succeeded:
            error = outcome.step_error(step, result, vm)
            if validate.get("continueDistributeOnFailure"):
                outcome.validation_failed = error
                return
            outcome.keep_vm = _abort(props, "onValidationError")
            raise PhaseFailed(error)


def _abort(props: dict[str, Any], field: str) -> bool:
    return str((props.get("errorHandling") or {}).get(field, "cleanup")).lower() == "abort"


def _run_step(flow: Flow, build: BuildInput, vm: BuildVm, step: Any) -> Steps:
    yield from flow.status(
        step={"phase": step.phase, "index": step.index, "name": step.name, "state": "Running"}
    )
    payload = {
        "step": StepInput(run=build.run, vm=vm, step=step).model_dump(mode="json"),
        "timing": flow.timing.model_dump(mode="json"),
    }
    raw = yield from flow.race(flow.ctx.call_sub_orchestrator("run_step", payload))
    return StepOutcome.model_validate(raw)


def _generalize(flow: Flow, build: BuildInput, source: ResolvedSource, vm: BuildVm) -> Steps:
    flow.phase = "generalize"
    yield from flow.status(
        run_sub_state="Distributing", phase="generalize", message="Generalizing the build VM."
    )
    (deprovision,) = step_specs("generalize", [{"type": "Deprovision"}], source.os_type)
    result = yield from _run_step(flow, build, vm, deprovision)
    if not result.succeeded:
        raise PhaseFailed(
            result.error
            or PhaseError(code="GeneralizeFailed", message="Deprovisioning failed.", phase="generalize")
        )
    probe = PollInput(run=build.run, vm=vm, key=vm.vm_name).model_dump(mode="json")
    yield from flow.call("deallocate_vm", probe)
    yield from flow.poll_until(
        "check_vm_deallocated",
        probe,
        timeout=timedelta(minutes=30),
        message="The build VM did not deallocate in time.",
        code="GeneralizeFailed",
    )
    generalized = yield from flow.call("generalize_vm", probe)
    if generalized.get("error"):
        raise PhaseFailed(PhaseError.model_validate(generalized["error"]))


def _distribute(
    flow: Flow,
    build: BuildInput,
    props: dict[str, Any],
    source: ResolvedSource,
    vm: BuildVm,
    outcome: Outcome,
) -> Steps:
    flow.phase = "distribute"
    yield from flow.status(run_sub_state="Distributing", phase="distribute")
    tags = dict(build.template.get("tags") or {})
    serial = build.distribution == "serial"
    results: list[Any] = []
    tasks = []
    for index, spec in enumerate(props.get("distribute") or []):
        target = DistributeTarget(
            index=index, type=spec["type"], run_output_name=spec["runOutputName"], spec=spec
        )
        inp = DistributeInput(run=build.run, vm=vm, source=source, target=target, template_tags=tags)
        undo = UndoInput(run=build.run, vm=vm, target=target)
        flow.push_undo("undo_distribute", undo.model_dump(mode="json"))
        payload = {
            "input": inp.model_dump(mode="json"),
            "timing": flow.timing.model_dump(mode="json"),
            "serial": serial,
        }
        task = flow.ctx.call_sub_orchestrator("distribute_target", payload)
        if serial:  # the baseline bench/build.py compares against: one target after another
            results.append((yield from flow.race(task)))
        else:
            tasks.append(task)
    if not serial:
        results = yield from flow.race(flow.ctx.task_all(tasks))
    outcome.targets = [TargetResult.model_validate(r) for r in results]
    # Undo of a target is for a failed or cancelled run; a target that succeeded keeps its artifact.
    succeeded = {t.run_output_name for t in outcome.targets if t.succeeded}
    flow.undo = [
        (name, payload)
        for name, payload in flow.undo
        if name != "undo_distribute" or payload["target"]["run_output_name"] not in succeeded
    ]
    yield from flow.status(targets=outcome.targets)
