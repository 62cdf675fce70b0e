"""The machinery of ``build_image``: racing a phase against cancel and the build timeout, typed activity
calls with retries, polls, the run's status, and the compensation stack.

Pure: no I/O, no clock but ``context.current_utc_datetime``, no randomness (architecture decision 1).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

import azure.durable_functions as df

from orchestrators.poll import Yields, iso, poll, polled, retry_options
from shared.models.build import BuildInput, Msg, Phase, PhaseError, PhaseFailed, RunStatusUpdate
from shared.models.durable import (
    CANCEL_EVENT,
    UPDATE_RUN_STATUS,
    Activity,
    Orchestration,
    Polled,
    UndoInput,
    UndoOutput,
)

In = TypeVar("In", bound=Msg)
Out = TypeVar("Out", bound=Msg)
P = TypeVar("P", bound=Polled)
Undo = tuple[Activity[UndoInput, UndoOutput], UndoInput]


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

    def race(self, task: Any) -> Yields:
        """Wait for ``task``; raise Interrupted if the run is cancelled or times out first."""
        winner = yield self.ctx.task_any([task, self.cancel_task, self.deadline_task])
        if winner is task:
            if task.result is not None and isinstance(task.result, Exception):
                raise task.result
            return task.result
        raise Interrupted("Canceled" if winner is self.cancel_task else "TimedOut")

    def activity_task(self, activity: Activity[In, Any], inp: In) -> Any:
        return self.ctx.call_activity_with_retry(
            activity.name, retry_options(self.timing), inp.model_dump(mode="json")
        )

    def call(self, activity: Activity[In, Out], inp: In) -> Yields:
        """Call an activity with retries, raced against cancel and the deadline; its output model."""
        raw = yield from self.race(self.activity_task(activity, inp))
        return activity.output.model_validate(raw)

    def sub(self, orchestration: Orchestration[In, Out], inp: In) -> Any:
        """The task of a sub-orchestration (race it, or gather several with ``task_all``)."""
        return self.ctx.call_sub_orchestrator(orchestration.name, inp.model_dump(mode="json"))

    def poll_until(
        self, activity: Activity[In, P], inp: In, *, timeout: timedelta, message: str, code: str
    ) -> Yields:
        """Poll ``activity`` at the run's interval, raced like any phase; ``code`` fails the phase unless the
        poll ends succeeded. The poll never outlives the build's deadline by more than a minute."""
        timeout_at = min(self.now + timeout, self.deadline_at + timedelta(minutes=1))
        task = poll(
            self.ctx, self.timing, activity, inp, timeout_at=timeout_at, message=message, phase=self.phase
        )
        done = polled(activity, (yield from self.race(task)))
        if not done.succeeded:
            raise PhaseFailed(done.error or PhaseError(code=code, message=message, phase=self.phase))
        return done

    def push_undo(self, activity: Activity[UndoInput, UndoOutput], inp: UndoInput) -> None:
        """Remember how to undo something *before* asking Azure to create it (decision 2)."""
        self.undo.append((activity, inp))

    def drop_undo(self, activity: Activity[UndoInput, UndoOutput]) -> Undo | None:
        """Take the newest undo of that activity off the stack (to run it as ordinary cleanup)."""
        for i in range(len(self.undo) - 1, -1, -1):
            if self.undo[i][0] == activity:
                return self.undo.pop(i)
        return None

    def run_undo(self, activity: Activity[UndoInput, UndoOutput], inp: UndoInput) -> Yields:
        """Run one undo to completion: polled with its own timeout, never raced, never raising."""
        timeout_at = self.now + timedelta(minutes=self.timing.undo_timeout_minutes)
        message = f"Cleanup '{activity.name}' did not finish in time; the janitor will finish it."
        interval = self.timing.undo_poll_interval_seconds
        try:
            raw = yield poll(
                self.ctx,
                self.timing,
                activity,
                inp,
                timeout_at=timeout_at,
                message=message,
                interval=interval,
            )
            return polled(activity, raw)
        except Exception as exc:  # an undo never fails the compensation; the janitor is the backstop
            error = PhaseError(code="UndoFailed", message=str(exc))
            return UndoOutput(done=True, succeeded=False, error=error)

    def compensate(self) -> Yields:
        """Pop the undo stack newest first; return the problems met (for the run's message)."""
        problems: list[str] = []
        while self.undo:
            activity, inp = self.undo.pop()
            outcome: UndoOutput = yield from self.run_undo(activity, inp)
            if not outcome.succeeded and outcome.error is not None:
                problems.append(f"{activity.name}: {outcome.error.message}")
        return problems

    def status(self, **fields: Any) -> Yields:
        """Record a change of the run's state (run document and the template's lastRunStatus)."""
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
        try:
            yield self.activity_task(UPDATE_RUN_STATUS, update)
        except Exception:  # the store is best effort here: the orchestration's own state stays authoritative
            return None
        return None

    def finish(self) -> None:
        """Cancel the deadline timer so the orchestration can complete."""
        if not self.deadline_task.is_completed:
            self.deadline_task.cancel()
