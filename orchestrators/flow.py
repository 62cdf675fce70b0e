"""The machinery every build orchestration shares: racing a phase against cancel and the build timeout,
activity calls with retries, polling through a sub-orchestration, and the compensation stack.

Pure: no I/O, no clock but ``context.current_utc_datetime``, no randomness (architecture decision 1).
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df

from shared.models.build import BuildInput, PhaseError, PollOutput, PollSpec, RunStatusUpdate, TimingPolicy

CANCEL_EVENT = "cancel"
POLL_ORCHESTRATOR = "poll_until_done"

# What an orchestrator generator yields and is sent back: Durable tasks and their results.
Steps = Generator[Any, Any, Any]


class Interrupted(Exception):
    """The run was cancelled or ran out of time while a phase was in flight."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "Canceled" | "TimedOut"


class PhaseFailed(Exception):
    """A phase returned a permanent error: compensation starts."""

    def __init__(self, error: PhaseError) -> None:
        super().__init__(error.message)
        self.error = error


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def poll_spec(
    timing: TimingPolicy,
    activity: str,
    payload: dict[str, Any],
    *,
    interval: float,
    timeout_at: datetime,
    message: str,
    phase: str | None = None,
) -> PollSpec:
    """The input of ``poll_until_done``, with the run's retry and polling policy."""
    return PollSpec(
        activity=activity,
        payload=payload,
        interval_seconds=interval,
        timeout_at=iso(timeout_at),
        timeout_message=message,
        retry_first_interval_ms=timing.retry_first_interval_ms,
        retry_max_attempts=timing.retry_max_attempts,
        rounds_per_generation=timing.poll_rounds_per_generation,
        max_wait_seconds=timing.max_poll_wait_seconds,
        hint_scale=timing.hint_scale,
        phase=phase,
    )


def retry_options(first_interval_ms: int, attempts: int) -> df.RetryOptions:
    return df.RetryOptions(
        first_retry_interval_in_milliseconds=max(1, first_interval_ms), max_number_of_attempts=attempts
    )


