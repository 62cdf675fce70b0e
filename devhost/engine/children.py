"""Sub-orchestrations: creating child instances and reporting their outcome to the parent."""

from __future__ import annotations

import json
import sqlite3
import uuid
from typing import Any

from devhost.engine import events as ev
from devhost.engine.store import ACTIVE, Instance, clear_instance_state, insert_inbox
from devhost.engine.work import Work


def create_child(conn: sqlite3.Connection, inst: Instance, work: Work, now: str) -> bool:
    """Inserts the child instance (Pending); False when its id is taken by a running instance, in which
    case the parent's task fails at once."""
    child_id = work.instance_id or ""
    row = conn.execute("SELECT status FROM instances WHERE instance_id = ?", (child_id,)).fetchone()
    if row is not None and row[0] in ACTIVE:
        reason = f"An orchestration with instance id '{child_id}' already exists and is {row[0]}"
        send_to_parent(conn, inst.instance_id, inst.execution_id, work.seq, None, reason, now)
        return False
    clear_instance_state(conn, child_id)
    conn.execute(
        "INSERT OR REPLACE INTO instances (instance_id, name, execution_id, status, input, created_time, "
        "last_updated_time, parent_instance_id, parent_execution_id, parent_seq) "
        "VALUES (?, ?, ?, 'Pending', ?, ?, ?, ?, ?, ?)",
        (
            child_id,
            work.name,
            uuid.uuid4().hex,
            work.input,
            now,
            now,
            inst.instance_id,
            inst.execution_id,
            work.seq,
        ),
    )
    return True


def failure_reason(status: str, output: str | None) -> str:
    text: Any = json.loads(output) if output else ""
    return f"Sub-orchestration was terminated: {text}" if status == "Terminated" else str(text)


def send_to_parent(
    conn: sqlite3.Connection,
    parent_id: str,
    parent_exe: str,
    seq: int,
    result: str | None,
    error: str | None,
    now: str,
) -> bool:
    """Queues the child's outcome in the parent's inbox, if that parent execution still runs."""
    row = conn.execute(
        "SELECT execution_id, status FROM instances WHERE instance_id = ?", (parent_id,)
    ).fetchone()
    if row is None or row[0] != parent_exe or row[1] not in ACTIVE:
        return False
    if error is None:
        fields: dict[str, Any]
        kind, fields = ev.SUBORCH_COMPLETED, {"TaskScheduledId": seq, "Result": result}
    else:  # the orchestrator receives Exception(f"{Reason} \n {Details}")
        kind, fields = ev.SUBORCH_FAILED, {"TaskScheduledId": seq, "Reason": error, "Details": ""}
    insert_inbox(
        conn,
        parent_id,
        parent_exe,
        "completion",
        event_type=kind,
        ref_id=seq,
        body=ev.event(kind, now, **fields),
    )
    return True
