"""``poll_until_done``: the monitor pattern as a sub-orchestration (architecture decision 4).

It calls a ``check_*`` activity until that activity says the operation is done, waiting on durable timers
between rounds, and gives up at ``timeout_at``. After ``rounds_per_generation`` rounds it continues as new, so
its history stays bounded however long Azure takes (gallery replication can take hours).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from orchestrators.flow import Steps, parse_iso, retry_options
from shared.models.build import PhaseError, PollOutput, PollSpec


def poll_until_done(context: df.DurableOrchestrationContext) -> Steps:
    spec = PollSpec.model_validate(context.get_input())
    timeout_at = parse_iso(spec.timeout_at)
    options = retry_options(spec.retry_first_interval_ms, spec.retry_max_attempts)
    for _ in range(max(1, spec.rounds_per_generation)):
        raw: Any = yield context.call_activity_with_retry(spec.activity, options, spec.payload)
        outcome = PollOutput.model_validate(raw)
        if outcome.done:
            return outcome.model_dump(mode="json")
        now = context.current_utc_datetime
        if now >= timeout_at:
            error = PhaseError(code="OperationTimedOut", message=spec.timeout_message, phase=spec.phase)
            return PollOutput(done=True, succeeded=False, state="TimedOut", error=error).model_dump(
                mode="json"
            )
        wait = spec.interval_seconds
        if outcome.retry_after_seconds is not None:
            wait = max(wait, float(outcome.retry_after_seconds) * spec.hint_scale)
        wait = min(wait, max(spec.max_wait_seconds, spec.interval_seconds))
        yield context.create_timer(min(now + timedelta(seconds=wait), timeout_at))
    context.continue_as_new(spec.model_dump(mode="json"))
    return None
