"""``patch_cycle``: one due window of a patch cycle — start its templates' builds through the shared build
slots, watch them end, and record the outcome (docs/cycles.md).

A sliding window: whenever slots are free the cycle admits the next members (``cycle_admit`` decides whether
each builds, or is skipped as unchanged, in flight or disabled, and takes one of the slots every cycle
shares), at most ``start_batch`` at a time, and between two batches it waits a jittered spacing; while
builds are in flight it polls them (``cycle_check``) on a durable timer. Builds are top-level
``build_image`` orchestrations started by the activity (the run's id is their instance id, as for every
other run), so the cycle's history holds only its own calls and timers, and ``continue_as_new`` every
``completions_per_generation`` finished builds (or ``rounds_per_generation`` polls) keeps it bounded: the
cursor and the builds in flight travel in the input.

The order of yields is a wire contract for cycles in flight, as for ``build_image``.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from shared.models.cycles import (
    CYCLE_ADMIT,
    CYCLE_BEGIN,
    CYCLE_CHECK,
    CYCLE_FAIL,
    CYCLE_FINISH,
    AdmitInput,
    CheckInput,
    CycleFailure,
    CycleInput,
)
from shared.models.durable import Activity

Yields = Generator[Any, Any, Any]
_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=2_000, max_number_of_attempts=5)


def _call(context: df.DurableOrchestrationContext, activity: Activity[Any, Any], inp: Any) -> Yields:
    raw = yield context.call_activity_with_retry(activity.name, _RETRY, inp.model_dump(mode="json"))
    return activity.output.model_validate(raw)


def _wait(context: df.DurableOrchestrationContext, seconds: float) -> Yields:
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=seconds))


def _jittered(context: df.DurableOrchestrationContext, seconds: float) -> float:
    """``seconds`` ±50 %, from the replay-safe uuid (the same on every replay)."""
    fraction = int(str(context.new_uuid()).replace("-", "")[:8], 16) / 0xFFFFFFFF
    return seconds * (0.5 + fraction)


def patch_cycle(context: df.DurableOrchestrationContext) -> Yields:
    state = CycleInput.model_validate(context.get_input())
    try:
        return (yield from _run(context, state))
    except Exception as exc:  # an activity out of retries: the cycle's document must not stay Running
        failure = CycleFailure(cycle=state.cycle, message=f"The patch cycle failed: {exc}")
        yield from _call(context, CYCLE_FAIL, failure)
        raise


def _run(context: df.DurableOrchestrationContext, state: CycleInput) -> Yields:
    policy, ref = state.policy, state.cycle
    if state.members < 0:
        begun = yield from _call(context, CYCLE_BEGIN, ref)
        state.members = begun.members
    finished_now = rounds = 0
    while state.next_index < state.members or state.in_flight:
        free = policy.max_builds - len(state.in_flight)
        blocked = False
        if state.next_index < state.members and free > 0:
            want = min(free, max(1, policy.start_batch)) if policy.start_spacing_seconds > 0 else free
            admit = AdmitInput(cycle=ref, next_index=state.next_index, want=want)
            admitted = yield from _call(context, CYCLE_ADMIT, admit)
            state.next_index = admitted.next_index
            state.in_flight += admitted.started
            blocked = admitted.blocked
            more = state.next_index < state.members and len(state.in_flight) < policy.max_builds
            if admitted.started and more and not blocked:
                yield from _wait(context, _jittered(context, policy.start_spacing_seconds))
                continue
            if not admitted.started and not blocked:
                continue  # every member looked at was skipped: admit the next at once
        if not state.in_flight and not blocked:
            continue
        yield from _wait(context, policy.poll_seconds)
        rounds += 1
        if state.in_flight:
            checked = yield from _call(context, CYCLE_CHECK, CheckInput(cycle=ref, in_flight=state.in_flight))
            ended = {b.run_id for b in checked.ended}
            state.in_flight = [b for b in state.in_flight if b.run_id not in ended]
            finished_now += len(ended)
            state.completed += len(ended)
        if finished_now >= policy.completions_per_generation or rounds >= policy.rounds_per_generation:
            state.generation += 1
            context.continue_as_new(state.model_dump(mode="json"))
            return None
    summary = yield from _call(context, CYCLE_FINISH, ref)
    return summary.model_dump(mode="json")
