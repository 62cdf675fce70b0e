"""The single transaction that checkpoints an episode, and the host-side transitions (terminate, fail)."""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from devhost.engine import events as ev
from devhost.engine.children import create_child, failure_reason, send_to_parent
from devhost.engine.replay import ReplayResult
from devhost.engine.store import (
    Instance,
    NewRow,
    Store,
    append_history,
    clear_instance_state,
)
from devhost.engine.work import Work

if TYPE_CHECKING:
    from devhost.engine.episode import Delivery


@dataclass
class Effects:
    """What the engine must do once an episode's transaction has committed."""

    activities: list[tuple[str, str, int, str, str | None]] = field(default_factory=list)
    enqueue: list[str] = field(default_factory=list)
    again: bool = False
    changed: bool = False
    timers: bool = False  # timers were scheduled: the poller recomputes when it next has to look


def commit_episode(
    store: Store,
    inst: Instance,
    start: int,
    rows: list[NewRow],
    delivery: Delivery,
    result: ReplayResult,
    now: str,
) -> Effects:
    """Checkpoints an episode: history rows OS … OC, consumed inbox rows, new work, the instance row."""
    effects = Effects(changed=True)
    rows = list(rows)
    if not result.failed:
        rows.extend(_scheduling_row(w, now) for w in result.work)
    rows.append((ev.ORCH_COMPLETED, None, None, ev.event(ev.ORCH_COMPLETED, now)))
    custom = json.dumps(result.custom_status) if result.custom_status_set else inst.custom_status
    with store.transaction() as conn:
        ids = [(r.id,) for r in delivery.events] + [(i,) for i in delivery.drop]
        conn.executemany("DELETE FROM inbox WHERE id = ?", ids)
        if result.failed or (result.done and result.continue_input is None):
            status = "Failed" if result.failed else "Completed"
            output = json.dumps(result.error) if result.failed else result.output
            rows.append(_execution_completed(status, output, now))
            append_history(conn, inst.instance_id, start, rows)
            _finish(conn, inst, status, output, custom, now, effects)
        elif result.done:
            _continue_as_new(conn, inst, result.continue_input, custom, now)
            effects.again = True
        else:
            append_history(conn, inst.instance_id, start, rows)
            _schedule(conn, inst, result.work, now, effects)
            _keep_running(conn, inst, result, custom, now)
    return effects


def _continue_as_new(
    conn: sqlite3.Connection, inst: Instance, new_input: str | None, custom: str | None, now: str
) -> None:
    """New execution and history under the same id; unprocessed events and pending work are dropped."""
    clear_instance_state(conn, inst.instance_id)
    conn.execute(
        "UPDATE instances SET status = 'ContinuedAsNew', execution_id = ?, input = ?, output = NULL, "
        "custom_status = ?, last_updated_time = ?, waits = '{}' WHERE instance_id = ?",
        (uuid.uuid4().hex, new_input, custom, now, inst.instance_id),
    )


def _keep_running(
    conn: sqlite3.Connection, inst: Instance, result: ReplayResult, custom: str | None, now: str
) -> None:
    iid, exe = inst.instance_id, inst.execution_id
    conn.executemany(
        "DELETE FROM timers WHERE instance_id = ? AND execution_id = ? AND seq = ?",
        [(iid, exe, seq) for seq in result.cancelled_timers],
    )
    conn.execute(
        "UPDATE instances SET status = 'Running', custom_status = ?, last_updated_time = ?, "
        "waits = ? WHERE instance_id = ?",
        (custom, now, json.dumps(result.waits), iid),
    )


def _scheduling_row(work: Work, now: str) -> NewRow:
    if work.kind == "activity":
        body = ev.event(ev.TASK_SCHEDULED, now, work.seq, Name=work.name, Version="", Input=work.input)
        return (ev.TASK_SCHEDULED, work.seq, work.name, body)
    if work.kind == "timer":
        return (
            ev.TIMER_CREATED,
            work.seq,
            None,
            ev.event(ev.TIMER_CREATED, now, work.seq, FireAt=work.fire_at),
        )
    body = ev.event(
        ev.SUBORCH_CREATED,
        now,
        work.seq,
        Name=work.name,
        Version="",
        InstanceId=work.instance_id,
        Input=work.input,
    )
    return (ev.SUBORCH_CREATED, work.seq, work.name, body)


