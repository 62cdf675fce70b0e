"""The machinery of ``build_image``: racing a phase against cancel and the build timeout, typed activity
calls with retries, waiting activities called again until their operation ends, the run's reports, and the
compensation stack.

Pure: no I/O, no clock but ``context.current_utc_datetime``, no randomness (architecture decision 1).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from datetime import datetime, timedelta
from typing import Any, TypeVar

import azure.durable_functions as df

from shared.models.build import BuildInput, Msg, Phase, PhaseError, PhaseFailed, RunStatusUpdate
from shared.models.durable import (
    CANCEL_EVENT,
    UPDATE_RUN_STATUS,
    Activity,
    Polled,
    Reported,
    UndoInput,
    UndoOutput,
    Wait,
)

# What an orchestrator generator yields and is sent back: Durable tasks and their results.
Yields = Generator[Any, Any, Any]
In = TypeVar("In", bound=Msg)
Out = TypeVar("Out", bound=Msg)
R = TypeVar("R", bound=Reported)
P = TypeVar("P", bound=Polled)
Undo = tuple[Activity[UndoInput, UndoOutput], UndoInput]


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class Interrupted(Exception):
    """The run was cancelled or ran out of time while a phase was in flight."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "Canceled" | "TimedOut"


class Flow:
    """One build's orchestration state: the cancel waiter, the deadline timer, the phase and the undo stack.

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
        self.undo: list[Undo] = []
        self.phase: Phase = "resolve"

    @property
    def now(self) -> datetime:
        return self.ctx.current_utc_datetime  # type: ignore[no-any-return]

    # -- calls -----------------------------------------------------------------------------------------
    def task(self, activity: Activity[In, Any], inp: In) -> Any:
        """The activity's task, with the run's retry policy for transient failures."""
        options = df.RetryOptions(
            first_retry_interval_in_milliseconds=max(1, self.timing.retry_first_interval_ms),
            max_number_of_attempts=self.timing.retry_max_attempts,
        )
        return self.ctx.call_activity_with_retry(activity.name, options, inp.model_dump(mode="json"))

    def race(self, *tasks: Any) -> Yields:
        """Wait for the first of ``tasks``; raise Interrupted if the run is cancelled or times out first."""
        winner = yield self.ctx.task_any([*tasks, self.cancel_task, self.deadline_task])
        if winner is self.cancel_task or winner is self.deadline_task:
            raise Interrupted("Canceled" if winner is self.cancel_task else "TimedOut")
        if winner.result is not None and isinstance(winner.result, Exception):
            raise winner.result
        return winner

    def call(self, activity: Activity[In, Out], inp: In) -> Yields:
        """Call an activity with retries, raced against cancel and the deadline; its output model."""
        done = yield from self.race(self.task(activity, inp))
        return activity.output.model_validate(done.result)

    def wait(self, deadline: datetime, *, max_poll_seconds: float | None = None) -> Wait:
        """How long the next waiting activity may wait: its budget, never past ``deadline``; its pauses grow
        to ``max_poll_seconds`` (the policy's for long operations unless given)."""
        until = min(self.now + timedelta(seconds=self.timing.wait_budget_seconds), deadline)
        return Wait(
            until=iso(until),
            poll_seconds=self.timing.wait_poll_seconds,
            max_poll_seconds=max_poll_seconds or self.timing.max_wait_poll_seconds,
            backoff=self.timing.wait_backoff,
            hint_scale=self.timing.hint_scale,
        )

    def wait_for(
        self,
        activity: Activity[R, P],
        make: Callable[[Wait], R],
        *,
        timeout: timedelta,
        message: str,
        seen: Callable[[P], None] | None = None,
    ) -> Yields:
        """Call a waiting activity until its operation is done; a done answer comes back whatever its
        outcome. Past ``timeout`` (never past the build's deadline by more than a minute) the phase fails
        with ``message``. ``make`` builds the input for a wait; only the first call carries its report;
        ``seen`` is shown every answer (to learn what was created before the operation ends)."""
        deadline = min(self.now + timeout, self.deadline_at + timedelta(minutes=1))
        inp = make(self.wait(deadline))
        while True:
            answer: P = yield from self.call(activity, inp)
            if seen is not None:
                seen(answer)
            if answer.done:
                return answer
            if self.now >= deadline:
                raise PhaseFailed(PhaseError(code="OperationTimedOut", message=message, phase=self.phase))
            inp = make(self.wait(deadline)).model_copy(update={"report": None})

    # -- the run's reports -----------------------------------------------------------------------------
    def report(self, **fields: Any) -> RunStatusUpdate:
        """A change of the run's state at this moment (the phase's first activity records it)."""
        update = RunStatusUpdate(run=self.build.run, time=iso(self.now), **fields)
        self.ctx.set_custom_status(
            {
                "runState": update.run_state,
                "runSubState": update.run_sub_state,
                "phase": update.phase,
                "message": update.message,
                "step": update.step.model_dump(mode="json") if update.step else None,
            }
        )
        return update

    def status(self, **fields: Any) -> Yields:
        """Record a change of the run's state with an activity of its own (when no phase begins with it)."""
        try:
            yield self.task(UPDATE_RUN_STATUS, self.report(**fields))
        except Exception:  # the store is best effort here: the orchestration's own state stays authoritative
            return None
        return None

    # -- compensation ----------------------------------------------------------------------------------
    def push_undo(self, activity: Activity[UndoInput, UndoOutput], inp: UndoInput) -> None:
        """Remember how to undo something *before* asking Azure to create it (decision 2)."""
        self.undo.append((activity, inp))

    def drop_undo(self, activity: Activity[UndoInput, UndoOutput]) -> Undo | None:
        """Take the newest undo of that activity off the stack (to run it as ordinary cleanup)."""
        for i in range(len(self.undo) - 1, -1, -1):
            if self.undo[i][0] == activity:
                return self.undo.pop(i)
        return None

    def undo_task(self, activity: Activity[UndoInput, UndoOutput], inp: UndoInput, deadline: datetime) -> Any:
        return self.task(activity, inp.model_copy(update={"wait": self.wait(deadline)}))

    def run_undo(self, activity: Activity[UndoInput, UndoOutput], inp: UndoInput) -> Yields:
        """Run one undo to completion, waiting with its own timeout; never raced, never raising."""
        deadline = self.now + timedelta(minutes=self.timing.undo_timeout_minutes)
        try:
            while True:
                answer = UndoOutput.model_validate((yield self.undo_task(activity, inp, deadline)))
                if answer.done or self.now >= deadline:
                    break
                inp = inp.model_copy(update={"report": None})
        except Exception as exc:  # an undo never fails the compensation; the janitor is the backstop
            return UndoOutput(
                done=True, succeeded=False, error=PhaseError(code="UndoFailed", message=str(exc))
            )
        return answer if answer.done else undo_timed_out(activity)

    def compensate(self) -> Yields:
        """Pop the undo stack newest first; return the problems met (for the run's message)."""
        problems: list[str] = []
        while self.undo:
            activity, inp = self.undo.pop()
            outcome: UndoOutput = yield from self.run_undo(activity, inp)
            if not outcome.succeeded and outcome.error is not None:
                problems.append(f"{activity.name}: {outcome.error.message}")
        return problems

    def finish(self) -> None:
        """Cancel the deadline timer so the orchestration can complete."""
        if not self.deadline_task.is_completed:
            self.deadline_task.cancel()


def undo_timed_out(activity: Activity[UndoInput, UndoOutput]) -> UndoOutput:
    """An undo still not done at its deadline: what compensation reports (the janitor finishes it)."""
    message = f"Cleanup '{activity.name}' did not finish in time; the janitor will finish it."
    return UndoOutput(done=True, succeeded=False, error=PhaseError(code="UndoTimedOut", message=message))
