"""Waiting for a long Azure operation inside one activity, so the orchestration's history holds one call per
wait instead of one activity and one timer per poll.

The activity asks Azure through a synchronous check (the ports are synchronous) on a worker thread and pauses
between asks with ``asyncio.sleep``, so a waiting activity holds no thread: the Functions worker (and
devhost) run async activities on their event loop. The first pause is ``Wait.poll_seconds``, each next one
``backoff`` times longer up to ``max_poll_seconds``, and never shorter than Azure's Retry-After (scaled to the
simulator's clock in local mode). The wait ends when the check says done, or at ``Wait.until`` with the last
answer, not done: the orchestration then decides whether to wait again or give up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from shared.models.durable import Polled, Wait

P = TypeVar("P", bound=Polled)
T = TypeVar("T")


def _seconds_left(until: str) -> float:
    end = datetime.fromisoformat(until.replace("Z", "+00:00"))
    return (end - datetime.now(UTC)).total_seconds()


async def wait_until_done(
    check: Callable[[], P], wait: Wait | None, *, stop: Callable[[P], bool] | None = None
) -> P:
    """Call ``check`` until it answers done (or ``stop`` of its answer is true) or ``wait.until`` passes (no
    wait: once); its last answer."""
    if wait is None:
        return await asyncio.to_thread(check)
    pause = wait.poll_seconds
    while True:
        answer = await asyncio.to_thread(check)
        left = _seconds_left(wait.until)
        if answer.done or left <= 0 or (stop is not None and stop(answer)):
            return answer
        hinted = (answer.retry_after_seconds or 0) * wait.hint_scale
        await asyncio.sleep(min(max(pause, hinted), left))
        pause = min(pause * wait.backoff, wait.max_poll_seconds)


async def call(fn: Callable[[], T]) -> T:
    """A synchronous step of an activity (port calls) off the event loop."""
    return await asyncio.to_thread(fn)
