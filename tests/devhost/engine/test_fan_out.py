"""Fan-out through task_all, batching of completions into episodes, and parallel instances."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devhost.engine import DurableEngine
from tests.devhost.engine.helpers import completed

pytestmark = pytest.mark.timeout(120)


def test_fan_out_of_200_activities_completes_with_every_result(
    engine: DurableEngine, logs: list[dict[str, Any]]
) -> None:
    iid = engine.start_new("fan_out", None, "200")
    output = completed(engine, iid, timeout=60)["output"]
    assert output == {"count": 200, "sum": sum(2 * i for i in range(200)), "first": [0, 2, 4]}
    events = engine.get_status(iid, show_history=True)["historyEvents"]  # type: ignore[index]
    scheduled = [e["EventId"] for e in events if e["EventType"] == "TaskScheduled"]
    done = [e["TaskScheduledId"] for e in events if e["EventType"] == "TaskCompleted"]
    assert scheduled == list(range(200))
    assert sorted(done) == list(range(200))
    episodes = [e for e in logs if e["kind"] == "orchestrator" and e["instanceId"] == iid]
    assert len(episodes) < 100  # completions present at episode start are delivered together


def test_many_instances_run_side_by_side(engine: DurableEngine) -> None:
    ids = [engine.start_new("sequence", f"par-{i}", json.dumps([f"c{i}", "x"])) for i in range(30)]
    for i, iid in enumerate(ids):
        assert completed(engine, iid)["output"] == [f"Hello c{i}!", "Hello x!"]


def test_episodes_of_one_instance_never_overlap(make_engine: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from devhost.engine import episode

    lock = threading.Lock()
    in_flight: dict[str, int] = {}
    overlaps: list[str] = []
    real = episode.run_replay  # type: ignore[attr-defined]

    def watched(handle: Any, context_json: str, scheduled: Any) -> Any:
        iid = json.loads(context_json)["instanceId"]
        with lock:
            in_flight[iid] = in_flight.get(iid, 0) + 1
            if in_flight[iid] > 1:
                overlaps.append(iid)
        try:
            return real(handle, context_json, scheduled)
        finally:
            with lock:
                in_flight[iid] -= 1

    monkeypatch.setattr(episode, "run_replay", watched)
    engine = make_engine(orchestration_workers=4, activity_workers=8)
    ids = [engine.start_new("fan_out", f"fan-{i}", "60") for i in range(6)]
    for iid in ids:
        assert completed(engine, iid, timeout=60)["output"]["count"] == 60
    assert overlaps == []
    assert set(in_flight) == set(ids)
