"""Phases 6-8, steps on the build VM through managed Run Command: start one, then follow it until it ends.

One Run Command per step and attempt (a Windows Update round, a restart check), named from the run id, so a
retried ``run_step`` finds it and never PUTs (runs) it twice. Its stdout/stderr stream into append blobs; once
it has ended, ``check`` appends them to ``customization.log`` and decides success (exit code within
``validExitCodes``).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import SecretStr

from activities.support import scripts, steplog, waiting
from activities.support.context import StepStarted, fail, guard, poll_failed
from shared import naming
from shared.errors import AzureNotFound
from shared.models import (
    FileCustomizer,
    PowerShellCustomizer,
    ShellCustomizer,
    WindowsRestartCustomizer,
    WindowsUpdateCustomizer,
)
from shared.models.azure import RunCommandSpec
from shared.models.build import PhaseError, PhaseFailed, StepOutcome, StepSpec
from shared.models.durable import StepChecked, StepInput
from shared.ports import Blobs, BuildPorts

STEP_TIMEOUT_SECONDS = 16 * 3600  # the build timeout (at most 16 h) is what really bounds a step
# The VM downloads a staged artifact as the step starts: its read-only SAS is short-lived (docs/build.md).
FETCH_SAS_SECONDS = 3600
_FAILED_CODES = {
    "customize": "CustomizerFailed",
    "optimize": "OptimizationFailed",
    "validate": "ValidationFailed",
    "generalize": "GeneralizeFailed",
}
_PATHS = {"customize": "properties.customize", "validate": "properties.validate.inVMValidations"}
_SINGLE_PATHS = {"optimize": "properties.optimize.workload"}  # one step, not a list


def command_name(inp: StepInput) -> str:
    """The Run Command of this step and attempt."""
    return naming.run_command_name(inp.run.run_id, inp.step.phase, inp.step.index, inp.attempt)


def _staged(inp: StepInput, blobs: Blobs) -> scripts.Fetch:
    """The staged artifact as the VM fetches it: a read-only SAS URL of its blob and its verified sha256."""
    run, phase, index = inp.run.run_id, inp.step.phase, inp.step.index
    blob = naming.artifact_blob(run, phase, index)
    with guard(phase, blob):
        checksum = blobs.download(
            container=naming.ARTIFACT_CONTAINER, name=naming.artifact_checksum_blob(run, phase, index)
        )
        url = blobs.readable_url(
            container=naming.ARTIFACT_CONTAINER, name=blob, valid_seconds=FETCH_SAS_SECONDS
        )
    return scripts.Fetch(url=url, sha256=checksum.decode().strip())


def render(inp: StepInput, blobs: Blobs) -> str:
    """The command text of the step: inline lines inside it, a staged script or file fetched by the VM.

    PowerShell runs as AIB runs it: as the admin user, not elevated by default or elevated with
    ``runElevated``; as LocalSystem with ``runAsSystem`` (``scripts.powershell_as_user``)."""
    step, spec = inp.step, inp.step.spec
    label = f"{step.describe()} attempt {inp.attempt}"
    windows = step.os_type == "Windows"
    if isinstance(spec, ShellCustomizer):
        content = scripts.inline_shell(spec.inline) if spec.inline else _staged(inp, blobs)
        return scripts.shell_script(label, content)
    if isinstance(spec, PowerShellCustomizer):
        content = scripts.inline_powershell(spec.inline) if spec.inline else _staged(inp, blobs)
        if spec.runAsSystem:
            return scripts.powershell_script(label, content)
        return scripts.powershell_as_user(
            label, content, user=naming.ADMIN_USERNAME, elevated=spec.runElevated
        )
    if isinstance(spec, FileCustomizer):
        destination = spec.destination or ""
        if not windows and not destination.startswith("/tmp/"):
            raise fail(
                step.phase,
                "InvalidDestination",
                f"{step.describe()}: on Linux only /tmp is writable by a File step; got '{destination}'",
                target=f"{_PATHS.get(step.phase, step.phase)}[{step.index}].destination",
            )
        return scripts.file_script(label, _staged(inp, blobs), destination, windows=windows)
    if isinstance(spec, WindowsRestartCustomizer):
        return scripts.restart_check_script(label, spec.restartCheckCommand)
    if isinstance(spec, WindowsUpdateCustomizer):
        limit = spec.updateLimit or 1000
        return scripts.windows_update_script(label, spec.searchCriteria, spec.filters, limit)
    return scripts.deprovision_script(windows=windows)


async def run(inp: StepInput, *, ports: BuildPorts) -> StepChecked:
    """Start the step's Run Command (once: a repeated call finds it), then follow it until it ends or
    ``inp.wait.until``; once ended, its output is in customization.log and the answer holds its outcome."""
    started = await waiting.call(lambda: _started(inp, ports))
    if started.error is not None:
        return started
    live = live_log(inp)  # one per call: its looks share how far the output was copied
    return await waiting.wait_until_done(lambda: check(inp, ports=ports, live=live), inp.wait)


def _started(inp: StepInput, ports: BuildPorts) -> StepChecked:
    begun = start(inp, ports=ports)
    if begun.error is not None:
        return StepChecked(done=True, state="Failed", error=begun.error)
    return StepChecked(done=False)


def start(inp: StepInput, *, ports: BuildPorts) -> StepStarted:
    """Start the step's Run Command, its output going to append blobs in the staging account."""
    name = command_name(inp)
    try:
        blobs, url = steplog.staging(inp.vm, ports)
        with guard(inp.step.phase, name):
            if _exists(inp, name, ports):
                return StepStarted(command_name=name)  # a retried start: never PUT (and run) it twice
            blobs.ensure_container(container=naming.LOG_CONTAINER)
            script = render(inp, blobs)
            valid = STEP_TIMEOUT_SECONDS + steplog.SAS_MARGIN_SECONDS
            secrets = _protected(inp, ports)
            spec = RunCommandSpec(
                script=script,
                output_blob_uri=steplog.writable_blob(blobs, url, _output(inp, "stdout"), valid),
                error_blob_uri=steplog.writable_blob(blobs, url, _output(inp, "stderr"), valid),
                timeout_seconds=STEP_TIMEOUT_SECONDS,
                location=inp.run.location,
                protected_parameters=secrets,
            )
            ports.run_commands.begin_create(
                resource_group=inp.vm.resource_group, vm_name=inp.vm.vm_name, name=name, spec=spec
            )
        return StepStarted(command_name=name)
    except PhaseFailed as e:
        return StepStarted(command_name=name, error=e.error)


