"""One customizer, validator or generalize step on the build VM, inside ``build_image``.

A step is a Run Command that ``run_step`` starts and follows until it ends. WindowsRestart restarts the VM
(``restart_vm``: Azure's restart or the template's ``restartCommand``), waits within ``restartTimeout``
until it has really restarted (a mark set before is gone, its agent ready) and runs
``restartCheckCommand``; WindowsUpdate runs rounds (search, install, restart) until no update remains or
``updateLimit`` is reached. A step's outcome — exit code, success, last log
lines — is returned, never raised.
"""

from __future__ import annotations

from datetime import timedelta

from orchestrators.flow import Flow, Yields
from shared.models import WindowsRestartCustomizer, WindowsUpdateCustomizer
from shared.models.build import BuildVm, PhaseError, PhaseFailed, RunStatusUpdate, StepOutcome, StepSpec
from shared.models.customizers import DEFAULT_RESTART_TIMEOUT
from shared.models.durable import RESTART_VM, RUN_STEP, Polled, RestartInput, StepInput, Wait
from shared.models.fields import duration_seconds


def restart_timeout(text: str | None) -> timedelta:
    """AIB's ``restartTimeout``, a Go duration such as ``5m`` or ``1h30m`` (validated at PUT; default 5m)."""
    try:
        return timedelta(seconds=duration_seconds(text or DEFAULT_RESTART_TIMEOUT))
    except ValueError:
        return timedelta(seconds=duration_seconds(DEFAULT_RESTART_TIMEOUT))


def run_step(flow: Flow, vm: BuildVm, step: StepSpec, report: RunStatusUpdate) -> Yields:
    """Run ``step`` to its end; ``report`` (the step running) is recorded when it starts."""
    if isinstance(step.spec, WindowsRestartCustomizer):
        outcome = yield from _windows_restart(flow, vm, step, step.spec, report)
    elif isinstance(step.spec, WindowsUpdateCustomizer):
        outcome = yield from _windows_update(flow, vm, step, step.spec, report)
    else:
        outcome = yield from _command(
            flow, vm, step, 0, report, timedelta(minutes=flow.timing.step_timeout_minutes)
        )
    return outcome


def _command(
    flow: Flow, vm: BuildVm, step: StepSpec, attempt: int, report: RunStatusUpdate | None, timeout: timedelta
) -> Yields:
    """The step's Run Command for ``attempt``, followed until it ends (or ``timeout``)."""
    run = flow.build.run

    def make(wait: Wait) -> StepInput:
        wait = wait.model_copy(update={"max_poll_seconds": flow.timing.step_wait_poll_seconds})
        return StepInput(run=run, vm=vm, step=step, attempt=attempt, wait=wait, report=report)

    try:
        checked = yield from flow.wait_for(
            RUN_STEP, make, timeout=timeout, message=f"{step.describe()} did not finish in time."
        )
    except PhaseFailed as failed:
        return StepOutcome(succeeded=False, error=failed.error)
    if checked.outcome is None:
        error = checked.error or PhaseError(code="StepFailed", message=f"{step.describe()} failed.")
        return StepOutcome(succeeded=False, error=error)
    outcome: StepOutcome = checked.outcome
    return outcome


def _restart(
    flow: Flow, vm: BuildVm, step: StepSpec, attempt: int, limit: str, report: RunStatusUpdate | None
) -> Yields:
    """Restart the VM and wait for its agent; an error outcome when it does not come back in time."""
    run, first = flow.build.run, [True]

    def make(wait: Wait) -> RestartInput:
        begin, first[0] = first[0], False
        wait = wait.model_copy(update={"max_poll_seconds": flow.timing.step_wait_poll_seconds})
        return RestartInput(run=run, vm=vm, step=step, attempt=attempt, wait=wait, report=report, begin=begin)

    last = [""]

    def seen(answer: Polled) -> None:
        last[0] = answer.state

    why = f"{step.describe()}: the VM did not restart and come back within restartTimeout ({limit})"
    try:
        ready = yield from flow.wait_for(
            RESTART_VM, make, timeout=restart_timeout(limit), message=f"{why}.", seen=seen
        )
    except PhaseFailed as failed:
        seen_last = f"; last seen: {last[0]}" if last[0] else ""
        return StepOutcome(
            succeeded=False, error=failed.error.model_copy(update={"message": f"{why}{seen_last}."})
        )
    if not ready.succeeded:
        error = ready.error or PhaseError(code="RestartFailed", message=f"{step.describe()}: restart failed.")
        return StepOutcome(succeeded=False, error=error)
    return StepOutcome(succeeded=True)


def _windows_restart(
    flow: Flow, vm: BuildVm, step: StepSpec, spec: WindowsRestartCustomizer, report: RunStatusUpdate
) -> Yields:
    limit = spec.restartTimeout or DEFAULT_RESTART_TIMEOUT
    outcome: StepOutcome = yield from _restart(flow, vm, step, 0, limit, report)
    if not outcome.succeeded or not spec.restartCheckCommand:
        return outcome
    # attempt 1 of a WindowsRestart step is its restartCheckCommand
    checked: StepOutcome = yield from _command(flow, vm, step, 1, None, restart_timeout(limit))
    return checked


def _windows_update(
    flow: Flow, vm: BuildVm, step: StepSpec, spec: WindowsUpdateCustomizer, report: RunStatusUpdate
) -> Yields:
    limit = spec.updateLimit or 1000
    installed = 0
    last = StepOutcome(succeeded=True)
    timeout = timedelta(minutes=flow.timing.step_timeout_minutes)
    for round_no in range(flow.timing.max_windows_update_rounds):
        last = yield from _command(flow, vm, step, round_no, report if round_no == 0 else None, timeout)
        if not last.succeeded:
            return last
        installed += last.updates_installed
        if last.needs_restart:
            restarted: StepOutcome = yield from _restart(flow, vm, step, round_no, "30m", None)
            if not restarted.succeeded:
                return restarted
        if not last.updates_remaining or installed >= limit:
            break
    return last.model_copy(update={"updates_installed": installed})
