"""External events (FIFO inbox gated on open waits), custom status, continue_as_new, timers and task_any."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from devhost.engine import DurableEngine, runtime
from tests.devhost.engine.helpers import brief, completed, wait_until

pytestmark = pytest.mark.timeout(60)


def _waiting_for(engine: DurableEngine, iid: str, name: str) -> bool:
    """True once the instance ran its episode and now waits for ``name`` (tests poke at host state)."""
    row = engine._store.read("SELECT waits FROM instances WHERE instance_id = ?", (iid,))
    return bool(row) and json.loads(row[0][0]).get(name, 0) > 0


def test_two_early_events_reach_two_later_waits_in_order(engine: DurableEngine) -> None:
    # Both events arrive before the orchestrator waits at all (SDK issue #507 would give 'second' twice).
    iid = engine.start_new("two_events", "ev-early", None)
    assert engine.raise_event(iid, "E", json.dumps("first")) == "accepted"
    assert engine.raise_event(iid, "E", json.dumps("second")) == "accepted"
    assert completed(engine, iid)["output"] == ["first", "second"]
    assert brief(engine, iid) == "Event:E Event:E"


def test_one_early_event_does_not_satisfy_both_waits(engine: DurableEngine) -> None:
    iid = engine.start_new("two_events", "ev-one", None)
    engine.raise_event(iid, "E", json.dumps({"n": 1}))
    wait_until(lambda: brief(engine, iid) == "Event:E" and _waiting_for(engine, iid, "E"))
    assert engine.get_status(iid)["runtimeStatus"] == "Running"  # type: ignore[index]
    engine.raise_event(iid, "E", json.dumps({"n": 2}))
    assert completed(engine, iid)["output"] == [{"n": 1}, {"n": 2}]


def test_events_for_unknown_or_finished_instances_are_refused(engine: DurableEngine) -> None:
    assert engine.raise_event("nobody", "E", "1") == "not_found"
    iid = engine.start_new("sequence", None, None)
    completed(engine, iid)
    assert engine.raise_event(iid, "E", "1") == "gone"


@pytest.mark.parametrize("value", [0, "", {}, [], False, {"stage": "build", "pct": 40}])
def test_custom_status_keeps_falsy_values(engine: DurableEngine, value: object) -> None:
    iid = engine.start_new("custom_status", None, json.dumps({"status": value}))
    wait_until(lambda: _waiting_for(engine, iid, "go"))
    assert engine.get_status(iid)["customStatus"] == value  # type: ignore[index]
    engine.raise_event(iid, "go", None)
    assert completed(engine, iid)["customStatus"] == value


def test_custom_status_never_set_is_null_and_can_be_replaced(engine: DurableEngine) -> None:
    iid = engine.start_new("custom_status", None, json.dumps({"final": 0}))
    wait_until(lambda: _waiting_for(engine, iid, "go"))
    assert engine.get_status(iid)["customStatus"] is None  # type: ignore[index]
    engine.raise_event(iid, "go", None)
    assert completed(engine, iid)["customStatus"] == 0


def test_continue_as_new_restarts_history_and_drops_unprocessed_events(engine: DurableEngine) -> None:
    iid = engine.start_new("counter", "can-1", json.dumps({"round": 0, "until": 3, "value": 1}))
    wait_until(lambda: _waiting_for(engine, iid, "bump"))  # round 1 waits for 'bump'
    assert brief(engine, iid) == "TS#0 TC#0"  # a fresh history: round 0's events are gone
    engine.raise_event(iid, "bump", "10")
    wait_until(lambda: brief(engine, iid) == "TS#0 TC#0" and engine.get_status(iid)["input"]["round"] == 2)  # type: ignore[index]
    # an event raised before round 2 waits is buffered, then delivered once round 2 waits
    engine.raise_event(iid, "bump", "100")
    status = completed(engine, iid)
    assert status["output"] == {"round": 3, "until": 3, "value": ((1 * 2 * 2) + 10) * 2 + 100}
    assert brief(engine, iid) == ""  # round 3 returns at once: no activity, no events


def test_continue_as_new_discards_events_nobody_waited_for(engine: DurableEngine, testapp: object) -> None:
    iid = engine.start_new("counter", "can-2", json.dumps({"round": 0, "until": 2, "value": 1}))
    wait_until(lambda: _waiting_for(engine, iid, "bump"))
    engine.raise_event(iid, "bump", "5")
    engine.raise_event(iid, "bump", "7")  # round 1 consumes one 'bump'; the second is unprocessed
    status = completed(engine, iid)
    assert status["output"]["value"] == 1 * 2 * 2 + 5
    assert engine._store.read("SELECT COUNT(*) FROM inbox WHERE instance_id = ?", (iid,))[0][0] == 0


def test_durable_timer_fires_after_its_due_time(engine: DurableEngine) -> None:
    iid = engine.start_new("sleeper", None, "0.3")
    assert completed(engine, iid)["output"] >= 0.3
    assert brief(engine, iid) == "TimerCreated#0 TimerFired#0"


def test_an_idle_poller_sleeps_and_a_new_timer_wakes_it(
    make_engine: Callable[..., DurableEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    # With nothing due the poller sleeps its longest pause (made 30 s here), not the poll interval; a timer an
    # episode schedules meanwhile wakes it, so the timer still fires on time.
    monkeypatch.setattr(runtime, "MAX_IDLE_SECONDS", 30.0)
    looks: list[float] = []
    fire = runtime.Runtime._fire_due_timers

    def counted(self: runtime.Runtime) -> None:
        looks.append(time.monotonic())
        fire(self)

    monkeypatch.setattr(runtime.Runtime, "_fire_due_timers", counted)
    engine = make_engine(timer_poll_interval=0.01)
    time.sleep(0.5)
    assert len(looks) <= 2  # 0.5 s at a 10 ms poll interval were 50 looks
    began = time.monotonic()
    iid = engine.start_new("sleeper", None, "0.3")
    assert completed(engine, iid)["output"] >= 0.3
    assert time.monotonic() - began < 10


def test_task_any_returns_the_event_and_cancels_the_timer(engine: DurableEngine) -> None:
    iid = engine.start_new("race", None, "30")
    wait_until(lambda: _waiting_for(engine, iid, "Approve"))
    assert engine.stats()["pendingTimers"] == 1
    engine.raise_event(iid, "Approve", json.dumps("yes"))
    assert completed(engine, iid)["output"] == {"winner": "approval", "value": "yes"}
    assert engine.stats()["pendingTimers"] == 0


def test_task_any_timeout_wins_when_no_event_arrives(engine: DurableEngine) -> None:
    iid = engine.start_new("race", None, "0.2")
    assert completed(engine, iid)["output"] == {"winner": "timeout"}
    assert brief(engine, iid) == "TimerCreated#0 TimerFired#0"


def test_abandoned_waiters_of_finished_task_any_do_not_swallow_events(engine: DurableEngine) -> None:
    iid = engine.start_new("stale_waiters", None, None)
    wait_until(lambda: engine.get_status(iid)["customStatus"] == "ready")  # type: ignore[index]
    engine.raise_event(iid, "Approve", json.dumps("A1"))
    engine.raise_event(iid, "Approve", json.dumps("A2"))
    assert completed(engine, iid)["output"] == ["A1", "A2"]


def test_custom_status_over_16_kb_fails_the_orchestration(engine: DurableEngine) -> None:
    ok = engine.start_new("big_status", None, "8000")  # 16,004 bytes of UTF-16 JSON
    assert completed(engine, ok)["customStatus"] == "x" * 8000
    too_big = engine.start_new("big_status", None, "8200")
    status = engine.wait_for(too_big, 10)
    assert status is not None and status["runtimeStatus"] == "Failed"
    assert "must not exceed 16 KB" in status["output"]