class Flow:
    """One build's orchestration state: the cancel waiter, the deadline timer and the undo stack.

    The cancel waiter and the deadline timer are created once and raced against every phase: the SDK
    re-parents an already scheduled task into the new ``task_any`` instead of emitting its action again, so
    history holds one timer and one event wait however many phases the build has.
    """

    def __init__(
        self, context: df.DurableOrchestrationContext, build: BuildInput, timeout_minutes: float
    ) -> None:
        self.ctx = context
        self.build = build
        self.timing = build.timing
        self.started_at: datetime = context.current_utc_datetime
        self.deadline_at = self.started_at + timedelta(minutes=timeout_minutes)
        self.cancel_task = context.wait_for_external_event(CANCEL_EVENT)
        self.deadline_task = context.create_timer(self.deadline_at)
        self.undo: list[tuple[str, dict[str, Any]]] = []
        self.phase: str = "resolve"

    @property
    def now(self) -> datetime:
        return self.ctx.current_utc_datetime  # type: ignore[no-any-return]

    def race(self, task: Any) -> Steps:
        """Wait for ``task``; raise Interrupted if the run is cancelled or times out first."""
        winner = yield self.ctx.task_any([task, self.cancel_task, self.deadline_task])
        if winner is task:
            if task.result is not None and isinstance(task.result, Exception):
                raise task.result
            return task.result
        raise Interrupted("Canceled" if winner is self.cancel_task else "TimedOut")

    def activity_task(self, name: str, payload: dict[str, Any]) -> Any:
        options = retry_options(self.timing.retry_first_interval_ms, self.timing.retry_max_attempts)
        return self.ctx.call_activity_with_retry(name, options, payload)

    def call(self, name: str, payload: dict[str, Any]) -> Steps:
        """Call an activity with retries, raced against cancel and the deadline."""
        result = yield from self.race(self.activity_task(name, payload))
        return result

    def poll_task(self, spec: PollSpec) -> Any:
        return self.ctx.call_sub_orchestrator(POLL_ORCHESTRATOR, spec.model_dump(mode="json"))

    def poll(self, spec: PollSpec) -> Steps:
        """Poll ``spec.activity`` in a sub-orchestration until it reports done; raced like any phase."""
        raw = yield from self.race(self.poll_task(spec))
        return PollOutput.model_validate(raw)

    def poll_spec(
        self,
        activity: str,
        payload: dict[str, Any],
        *,
        interval: float,
        timeout: timedelta,
        message: str,
    ) -> PollSpec:
        timeout_at = min(self.now + timeout, self.deadline_at + timedelta(minutes=1))
        return poll_spec(
            self.timing,
            activity,
            payload,
            interval=interval,
            timeout_at=timeout_at,
            message=message,
            phase=self.phase,
        )

    def poll_until(
        self, activity: str, payload: dict[str, Any], *, timeout: timedelta, message: str, code: str
    ) -> Steps:
        """Poll ``activity`` at the run's interval; a phase failure (``code``) unless it ends succeeded."""
        spec = self.poll_spec(
            activity, payload, interval=self.timing.poll_interval_seconds, timeout=timeout, message=message
        )
        done: PollOutput = yield from self.poll(spec)
        if not done.succeeded:
            error = done.error or PhaseError(code=code, message=message, phase=self.phase)
            raise PhaseFailed(error)
        return done

    def push_undo(self, activity: str, payload: dict[str, Any]) -> None:
        """Remember how to undo something *before* asking Azure to create it (decision 2)."""
        self.undo.append((activity, payload))

    def drop_undo(self, activity: str) -> tuple[str, dict[str, Any]] | None:
        """Take the newest undo of that activity off the stack (to run it as ordinary cleanup)."""
        for i in range(len(self.undo) - 1, -1, -1):
            if self.undo[i][0] == activity:
                return self.undo.pop(i)
        return None

    def run_undo(self, activity: str, payload: dict[str, Any]) -> Steps:
        """Run one undo to completion: polled with its own timeout, never raced, never raising."""
        spec = poll_spec(
            self.timing,
            activity,
            payload,
            interval=self.timing.undo_poll_interval_seconds,
            timeout_at=self.now + timedelta(minutes=self.timing.undo_timeout_minutes),
            message=f"Cleanup '{activity}' did not finish in time; the janitor will finish it.",
        )
        try:
            raw = yield self.poll_task(spec)
            return PollOutput.model_validate(raw)
        except Exception as exc:  # an undo never fails the compensation; the janitor is the backstop
            return PollOutput(
                done=True, succeeded=False, error=PhaseError(code="UndoFailed", message=str(exc))
            )

    def compensate(self) -> Steps:
        """Pop the undo stack newest first; return the problems met (for the run's message)."""
        problems: list[str] = []
        while self.undo:
            activity, payload = self.undo.pop()
            outcome = yield from self.run_undo(activity, payload)
            if not outcome.succeeded and outcome.error is not None:
                problems.append(f"{activity}: {outcome.error.message}")
        return problems

    def status(self, **fields: Any) -> Steps:
        """Record a change of the run's state (run document and the template's lastRunStatus)."""
        update = RunStatusUpdate(run=self.build.run, time=iso(self.now), **fields)
        self.ctx.set_custom_status(
            {
                "runState": update.run_state,
                "runSubState": update.run_sub_state,
                "phase": update.phase,
                "message": update.message,
                "step": update.step,
            }
        )
        try:
            yield self.activity_task("update_run_status", update.model_dump(mode="json"))
        except Exception:  # the store is best effort here: the orchestration's own state stays authoritative
            return None
        return None

    def finish(self) -> None:
        """Cancel the deadline timer so the orchestration can complete."""
        if not self.deadline_task.is_completed:
            self.deadline_task.cancel()
