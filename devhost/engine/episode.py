"""One orchestration episode: pick the inbox rows to deliver, replay, and checkpoint in one transaction."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devhost.engine import events as ev
from devhost.engine.replay import ReplayResult, build_context_json, run_replay
from devhost.engine.store import TERMINAL, HistoryRow, InboxRow, Instance, NewRow, Store
from devhost.engine.transitions import Effects, commit_episode, fail_without_replay, terminate
from devhost.engine.work import Work

SCHEDULING_KIND = {ev.TASK_SCHEDULED: "activity", ev.TIMER_CREATED: "timer", ev.SUBORCH_CREATED: "suborch"}


@dataclass
class Delivery:
    events: list[InboxRow] = field(default_factory=list)  # delivered, in arrival order
    drop: list[int] = field(default_factory=list)  # inbox ids to delete without delivery
    waiting_events: Counter[str] = field(default_factory=Counter)  # undelivered events by name


def run_episode(
    store: Store, orchestrators: dict[str, Callable[..., Any]], instance_id: str, log: Callable[..., None]
) -> Effects:
    inst = store.instance(instance_id)
    if inst is None or inst.status in TERMINAL:
        return Effects()
    inbox = store.inbox(instance_id)
    for row in inbox:
        if row.kind == "terminate" and row.execution_id == inst.execution_id:
            return terminate(store, inst, row.body)
    history = store.history(instance_id)
    delivery = select_delivery(inst, inbox, history)
    first = not history
    if not delivery.events and not first:
        if delivery.drop:
            with store.transaction() as conn:
                conn.executemany("DELETE FROM inbox WHERE id = ?", [(i,) for i in delivery.drop])
        return Effects()
    handle = orchestrators.get(inst.name)
    if handle is None:
        return fail_without_replay(store, inst, f"The orchestrator function '{inst.name}' doesn't exist")
    now = ev.fmt_time(ev.utcnow())
    new_rows = _new_rows(inst, delivery, now, first=first)
    context_json = build_context_json(
        [h.body for h in history] + [row[3] for row in new_rows],
        inst.input,
        instance_id,
        inst.parent_instance_id,
    )
    started, cpu = time.perf_counter(), time.thread_time()
    result = run_replay(handle, context_json, _scheduled(history))
    _log_episode(log, inst, result, (time.perf_counter() - started) * 1000, (time.thread_time() - cpu) * 1000)
    effects = commit_episode(store, inst, len(history), new_rows, delivery, result, now)
    effects.again = effects.again or any(delivery.waiting_events[name] for name in result.waits)
    return effects


def _scheduled(history: list[HistoryRow]) -> dict[int, tuple[str, str]]:
    """What each sequence id in the history scheduled: (activity | timer | suborch, name)."""
    return {
        h.ref_id: (SCHEDULING_KIND[h.event_type], h.name or "")
        for h in history
        if h.ref_id is not None and h.event_type in SCHEDULING_KIND
    }


def _new_rows(inst: Instance, delivery: Delivery, now: str, *, first: bool) -> list[NewRow]:
    """The history rows this episode appends before replaying: started, the input on the first, deliveries."""
    rows: list[NewRow] = [(ev.ORCH_STARTED, None, None, ev.event(ev.ORCH_STARTED, now))]
    if first:
        rows.append((ev.EXECUTION_STARTED, None, inst.name, _execution_started(inst, now)))
    rows.extend((r.event_type or ev.EVENT_RAISED, r.ref_id, r.name, r.body or "") for r in delivery.events)
    return rows


def select_delivery(inst: Instance, inbox: list[InboxRow], history: list[HistoryRow]) -> Delivery:
    """Completions are all delivered (at most one per sequence id); an external event only when the
    orchestrator has an open wait for its name (SDK issue #507, durable-host.md §1.9), FIFO per name."""
    waits: dict[str, int] = json.loads(inst.waits or "{}")
    completed = {h.ref_id for h in history if h.event_type in ev.COMPLETION_EVENTS}
    delivery = Delivery()
    for row in inbox:
        if row.execution_id != inst.execution_id or row.kind == "terminate":
            delivery.drop.append(row.id)
        elif row.kind == "completion":
            if row.ref_id in completed:
                delivery.drop.append(row.id)  # a duplicate completion (at-least-once) never reaches history
            else:
                completed.add(row.ref_id)
                delivery.events.append(row)
        elif waits.get(row.name or "", 0) > 0:
            waits[row.name or ""] -= 1
            delivery.events.append(row)
        else:
            delivery.waiting_events[row.name or ""] += 1
    return delivery


def _execution_started(inst: Instance, now: str) -> str:
    parent = None
    if inst.parent_instance_id:
        parent = {
            "OrchestrationInstance": {
                "InstanceId": inst.parent_instance_id,
                "ExecutionId": inst.parent_execution_id,
            },
            "TaskScheduleId": inst.parent_seq,
        }
    return ev.event(
        ev.EXECUTION_STARTED,
        now,
        OrchestrationInstance={"InstanceId": inst.instance_id, "ExecutionId": inst.execution_id},
        ParentInstance=parent,
        Name=inst.name,
        Version="",
        Input=inst.input,
    )


def _log_episode(
    log: Callable[..., None], inst: Instance, result: ReplayResult, ms: float, cpu_ms: float
) -> None:
    entry: dict[str, Any] = {
        "kind": "orchestrator",
        "function": inst.name,
        "instanceId": inst.instance_id,
        "durationMs": round(ms, 3),
        "cpuMs": round(cpu_ms, 3),  # the replay's own CPU (this thread's), whatever else the machine runs
        "outcome": "Failed" if result.failed else "Succeeded",
    }
    if result.error:
        entry["error"] = result.error
    log(entry)


def new_execution_id() -> str:
    return uuid.uuid4().hex


__all__ = ["Delivery", "Work", "new_execution_id", "run_episode", "select_delivery"]
