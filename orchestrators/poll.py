"""Polling, in one place: ``poll_until_done`` (the monitor pattern as a sub-orchestration, architecture
decision 4) and ``poll``, the helper through which every orchestration polls an activity.

The sub-orchestration calls the polled activity until it answers done, waiting on durable timers between
rounds (the activity's suggested wait, within the policy's bounds), and gives up at ``timeout_at``. After
``rounds_per_generation`` rounds it continues as new, so its history stays bounded however long Azure takes
(gallery replication can take hours).
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime, timedelta
from typing import Any, TypeVar

import azure.durable_functions as df

from shared.models.build import Msg, Phase, PhaseError, TimingPolicy
from shared.models.durable import POLL_UNTIL_DONE, Activity, Polled, PollSpec

# What an orchestrator generator yields and is sent back: Durable tasks and their results.
Yields = Generator[Any, Any, Any]
In = TypeVar("In", bound=Msg)
P = TypeVar("P", bound=Polled)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def retry_options(timing: TimingPolicy) -> df.RetryOptions:
    """Durable's retry of an activity that raised (a transient Azure error), as the run's policy says."""
    return df.RetryOptions(
        first_retry_interval_in_milliseconds=max(1, timing.retry_first_interval_ms),
        max_number_of_attempts=timing.retry_max_attempts,
    )


def poll(
    context: df.DurableOrchestrationContext,
    timing: TimingPolicy,
    activity: Activity[In, Any],
    inp: In,
    *,
    timeout_at: datetime,
    message: str,
    phase: Phase | None = None,
    interval: float | None = None,
) -> Any:
    """The task polling ``activity`` with ``inp`` until done or ``timeout_at``; read it with ``polled``."""
    spec = PollSpec(
        activity=activity.name,
        payload=inp.model_dump(mode="json"),
        interval_seconds=timing.poll_interval_seconds if interval is None else interval,
        timeout_at=iso(timeout_at),
        timeout_message=message,
        retry_first_interval_ms=timing.retry_first_interval_ms,
        retry_max_attempts=timing.retry_max_attempts,
        rounds_per_generation=timing.poll_rounds_per_generation,
        max_wait_seconds=timing.max_poll_wait_seconds,
        hint_scale=timing.hint_scale,
        phase=phase,
    )
    return context.call_sub_orchestrator(POLL_UNTIL_DONE.name, spec.model_dump(mode="json"))


def polled(activity: Activity[Any, P], raw: Any) -> P:
    """The last answer of a poll of ``activity``, as that activity's output model."""
    return activity.output.model_validate(raw)


def poll_until_done(context: df.DurableOrchestrationContext) -> Yields:
    spec = PollSpec.model_validate(context.get_input())
    timeout_at = parse_iso(spec.timeout_at)
    options = df.RetryOptions(
        first_retry_interval_in_milliseconds=max(1, spec.retry_first_interval_ms),
        max_number_of_attempts=spec.retry_max_attempts,
    )
    for _ in range(max(1, spec.rounds_per_generation)):
        raw: Any = yield context.call_activity_with_retry(spec.activity, options, spec.payload)
        outcome = Polled.model_validate(raw)
        if outcome.done:
            return raw
        now = context.current_utc_datetime
        if now >= timeout_at:
            error = PhaseError(code="OperationTimedOut", message=spec.timeout_message, phase=spec.phase)
            return Polled(done=True, succeeded=False, state="TimedOut", error=error).model_dump(mode="json")
        wait = spec.interval_seconds
        if outcome.retry_after_seconds is not None:
            wait = max(wait, float(outcome.retry_after_seconds) * spec.hint_scale)
        wait = min(wait, max(spec.max_wait_seconds, spec.interval_seconds))
        yield context.create_timer(min(now + timedelta(seconds=wait), timeout_at))
    context.continue_as_new(spec.model_dump(mode="json"))
    return None