def _protected(inp: StepInput, ports: BuildPorts) -> dict[str, SecretStr]:
    """The admin user's password, read from Key Vault here and handed only to the Run Command PUT (a
    protected parameter: never in the body, the history or a log), for a step that runs as that user."""
    spec = inp.step.spec
    if not isinstance(spec, PowerShellCustomizer) or spec.runAsSystem:
        return {}
    if not inp.vm.admin_secret_name:
        raise fail(
            inp.step.phase,
            "AdminPasswordMissing",
            f"{inp.step.describe()} runs as the build VM's admin user, but the build VM has no admin "
            "password in Key Vault.",
        )
    password = ports.secrets.get(name=inp.vm.admin_secret_name)
    return {scripts.PASSWORD_PARAMETER: SecretStr(password)}


def _exists(inp: StepInput, name: str, ports: BuildPorts) -> bool:
    try:
        ports.run_commands.get(resource_group=inp.vm.resource_group, vm_name=inp.vm.vm_name, name=name)
    except AzureNotFound:
        return False
    return True


def _output(inp: StepInput, stream: str) -> str:
    return naming.step_output_blob(inp.run.run_id, inp.step.phase, inp.step.index, inp.attempt, stream)


def _marker(inp: StepInput) -> str:
    return f"{inp.run.run_id}/steps/{command_name(inp)}.outcome.json"


def live_log(inp: StepInput) -> steplog.LiveLog:
    return steplog.LiveLog(marker=f"{inp.run.run_id}/steps/{command_name(inp)}.copied")