def _execution_completed(status: str, output: str | None, now: str) -> NewRow:
    body = ev.event(ev.EXECUTION_COMPLETED, now, OrchestrationStatus=status, Result=output)
    return (ev.EXECUTION_COMPLETED, None, None, body)


def _schedule(conn: sqlite3.Connection, inst: Instance, work: list[Work], now: str, effects: Effects) -> None:
    iid, exe = inst.instance_id, inst.execution_id
    activities = [(iid, exe, w.seq, w.name, w.input) for w in work if w.kind == "activity"]
    conn.executemany("INSERT OR IGNORE INTO work_items VALUES (?, ?, ?, ?, ?)", activities)
    effects.activities.extend(activities)
    timers = [(iid, exe, w.seq, w.fire_at) for w in work if w.kind == "timer"]
    conn.executemany("INSERT OR IGNORE INTO timers VALUES (?, ?, ?, ?)", timers)
    effects.timers = effects.timers or bool(timers)
    for w in work:
        if w.kind == "suborch":
            if create_child(conn, inst, w, now):
                effects.enqueue.append(w.instance_id or "")
            else:
                effects.enqueue.append(inst.instance_id)


def _finish(
    conn: sqlite3.Connection,
    inst: Instance,
    status: str,
    output: str | None,
    custom: str | None,
    now: str,
    effects: Effects,
) -> None:
    """Terminal state: drop pending work (running activities' results will be ignored), tell the parent."""
    clear_instance_state(conn, inst.instance_id, keep_history=True)
    conn.execute(
        "UPDATE instances SET status = ?, output = ?, custom_status = ?, last_updated_time = ?, waits = '{}' "
        "WHERE instance_id = ?",
        (status, output, custom, now, inst.instance_id),
    )
    if inst.parent_instance_id and inst.parent_execution_id and inst.parent_seq is not None:
        error = None if status == "Completed" else failure_reason(status, output)
        sent = send_to_parent(
            conn,
            inst.parent_instance_id,
            inst.parent_execution_id,
            inst.parent_seq,
            output if error is None else None,
            error,
            now,
        )
        if sent:
            effects.enqueue.append(inst.parent_instance_id)


def terminate(store: Store, inst: Instance, reason_json: str | None) -> Effects:
    """Host-side termination (the SDK ignores ExecutionTerminated, durable-host.md §4)."""
    now = ev.fmt_time(ev.utcnow())
    reason = json.loads(reason_json) if reason_json else None
    effects = Effects(changed=True)
    with store.transaction() as conn:
        start = conn.execute(
            "SELECT COUNT(*) FROM history WHERE instance_id = ?", (inst.instance_id,)
        ).fetchone()[0]
        body = ev.event(ev.EXECUTION_TERMINATED, now, Input=reason)
        append_history(conn, inst.instance_id, start, [(ev.EXECUTION_TERMINATED, None, None, body)])
        _finish(conn, inst, "Terminated", json.dumps(reason), inst.custom_status, now, effects)
    return effects


def fail_without_replay(store: Store, inst: Instance, error: str) -> Effects:
    now = ev.fmt_time(ev.utcnow())
    effects = Effects(changed=True)
    with store.transaction() as conn:
        start = conn.execute(
            "SELECT COUNT(*) FROM history WHERE instance_id = ?", (inst.instance_id,)
        ).fetchone()[0]
        append_history(
            conn, inst.instance_id, start, [_execution_completed("Failed", json.dumps(error), now)]
        )
        _finish(conn, inst, "Failed", json.dumps(error), inst.custom_status, now, effects)
    return effects
