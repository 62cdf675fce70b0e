"""Restart safety: at-least-once activities after a hard kill, timers that came due while stopped,
and at most one completion per sequence id in history."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devhost.engine import DurableEngine
from devhost.engine.events import TASK_COMPLETED, event, fmt_time, utcnow
from devhost.engine.store import insert_inbox
from tests.devhost.engine.helpers import brief, completed, wait_until

REPO = Path(__file__).parents[3]

# Starts an engine in a child process and leaves it running until the test SIGKILLs it.
CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from tests.devhost.engine.conftest import load_testapp
    from devhost.engine import DurableEngine
    app = load_testapp()
    engine = DurableEngine(functions=app.FUNCTIONS, db_path=Path(sys.argv[1]), log=lambda entry: None)
    engine.start()
    engine.start_new("at_least_once", "alo-1", sys.argv[2])
    time.sleep(600)
    """
)


@pytest.mark.timeout(90)
def test_activity_without_a_recorded_completion_runs_again_after_a_hard_kill(
    tmp_path: Path, make_engine: Callable[..., DurableEngine]
) -> None:
    calls = tmp_path / "calls.txt"
    db = tmp_path / "durable.sqlite3"
    spec = json.dumps({"path": str(calls), "block_first": True})
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(db), spec], cwd=REPO)
    try:
        wait_until(lambda: calls.exists() and calls.read_text() == "call\n", timeout=60)
    finally:
        os.kill(child.pid, signal.SIGKILL)  # no shutdown code runs: the activity never completed
        child.wait(10)
    engine = make_engine(db_path=db)
    status = completed(engine, "alo-1", timeout=30)
    assert status["output"] == 2  # the second execution of the activity saw the first one's line
    assert calls.read_text() == "call\ncall\n"
    assert brief(engine, "alo-1") == "TS#0 TC#0"


@pytest.mark.timeout(60)
def test_timers_that_came_due_while_stopped_fire_after_restart(
    tmp_path: Path, make_engine: Callable[..., DurableEngine]
) -> None:
    first = make_engine()
    iid = first.start_new("sleeper", None, "0.3")
    wait_until(lambda: first.stats()["pendingTimers"] == 1)
    first.stop()
    time.sleep(0.5)  # the timer comes due while no engine runs
    second = make_engine()
    assert completed(second, iid)["output"] >= 0.3
    assert brief(second, iid) == "TimerCreated#0 TimerFired#0"


@pytest.mark.timeout(60)
def test_a_completion_delivered_twice_appears_once_in_history(engine: DurableEngine, testapp: Any) -> None:
    gate = testapp.gate("dedupe")
    iid = engine.start_new("gated", "dup-1", json.dumps("dedupe"))
    wait_until(lambda: engine.stats()["runningActivities"] == 1)
    store = engine._store
    execution = store.instance(iid).execution_id  # type: ignore[union-attr]
    body = event(TASK_COMPLETED, fmt_time(utcnow()), TaskScheduledId=0, Result='"early copy"')
    with store.transaction() as conn:  # two redeliveries of the same completion, e.g. after a crash
        insert_inbox(conn, iid, execution, "completion", event_type=TASK_COMPLETED, ref_id=0, body=body)
        insert_inbox(conn, iid, execution, "completion", event_type=TASK_COMPLETED, ref_id=0, body=body)
    engine._rt.enqueue(iid)
    assert completed(engine, iid)["output"] == "early copy"
    gate.set()  # the real activity finishes later: its completion is dropped as well
    wait_until(lambda: engine.stats()["runningActivities"] == 0)
    assert brief(engine, iid) == "TS#0 TC#0"
    assert store.read("SELECT COUNT(*) FROM inbox")[0][0] == 0


@pytest.mark.timeout(60)
def test_an_activity_over_its_timeout_fails_and_its_late_result_is_ignored(
    make_engine: Callable[..., DurableEngine], testapp: Any, logs: list[dict[str, Any]]
) -> None:
    engine = make_engine(activity_timeout=0.2)
    gate = testapp.gate("slow")
    iid = engine.start_new("gated", None, json.dumps("slow"))
    status = engine.wait_for(iid, 10)
    assert status is not None and status["runtimeStatus"] == "Failed"
    assert "Timeout value of 0.2 seconds was exceeded by function 'wait_gate'" in status["output"]
    assert any(e["outcome"] == "TimedOut" and e["function"] == "wait_gate" for e in logs)
    gate.set()
    wait_until(lambda: engine.stats()["runningActivities"] == 0)
    assert brief(engine, iid) == "TS#0 TF#0"
