"""Small readers over engine status used by several engine tests."""

from __future__ import annotations

import time
from typing import Any

from devhost.engine import DurableEngine

SHORT = {
    "TaskScheduled": "TS",
    "TaskCompleted": "TC",
    "TaskFailed": "TF",
    "TimerCreated": "TimerCreated",
    "TimerFired": "TimerFired",
    "SubOrchestrationInstanceCreated": "SubCreated",
    "SubOrchestrationInstanceCompleted": "SubCompleted",
    "SubOrchestrationInstanceFailed": "SubFailed",
    "EventRaised": "Event",
}


def brief(engine: DurableEngine, instance_id: str) -> str:
    """History as 'TS#0 TC#0 TimerCreated#1 ...' (scheduling events by EventId, completions by target id)."""
    status = engine.get_status(instance_id, show_history=True)
    assert status is not None
    out = []
    for event in status["historyEvents"]:
        label = SHORT.get(event["EventType"])
        if label is None:
            continue
        if label == "Event":
            out.append(f"Event:{event['Name']}")
            continue
        target = event.get("TaskScheduledId", event.get("TimerId"))
        ref = event["EventId"] if event["EventId"] >= 0 else target
        out.append(f"{label}#{ref}")
    return " ".join(out)


def wait_until(predicate: Any, timeout: float = 10.0, interval: float = 0.01) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def completed(engine: DurableEngine, instance_id: str, timeout: float = 15.0) -> dict[str, Any]:
    status = engine.wait_for(instance_id, timeout)
    assert status is not None, f"{instance_id} unknown"
    assert status["runtimeStatus"] == "Completed", status
    return status
