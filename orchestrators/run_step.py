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

from orchestrators.flow import POLL_ORCHESTRATOR, Steps, poll_spec, retry_options
from shared.models.build import (
    PhaseError,
    PollInput,
    PollOutput,
    StepInput,
    StepOutcome,
    StepStarted,
    TimingPolicy,
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
    def __init__(self, context: df.DurableOrchestrationContext, inp: StepInput, timing: TimingPolicy) -> None:
        self.ctx = context
        self.inp = inp
        self.timing = timing
        self.interval = timing.step_poll_interval_seconds
        self.options = retry_options(timing.retry_first_interval_ms, timing.retry_max_attempts)

    def call(self, name: str, payload: dict[str, Any]) -> Any:
        return self.ctx.call_activity_with_retry(name, self.options, payload)

    def poll(self, activity: str, payload: dict[str, Any], timeout: timedelta, message: str) -> Steps:
        spec = poll_spec(
            self.timing,
            activity,
            payload,
            interval=self.interval,
            timeout_at=self.ctx.current_utc_datetime + timeout,
            message=message,
            phase=self.inp.step.phase,
        )
        raw = yield self.ctx.call_sub_orchestrator(POLL_ORCHESTRATOR, spec.model_dump(mode="json"))
        return PollOutput.model_validate(raw)

    def command(self, attempt: int, timeout: timedelta) -> Steps:
        """Start the step's command for ``attempt`` and wait for its outcome."""
        step_in = self.inp.model_copy(update={"attempt": attempt})
        started = StepStarted.model_validate((yield self.call("start_step", step_in.model_dump(mode="json"))))
        if started.error is not None:
            return StepOutcome(succeeded=False, error=started.error)
        label = self.label()
        polled = yield from self.poll(
            "check_step", step_in.model_dump(mode="json"), timeout, f"{label} did not finish in time."
        )
        if polled.error is not None and not polled.result:
            return StepOutcome(succeeded=False, error=polled.error)
        return StepOutcome.model_validate(polled.result)

    def restart(self, timeout: timedelta) -> Steps:
        """Restart the VM and wait for its agent; an error outcome when it does not come back in time."""
        started = StepStarted.model_validate(
            (yield self.call("restart_vm", self.inp.model_dump(mode="json")))
        )
        if started.error is not None:
            return StepOutcome(succeeded=False, error=started.error)
        probe = PollInput(run=self.inp.run, vm=self.inp.vm, key=self.inp.step.name)
        limit = self.inp.step.spec.get("restartTimeout") or "5m"
        ready = yield from self.poll(
            "check_vm_ready",
            probe.model_dump(mode="json"),
            timeout,
            f"{self.label()}: the VM did not come back within restartTimeout ({limit}).",
        )
        if not ready.succeeded:
            error = ready.error or PhaseError(
                code="RestartFailed", message=f"{self.label()}: restart failed."
            )
            return StepOutcome(succeeded=False, error=error)
        return StepOutcome(succeeded=True)

    def label(self) -> str:
        step = self.inp.step
        name = f" '{step.name}'" if step.name else ""
        return f"{step.phase} step {step.index}{name} ({step.kind})"


def run_step(context: df.DurableOrchestrationContext) -> Steps:
    raw = context.get_input()
    inp = StepInput.model_validate(raw["step"])
    runner = _StepRunner(context, inp, TimingPolicy.model_validate(raw.get("timing") or {}))
    if inp.step.kind == "WindowsRestart":
        outcome = yield from _windows_restart(runner)
    elif inp.step.kind == "WindowsUpdate":
        outcome = yield from _windows_update(runner, runner.timing.max_windows_update_rounds)
    else:
        outcome = yield from runner.command(0, DEFAULT_STEP_TIMEOUT)
    return outcome.model_dump(mode="json")


def _windows_restart(runner: _StepRunner) -> Steps:
    timeout = restart_timeout(runner.inp.step.spec.get("restartTimeout"))
    outcome: StepOutcome = yield from runner.restart(timeout)
    if not outcome.succeeded or not runner.inp.step.spec.get("restartCheckCommand"):
        return outcome
    # attempt 1 of a WindowsRestart step is its restartCheckCommand
    checked: StepOutcome = yield from runner.command(1, timeout)
    return checked


def _windows_update(runner: _StepRunner, max_rounds: int) -> Steps:
    limit = int(runner.inp.step.spec.get("updateLimit") or 1000)
    installed = 0
    last = StepOutcome(succeeded=True)
    for round_no in range(max_rounds):
        last = yield from runner.command(round_no, DEFAULT_STEP_TIMEOUT)
        if not last.succeeded:
            return last
        installed += last.updates_installed
        if last.needs_restart:
            restarted: StepOutcome = yield from runner.restart(timedelta(minutes=30))
            if not restarted.succeeded:
                return restarted
        if not last.updates_remaining or installed >= limit:
            break
    return last.model_copy(update={"updates_installed": installed})
