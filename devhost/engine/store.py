"""SQLite persistence for the durable engine: instances, append-only history, inbox, work items, timers.

One connection guarded by one lock: every write is a short transaction and user code never runs while the
lock is held. WAL + synchronous=NORMAL keeps a commit cheap (no fsync per transaction) and still survives a
process kill (only an OS crash can lose the last commits, which at-least-once replay tolerates).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (
    instance_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    status TEXT NOT NULL,
    input TEXT,
    output TEXT,
    custom_status TEXT,
    created_time TEXT NOT NULL,
    last_updated_time TEXT NOT NULL,
    parent_instance_id TEXT,
    parent_execution_id TEXT,
    parent_seq INTEGER,
    waits TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS instances_by_created ON instances (created_time, instance_id);
CREATE TABLE IF NOT EXISTS history (
    instance_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event_type INTEGER NOT NULL,
    ref_id INTEGER,
    name TEXT,
    body TEXT NOT NULL,
    PRIMARY KEY (instance_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    event_type INTEGER,
    ref_id INTEGER,
    name TEXT,
    body TEXT
);
CREATE INDEX IF NOT EXISTS inbox_by_instance ON inbox (instance_id, id);
CREATE TABLE IF NOT EXISTS work_items (
    instance_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    input TEXT,
    PRIMARY KEY (instance_id, execution_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS timers (
    instance_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    fire_at TEXT NOT NULL,
    PRIMARY KEY (instance_id, execution_id, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS timers_by_due ON timers (fire_at);
"""

TERMINAL = frozenset({"Completed", "Failed", "Terminated"})
ACTIVE = frozenset({"Pending", "Running", "ContinuedAsNew"})
INSTANCE_COLUMNS = (
    "instance_id, name, execution_id, status, input, output, custom_status, created_time, "
    "last_updated_time, parent_instance_id, parent_execution_id, parent_seq, waits"
)


@dataclass
class Instance:
    instance_id: str
    name: str
    execution_id: str
    status: str
    input: str | None
    output: str | None
    custom_status: str | None
    created_time: str
    last_updated_time: str
    parent_instance_id: str | None
    parent_execution_id: str | None
    parent_seq: int | None
    waits: str


@dataclass
class InboxRow:
    id: int
    execution_id: str
    kind: str  # "completion" | "event" | "terminate"
    event_type: int | None
    ref_id: int | None
    name: str | None
    body: str | None


@dataclass
class HistoryRow:
    event_type: int
    ref_id: int | None
    name: str | None
    body: str


# One history row to append: (event_type, ref_id, name, body JSON text).
NewRow = tuple[int, int | None, str | None, str]


class Store:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self.conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA busy_timeout=5000")
        self.conn.executescript(SCHEMA)

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            return self.conn.execute(sql, params).fetchall()

    def instance(self, instance_id: str) -> Instance | None:
        rows = self.read(f"SELECT {INSTANCE_COLUMNS} FROM instances WHERE instance_id = ?", (instance_id,))
        return Instance(*rows[0]) if rows else None

    def history(self, instance_id: str) -> list[HistoryRow]:
        rows = self.read(
            "SELECT event_type, ref_id, name, body FROM history WHERE instance_id = ? ORDER BY seq",
            (instance_id,),
        )
        return [HistoryRow(*row) for row in rows]

    def inbox(self, instance_id: str) -> list[InboxRow]:
        rows = self.read(
            "SELECT id, execution_id, kind, event_type, ref_id, name, body FROM inbox "
            "WHERE instance_id = ? ORDER BY id",
            (instance_id,),
        )
        return [InboxRow(*row) for row in rows]


def clear_instance_state(conn: sqlite3.Connection, instance_id: str, *, keep_history: bool = False) -> None:
    """Drop everything pending for an instance (a new execution or a terminal state starts)."""
    tables = (
        ("inbox", "work_items", "timers") if keep_history else ("history", "inbox", "work_items", "timers")
    )
    for table in tables:
        conn.execute(f"DELETE FROM {table} WHERE instance_id = ?", (instance_id,))


def append_history(conn: sqlite3.Connection, instance_id: str, start: int, rows: Sequence[NewRow]) -> None:
    conn.executemany(
        "INSERT INTO history (instance_id, seq, event_type, ref_id, name, body) VALUES (?, ?, ?, ?, ?, ?)",
        [(instance_id, start + i, *row) for i, row in enumerate(rows)],
    )


def insert_inbox(
    conn: sqlite3.Connection,
    instance_id: str,
    execution_id: str,
    kind: str,
    *,
    event_type: int | None = None,
    ref_id: int | None = None,
    name: str | None = None,
    body: str | None = None,
) -> None:
    conn.execute(
        "INSERT INTO inbox (instance_id, execution_id, kind, event_type, ref_id, name, body) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (instance_id, execution_id, kind, event_type, ref_id, name, body),
    )
