"""History events as DTFx serialises them (durable-host.md §1.2), built once and stored as JSON text."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

# EventType numbers: azure/durable_functions/models/history/HistoryEventType.py == DTFx EventType.
EXECUTION_STARTED = 0
EXECUTION_COMPLETED = 1
EXECUTION_TERMINATED = 3
TASK_SCHEDULED = 4
TASK_COMPLETED = 5
TASK_FAILED = 6
SUBORCH_CREATED = 7
SUBORCH_COMPLETED = 8
SUBORCH_FAILED = 9
TIMER_CREATED = 10
TIMER_FIRED = 11
ORCH_STARTED = 12
ORCH_COMPLETED = 13
EVENT_RAISED = 15

EVENT_NAMES = {
    0: "ExecutionStarted",
    1: "ExecutionCompleted",
    2: "ExecutionFailed",
    3: "ExecutionTerminated",
    4: "TaskScheduled",
    5: "TaskCompleted",
    6: "TaskFailed",
    7: "SubOrchestrationInstanceCreated",
    8: "SubOrchestrationInstanceCompleted",
    9: "SubOrchestrationInstanceFailed",
    10: "TimerCreated",
    11: "TimerFired",
    12: "OrchestratorStarted",
    13: "OrchestratorCompleted",
    14: "EventSent",
    15: "EventRaised",
    16: "ContinueAsNew",
}
SCHEDULING_EVENTS = frozenset({TASK_SCHEDULED, SUBORCH_CREATED, TIMER_CREATED})
# Completions carry the sequence id they complete in TaskScheduledId (or TimerId for timers).
COMPLETION_EVENTS = frozenset({TASK_COMPLETED, TASK_FAILED, SUBORCH_COMPLETED, SUBORCH_FAILED, TIMER_FIRED})

# azure.durable_functions.constants.DATETIME_STRING_FORMAT; fixed width, so strings sort like times.
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def fmt_time(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.strftime(TIME_FORMAT)


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, TIME_FORMAT).replace(tzinfo=dt.UTC)


def event(event_type: int, timestamp: str, event_id: int = -1, **fields: Any) -> str:
    """One history event as JSON text; it is stored and replayed exactly as returned."""
    body = {"EventType": event_type, "EventId": event_id, "IsPlayed": False, "Timestamp": timestamp}
    body.update(fields)
    return json.dumps(body)


def ref_id(event_type: int, fields: dict[str, Any], event_id: int = -1) -> int | None:
    """The sequence id an event schedules or completes (None for other events)."""
    if event_type in SCHEDULING_EVENTS:
        return event_id
    if event_type == TIMER_FIRED:
        return int(fields["TimerId"])
    if event_type in COMPLETION_EVENTS:
        return int(fields["TaskScheduledId"])
    return None
