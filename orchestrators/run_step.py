"""``run_step``: one customizer, validator or generalize step on the build VM, as a sub-orchestration.

A step is a Run Command started by ``start_step`` and polled through ``check_step``. WindowsRestart restarts
the VM, waits for its agent and runs ``restartCheckCommand``; WindowsUpdate runs rounds (search, install,
restart) until no update remains or ``updateLimit`` is reached. The step's outcome — exit code, success, last
log lines — is returned, never raised.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from orchestrators.poll import Yields, poll, polled, retry_options
from shared.models import WindowsRestartCustomizer, WindowsUpdateCustomizer
from shared.models.build import PhaseError, StepOutcome
from shared.models.durable import (
    CHECK_STEP,
    CHECK_VM_READY,
    RESTART_VM,
    START_STEP,
    Activity,
    RunStepInput,
    StepInput,
    StepStarted,
    VmProbe,
)

DEFAULT_STEP_TIMEOUT = timedelta(hours=4)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def restart_timeout(text: str | None) -> timedelta:
    """AIB's ``restartTimeout``: a magnitude and a unit, e.g. ``5m`` or ``2h`` (default 5 minutes)."""
    if not text:
        return timedelta(minutes=5)
    unit = text[-1].lower()
    if unit in _UNITS and text[:-1].isdigit():
        return timedelta(seconds=int(text[:-1]) * _UNITS[unit])
    return timedelta(minutes=5)


class _StepRunner:
    def __init__(self, context: df.DurableOrchestrationContext, inp: RunStepInput) -> None:
        self.ctx = context
        self.inp = inp.step
        self.timing = inp.timing

    def start(self, activity: Activity[StepInput, StepStarted], inp: StepInput) -> Yields:
        raw = yield self.ctx.call_activity_with_retry(
            activity.name, retry_options(self.timing), inp.model_dump(mode="json")
        )
        return activity.output.model_validate(raw)

    def poll(self, activity: Activity[Any, Any], inp: Any, timeout: timedelta, message: str) -> Any:
        timeout_at = self.ctx.current_utc_datetime + timeout
        interval = self.timing.step_poll_interval_seconds
        return poll(
            self.ctx,
            self.timing,
            activity,
            inp,
            timeout_at=timeout_at,
            message=message,
            phase=self.inp.step.phase,
            interval=interval,
        )

    def command(self, attempt: int, timeout: timedelta) -> Yields:
        """Start the step's command for ``attempt`` and wait for its outcome."""
        step_in = self.inp.model_copy(update={"attempt": attempt})
        started: StepStarted = yield from self.start(START_STEP, step_in)
        if started.error is not None:
            return StepOutcome(succeeded=False, error=started.error)
        message = f"{self.label()} did not finish in time."
        checked = polled(CHECK_STEP, (yield self.poll(CHECK_STEP, step_in, timeout, message)))
        if checked.outcome is None:
            error = checked.error or PhaseError(code="StepFailed", message=f"{self.label()} failed.")
            return StepOutcome(succeeded=False, error=error)
        return checked.outcome

    def restart(self, timeout: timedelta, limit: str) -> Yields:
        """Restart the VM and wait for its agent; an error outcome when it does not come back in time."""
        started: StepStarted = yield from self.start(RESTART_VM, self.inp)
        if started.error is not None:
            return StepOutcome(succeeded=False, error=started.error)
        probe = VmProbe(run=self.inp.run, vm=self.inp.vm)
        message = f"{self.label()}: the VM did not come back within restartTimeout ({limit})."
        ready = polled(CHECK_VM_READY, (yield self.poll(CHECK_VM_READY, probe, timeout, message)))
        if not ready.succeeded:
            error = ready.error or PhaseError(
                code="RestartFailed", message=f"{self.label()}: restart failed."
            )
            return StepOutcome(succeeded=False, error=error)
        return StepOutcome(succeeded=True)

    def label(self) -> str:
        return self.inp.step.describe()


def run_step(context: df.DurableOrchestrationContext) -> Yields:
    runner = _StepRunner(context, RunStepInput.model_validate(context.get_input()))
    spec = runner.inp.step.spec
    if isinstance(spec, WindowsRestartCustomizer):
        outcome = yield from _windows_restart(runner, spec)
    elif isinstance(spec, WindowsUpdateCustomizer):
        outcome = yield from _windows_update(runner, spec)
    else:
        outcome = yield from runner.command(0, DEFAULT_STEP_TIMEOUT)
    return outcome.model_dump(mode="json")


def _windows_restart(runner: _StepRunner, spec: WindowsRestartCustomizer) -> Yields:
    timeout = restart_timeout(spec.restartTimeout)
    outcome: StepOutcome = yield from runner.restart(timeout, spec.restartTimeout or "5m")
    if not outcome.succeeded or not spec.restartCheckCommand:
        return outcome
    # attempt 1 of a WindowsRestart step is its restartCheckCommand
    checked: StepOutcome = yield from runner.command(1, timeout)
    return checked


def _windows_update(runner: _StepRunner, spec: WindowsUpdateCustomizer) -> Yields:
    limit = spec.updateLimit or 1000
    installed = 0
    last = StepOutcome(succeeded=True)
    for round_no in range(runner.timing.max_windows_update_rounds):
        last = yield from runner.command(round_no, DEFAULT_STEP_TIMEOUT)
        if not last.succeeded:
            return last
        installed += last.updates_installed
        if last.needs_restart:
            restarted: StepOutcome = yield from runner.restart(timedelta(minutes=30), "30m")
            if not restarted.succeeded:
                return restarted
        if not last.updates_remaining or installed >= limit:
            break
    return last.model_copy(update={"updates_installed": installed})
