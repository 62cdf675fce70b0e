import asyncio
import itertools
import json
import threading
import time
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest

from devhost.invoke import Invoker
from devhost.timers import TimerRunner, parse_schedule
from tests.devhost.server.conftest import TESTAPP
from tests.support.devhost import Devhost, start_devhost

pytestmark = pytest.mark.timeout(120)


def timer_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def wait_records(path: Path, predicate: Any, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [r for r in timer_records(path) if predicate(r)]
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} timer runs in {path}")


def test_timer_runs_on_schedule_and_run_on_startup_runs_once_at_start(tmp_path: Path) -> None:
    runs = tmp_path / "timers.jsonl"
    env = {"TESTAPP_TICK_SCHEDULE": "* * * * * *", "TESTAPP_TIMER_FILE": str(runs)}
    with start_devhost(TESTAPP, state_dir=tmp_path / "state", env=env) as server:
        ticks = wait_records(runs, lambda r: r["timer"] == "tick", 2)
        assert not any(r["pastDue"] for r in ticks)
        startup = [r for r in timer_records(runs) if r["timer"] == "on_startup"]
        assert startup == [{"timer": "on_startup", "pastDue": False}]
        logged = [r for r in server.log_records() if r.get("kind") == "timer" and r.get("function") == "tick"]
        assert logged and logged[0]["outcome"] == "Succeeded"
    state = json.loads((tmp_path / "state" / "timers" / "tick.json").read_text())
    assert state["last"] and state["next"]


def test_a_run_missed_while_devhost_was_down_fires_at_start_with_past_due(tmp_path: Path) -> None:
    runs = tmp_path / "timers.jsonl"
    env = {"TESTAPP_TICK_SCHEDULE": "*/2 * * * * *", "TESTAPP_TIMER_FILE": str(runs)}
    server: Devhost = start_devhost(TESTAPP, state_dir=tmp_path / "state", env=env)
    try:
        wait_records(runs, lambda r: r["timer"] == "tick", 1)
        server.kill()
        time.sleep(2.5)  # the persisted next occurrence (at most 2 s away) passes while devhost is down
        before = len(timer_records(runs))
        server.restart()
        after_restart = wait_records(runs, lambda r: True, before + 1)[before:]
        ticks = [r for r in after_restart if r["timer"] == "tick"]
        assert ticks[0] == {"timer": "tick", "pastDue": True}
    finally:
        server.stop()


def test_each_timer_runs_one_execution_at_a_time_and_failures_are_not_retried(tmp_path: Path) -> None:
    app = func.FunctionApp()
    spans: list[tuple[float, float]] = []
    failures: list[float] = []
    lock = threading.Lock()

    @app.timer_trigger(arg_name="t", schedule="* * * * * *")
    def slow(t: func.TimerRequest) -> None:
        began = time.monotonic()
        time.sleep(1.5)  # longer than the 1 s schedule: the next run must wait for this one
        with lock:
            spans.append((began, time.monotonic()))

    @app.timer_trigger(arg_name="t", schedule="* * * * * *")
    async def broken(t: func.TimerRequest) -> None:
        failures.append(time.monotonic())
        raise RuntimeError("timer failed")

    async def scenario() -> None:
        invoker = Invoker(binding_json=lambda: "{}", app_dir=tmp_path)
        runner = TimerRunner(functions=app.get_functions(), state_dir=tmp_path, invoker=invoker)
        runner.start()
        await asyncio.sleep(5.5)
        await runner.stop()
        invoker.close()

    asyncio.run(scenario())
    assert len(spans) >= 2
    for (_, first_end), (second_start, _) in itertools.pairwise(spans):
        assert second_start >= first_end
    # One failed call per occurrence (about one a second), never an immediate retry.
    assert 4 <= len(failures) <= 6
    assert all(b - a > 0.5 for a, b in itertools.pairwise(failures))


def test_timespan_schedules_are_accepted() -> None:
    from datetime import UTC, datetime, timedelta

    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_schedule("00:05:00").next_after(start) == start + timedelta(minutes=5)
    assert parse_schedule("1.02:00:00").next_after(start) == start + timedelta(days=1, hours=2)