def check(inp: StepInput, *, ports: BuildPorts, live: steplog.LiveLog | None = None) -> StepChecked:
    """Poll the step (its output copied into the log as it comes); once finished, log the rest and answer
    with its ``StepOutcome``."""
    name = command_name(inp)
    live = live or live_log(inp)
    blobs, _ = steplog.staging(inp.vm, ports)
    try:
        with guard(inp.step.phase, name):
            # Only this call records the outcome once it has started looking: its first look asks.
            recorded = None if live.unrecorded else _recorded(inp, blobs)
            if recorded is not None:
                return recorded
            live.unrecorded = True
            state = ports.run_commands.get(
                resource_group=inp.vm.resource_group, vm_name=inp.vm.vm_name, name=name
            )
            if not state.terminal:
                running = f"{inp.step.describe()} attempt {inp.attempt}: running"
                steplog.copy_live(blobs, inp.run.run_id, _output(inp, "stdout"), live, running)
                return StepChecked(done=False, state=state.execution_state)
            stdout, stderr = (
                steplog.read_text(blobs, _output(inp, "stdout")),
                steplog.read_text(blobs, _output(inp, "stderr")),
            )
            ended = f"{state.execution_state}, exit code {state.exit_code}"
            header = f"{inp.step.describe()} attempt {inp.attempt}: {ended}"
            copied = live.copied(blobs)
            tail = steplog.append_step(blobs, inp.run.run_id, header, stdout, stderr, copied=copied)
            outcome = judge(inp.step, state.execution_state, state.exit_code, stdout, tail)
            result = StepChecked(
                done=True,
                succeeded=outcome.succeeded,
                state=state.execution_state,
                outcome=outcome,
                error=outcome.error,
            )
            blobs.upload(
                container=naming.LOG_CONTAINER, name=_marker(inp), data=result.model_dump_json().encode()
            )
            ports.run_commands.begin_delete(
                resource_group=inp.vm.resource_group, vm_name=inp.vm.vm_name, name=name
            )
            return result
    except PhaseFailed as e:
        gone = poll_failed(e, f"The Run Command '{name}' of {inp.step.describe()}")
        return StepChecked(**gone.model_dump())


def _recorded(inp: StepInput, blobs: Blobs) -> StepChecked | None:
    try:
        data = blobs.download(container=naming.LOG_CONTAINER, name=_marker(inp))
    except AzureNotFound:
        return None
    return StepChecked.model_validate(json.loads(data))


def judge(
    step: StepSpec, execution_state: str, exit_code: int | None, stdout: str, tail: list[str]
) -> StepOutcome:
    """Decide whether a finished step succeeded: its exit code within ``validExitCodes`` (default ``[0]``)."""
    valid = list(step.spec.validExitCodes or [0]) if isinstance(step.spec, PowerShellCustomizer) else [0]
    extra: dict[str, Any] = {}
    succeeded = (
        exit_code is not None and exit_code in valid and execution_state not in ("TimedOut", "Canceled")
    )
    if step.kind == "WindowsUpdate" and succeeded:
        parsed = scripts.parse_update_line(stdout)
        if parsed is None:
            succeeded = False
        else:
            installed, remaining, reboot = parsed
            extra = {"updates_installed": installed, "updates_remaining": remaining, "needs_restart": reboot}
    error = None if succeeded else _step_error(step, execution_state, exit_code, valid, tail)
    return StepOutcome(succeeded=succeeded, exit_code=exit_code, log_tail=tail, error=error, **extra)


def _step_error(
    step: StepSpec, execution_state: str, exit_code: int | None, valid: list[int], tail: list[str]
) -> PhaseError:
    if execution_state in ("TimedOut", "Canceled"):
        why = f"ended {execution_state}"
    elif step.kind == "WindowsUpdate" and exit_code in valid:
        why = "did not report its result line (KILN-WU ...)"
    else:
        why = f"failed with exit code {exit_code} (valid exit codes: {valid})"
    last = "\n".join(tail)
    return PhaseError(
        code=_FAILED_CODES[step.phase],
        message=f"{step.describe()} {why}. Last log lines:\n{last}",
        phase=step.phase,
        target=f"{_PATHS[step.phase]}[{step.index}]"
        if step.phase in _PATHS
        else _SINGLE_PATHS.get(step.phase, step.phase),
        details=[{"index": step.index, "name": step.name, "exitCode": exit_code, "state": execution_state}],
    )
