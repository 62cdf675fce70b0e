"""Timer triggers: NCRONTAB (or ``hh:mm:ss`` interval) schedules, run_on_startup and past-due detection.

Like the host's schedule monitor, the next due time is persisted (``STATE/timers/<function>.json``) before
waiting; when devhost starts after that time passed, the function runs at once with ``past_due=True``.
Each timer runs one execution at a time, and a failed execution is logged, not retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import azure.functions as func
from azure.functions.timer import TimerRequest

from devhost import logs, ncrontab
from devhost.app_loader import function_name, resolve_setting
from devhost.invoke import Invoker

_MAX_SLEEP = 30.0  # re-check the clock periodically rather than trusting one long sleep


class Schedule(Protocol):
    def next_after(self, after: datetime) -> datetime: ...


@dataclass(frozen=True)
class IntervalSchedule:
    """The ``hh:mm:ss`` (TimeSpan) form the host also accepts."""

    interval: timedelta

    def next_after(self, after: datetime) -> datetime:
        return after + self.interval


def parse_schedule(text: str) -> Schedule:
    """Parse a timer trigger schedule (NCRONTAB six fields or a TimeSpan ``[d.]hh:mm:ss``)."""
    span = re.fullmatch(r"(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})", text.strip())
    if span:
        days, hours, minutes, seconds = (int(g or 0) for g in span.groups())
        interval = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if interval <= timedelta(0):
            raise ncrontab.CronError(f"schedule '{text}' must be a positive interval")
        return IntervalSchedule(interval)
    return ncrontab.parse(text)


class TimerRunner:
    """One asyncio task per timer function."""

    def __init__(
        self,
        *,
        functions: list[func.Function],
        state_dir: Path,
        invoker: Invoker,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._functions = functions
        self._dir = state_dir / "timers"
        self._invoker = invoker
        self._clock = clock
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        for function in self._functions:
            self._tasks.append(asyncio.create_task(self._run(function), name=function_name(function)))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _run(self, function: func.Function) -> None:
        trigger: Any = function.get_trigger()
        name = function_name(function)
        text = resolve_setting(str(trigger.schedule))
        if not text.strip():
            # The host refuses to start here; devhost keeps the other functions running and says why.
            logs.emit(
                {
                    "event": "TimerDisabled",
                    "function": name,
                    "error": f"schedule '{trigger.schedule}' refers to an app setting that is not set",
                }
            )
            return
        try:
            schedule = parse_schedule(text)
        except ncrontab.CronError as exc:
            logs.emit({"event": "TimerDisabled", "function": name, "error": str(exc)})
            return
        state = self._load(name)
        stored_next = _parse_time(state.get("next"))
        if stored_next is not None and stored_next <= self._clock():
            await self._execute(function, schedule, state, past_due=True)
        elif trigger.run_on_startup:
            await self._execute(function, schedule, state, past_due=False)
        while True:
            due = schedule.next_after(self._clock())
            state["next"] = due.isoformat()
            self._save(name, state)
            await self._sleep_until(due)
            await self._execute(function, schedule, state, past_due=False)

    async def _execute(
        self, function: func.Function, schedule: Schedule, state: dict[str, Any], *, past_due: bool
    ) -> None:
        now = self._clock()
        status = {
            "Last": state.get("last") or now.isoformat(),
            "Next": schedule.next_after(now).isoformat(),
            "LastUpdated": now.isoformat(),
        }
        request = TimerRequest(past_due=past_due, schedule_status=status, schedule={"AdjustForDST": True})
        try:
            await self._invoker.call(function, "timer", request, pastDue=past_due)
        except Exception as exc:  # a failed timer execution is not retried, as in the host
            logs.emit({"event": "TimerFailed", "function": function_name(function), "error": str(exc)})
        # The next occurrence is saved with the last one, in one write: a kill at any moment after this leaves
        # a due time behind, so the occurrence it misses fires at start with past_due.
        state["last"] = now.isoformat()
        state["next"] = schedule.next_after(now).isoformat()
        self._save(function_name(function), state)

    async def _sleep_until(self, due: datetime) -> None:
        while (remaining := (due - self._clock()).total_seconds()) > 0:
            await asyncio.sleep(min(remaining, _MAX_SLEEP))

    def _load(self, name: str) -> dict[str, Any]:
        path = self._dir / f"{name}.json"
        if not path.exists():
            return {}
        data: dict[str, Any] = json.loads(path.read_text())
        return data

    def _save(self, name: str, state: dict[str, Any]) -> None:
        path = self._dir / f"{name}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(path)


def _parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
