"""Activity and sub-orchestrator retries: the DTFx history layout (durable-host.md §1.8)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devhost.engine import DurableEngine
from devhost.engine.events import parse_time
from tests.devhost.engine.helpers import brief, completed

pytestmark = pytest.mark.timeout(60)


def test_retry_succeeds_on_the_third_attempt_with_timers_between_attempts(engine: DurableEngine) -> None:
    spec = {"key": "retry-ok", "fail_times": 2, "attempts": 3, "interval_ms": 30}
    iid = engine.start_new("with_retry", None, json.dumps(spec))
    assert completed(engine, iid)["output"] == "ok after 3 calls"
    assert brief(engine, iid) == (
        "TS#0 TF#0 TimerCreated#1 TimerFired#1 TS#2 TF#2 TimerCreated#3 TimerFired#3 TS#4 TC#4"
    )


def test_retry_timer_waits_the_first_retry_interval(engine: DurableEngine) -> None:
    spec = {"key": "retry-interval", "fail_times": 1, "attempts": 2, "interval_ms": 300}
    iid = engine.start_new("with_retry", None, json.dumps(spec))
    completed(engine, iid)
    events = engine.get_status(iid, show_history=True)["historyEvents"]  # type: ignore[index]
    failed = next(e for e in events if e["EventType"] == "TaskFailed")
    created = next(e for e in events if e["EventType"] == "TimerCreated")
    fired = next(e for e in events if e["EventType"] == "TimerFired")
    # fireAt = the failure episode's time + 300 ms, and the timer did not fire early
    assert (parse_time(created["FireAt"]) - parse_time(failed["Timestamp"])).total_seconds() >= 0.3
    assert parse_time(fired["Timestamp"]) >= parse_time(created["FireAt"])


def test_final_retry_failure_adds_one_zero_delay_timer_then_fails(engine: DurableEngine) -> None:
    spec = {"key": "retry-fail", "fail_times": 99, "attempts": 3}
    iid = engine.start_new("with_retry", None, json.dumps(spec))
    status = engine.wait_for(iid, 15)
    assert status is not None and status["runtimeStatus"] == "Failed"
    assert "Activity function 'flaky' failed: RuntimeError: transient failure #3" in status["output"]
    assert brief(engine, iid).endswith("TS#4 TF#4 TimerCreated#5 TimerFired#5")
    events = engine.get_status(iid, show_history=True)["historyEvents"]  # type: ignore[index]
    last_timer = [e for e in events if e["EventType"] == "TimerCreated"][-1]
    assert last_timer["FireAt"] == last_timer["Timestamp"]  # the dummy timer fires "now"


def test_sub_orchestrator_retry_runs_a_new_child_per_attempt(engine: DurableEngine, testapp: Any) -> None:
    iid = engine.start_new("sub_with_retry", "subretry", None)
    status = engine.wait_for(iid, 15)
    assert status is not None and status["runtimeStatus"] == "Failed"
    assert "child r exploded" in status["output"]
    assert brief(engine, iid) == (
        "SubCreated#0 SubFailed#0 TimerCreated#1 TimerFired#1 "
        "SubCreated#2 SubFailed#2 TimerCreated#3 TimerFired#3"
    )
    children = [engine.get_status(f"subretry:{n}") for n in (0, 2)]
    assert [c["runtimeStatus"] for c in children if c] == ["Failed", "Failed"]
