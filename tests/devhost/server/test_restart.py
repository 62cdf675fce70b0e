"""SIGKILL devhost at several points and check that every orchestration still finishes exactly right."""

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.devhost.server.conftest import TESTAPP
from tests.support.devhost import Devhost, start_devhost

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(300)]

FAN_OUT = 3
EXPECTED = sum(range(FAN_OUT)) + 100  # see `restartable` in the test app


def marks(path: Path) -> list[tuple[str, str, str]]:
    """(start|done, activity key, pid) lines written by the `slow_mark` activity."""
    if not path.exists():
        return []
    return [tuple(line.split()) for line in path.read_text().splitlines() if line.strip()]  # type: ignore[misc]


def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def status(server: Devhost, iid: str, history: bool = False) -> dict[str, Any]:
    query = "?showHistory=true" if history else ""
    data: dict[str, Any] = requests.get(
        f"{server.rpc_url}/durabletask/instances/{iid}{query}", timeout=10
    ).json()
    return data


def start(server: Devhost, iid: str, spec: dict[str, Any]) -> None:
    url = f"{server.rpc_url}/durabletask/orchestrators/restartable/{iid}"
    assert requests.post(url, json=json.dumps(spec), timeout=10).status_code == 202


def test_sigkill_at_several_points_loses_nothing_and_duplicates_no_completion(tmp_path: Path) -> None:
    marker = tmp_path / "marks.txt"
    timer_seconds = 3
    spec: dict[str, Any] = {
        "path": str(marker),
        "fan_out": FAN_OUT,
        "sleep": 1.5,
        "timer_seconds": timer_seconds,
    }
    server = start_devhost(TESTAPP, state_dir=tmp_path / "state", activity_workers=4)
    ids = [f"crash-{i}" for i in range(4)]
    try:
        for iid in ids:
            start(server, iid, spec)
        # Kill 1: while activities are running (started, not reported).
        wait_until(lambda: sum(1 for m in marks(marker) if m[0] == "start") >= 4, 30, "activities to start")
        server.kill()
        interrupted = _unfinished(marks(marker))
        assert interrupted, "the first kill should interrupt running activities"

        # Kill 2: while durable timers are pending (some instance finished its fan-out).
        server.restart()
        wait_until(lambda: _timer_pending(server, ids), 60, "a fan-out to finish and its timer to be created")
        waiting_on_timer = _timer_pending(server, ids)
        server.kill()
        kill2 = time.time()
        time.sleep(spec["timer_seconds"] + 0.5)  # those timers come due while devhost is down

        # Kill 3: between episodes — a burst of orchestrations with instant activities keeps episodes and
        # completions interleaving, so the kill lands between (or inside) episode transactions.
        server.restart()
        fast = [f"burst-{i}" for i in range(12)]
        for iid in fast:
            start(server, iid, {**spec, "sleep": 0, "timer_seconds": 0.2})
        wait_until(lambda: sum(1 for m in marks(marker) if m[1].startswith("burst-")) >= 6, 30, "a burst")
        server.kill()
        ids += fast

        server.restart()
        wait_until(
            lambda: all(status(server, iid)["runtimeStatus"] == "Completed" for iid in ids),
            120,
            "all orchestrations to complete",
        )
        for iid in ids:
            final = status(server, iid, history=True)
            assert final["output"] == EXPECTED
            _assert_no_duplicate_completions(final["historyEvents"], iid)
        final_marks = marks(marker)
        for _, key, pid in interrupted:
            reruns = [m for m in final_marks if m[1] == key and m[2] != pid]
            assert any(m[0] == "done" for m in reruns), (
                f"{key} was interrupted and never ran to completion again"
            )
        for iid in waiting_on_timer:
            fired = [e for e in status(server, iid, True)["historyEvents"] if e["EventType"] == "TimerFired"]
            assert len(fired) == 1
            assert _epoch(fired[0]["FireAt"]) < kill2 + spec["timer_seconds"] + 0.5
    finally:
        server.stop()


def _unfinished(lines: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    done = {(key, pid) for kind, key, pid in lines if kind == "done"}
    return [line for line in lines if line[0] == "start" and (line[1], line[2]) not in done]


def _timer_pending(server: Devhost, ids: list[str]) -> list[str]:
    """The instances whose history holds a created timer that has not fired yet (its fan-out done and the
    durable timer persisted), read from devhost: a kill now finds those timers pending."""
    pending = []
    for iid in ids:
        kinds = [e["EventType"] for e in status(server, iid, history=True).get("historyEvents") or []]
        if "TimerCreated" in kinds and "TimerFired" not in kinds:
            pending.append(iid)
    return pending


def _assert_no_duplicate_completions(events: list[dict[str, Any]], iid: str) -> None:
    completions = Counter(
        e.get("TaskScheduledId") for e in events if e["EventType"] in ("TaskCompleted", "TaskFailed")
    )
    timers = Counter(e.get("TimerId") for e in events if e["EventType"] == "TimerFired")
    scheduled = Counter(e["EventId"] for e in events if e["EventType"] in ("TaskScheduled", "TimerCreated"))
    assert all(n == 1 for n in completions.values()), f"{iid}: duplicate task completion {completions}"
    assert all(n == 1 for n in timers.values()), f"{iid}: duplicate timer {timers}"
    assert all(n == 1 for n in scheduled.values()), f"{iid}: work scheduled twice {scheduled}"
    assert len(completions) == FAN_OUT + 1 and len(timers) == 1


def _epoch(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
