"""DurableEngine: the public API (devhost-interface.md) and the threads that drive episodes and activities."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import azure.functions as func

from devhost.engine import events as ev
from devhost.engine import status as st
from devhost.engine.activities import Activity
from devhost.engine.runtime import Runtime
from devhost.engine.store import ACTIVE, TERMINAL, Store, clear_instance_state, insert_inbox

logger = logging.getLogger("devhost.engine")
Delivered = Literal["accepted", "not_found", "gone"]
MAX_INSTANCE_ID = 256


class UnknownFunction(Exception):
    """No orchestrator function with this name."""


class InstanceExists(Exception):
    """The instance id is in use by a Pending, Running or ContinuedAsNew instance."""


class DurableEngine:
    """Durable Functions for a v2 Python app without the Functions host.

    Orchestrators replay through the real azure-functions-durable SDK over an append-only SQLite history;
    activities run at least once in a thread pool. Every public method is thread-safe and short: work happens
    on the engine's own threads. See devhost/engine/README.md for the design decisions.
    """

    def __init__(
        self,
        *,
        functions: Sequence[func.Function],
        db_path: Path,
        activity_workers: int = 8,
        orchestration_workers: int = 4,
        activity_timeout: float | None = 600.0,
        timer_poll_interval: float = 0.05,
        log: Callable[[dict[str, Any]], None] | None = None,
        client_binding: Callable[[], str] | None = None,
        activity_loop: Callable[[], Any] | None = None,
    ) -> None:
        orchestrators: dict[str, Callable[..., Any]] = {}
        activities: dict[str, Activity] = {}
        for function in functions:
            trigger: Any = function.get_trigger()
            name = str(function.get_function_name())
            if trigger.type == "orchestrationTrigger":
                orchestrators[name] = function.get_user_function()
            elif trigger.type == "activityTrigger":
                clients = tuple(b.name for b in function.get_bindings() if b.type == "durableClient")
                activities[name] = Activity(
                    name, function.get_user_function(), trigger.name, clients, client_binding
                )
        self._activity_loop = activity_loop  # where async activities run (None: a loop of the engine's own)
        self._orchestrators = orchestrators
        self._runtime: Runtime | None = None
        self._db_path = Path(db_path)
        self._workers = (activity_workers, orchestration_workers)
        self._activity_timeout, self._poll_interval = activity_timeout, timer_poll_interval
        self._activities = activities
        self._log = log or (lambda entry: logger.info("%s", json.dumps(entry)))

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self._runtime is not None:
            return
        store = Store(self._db_path)
        self._runtime = Runtime(
            store=store,
            orchestrators=self._orchestrators,
            activities=self._activities,
            log=self._log,
            activity_workers=self._workers[0],
            orchestration_workers=self._workers[1],
            activity_timeout=self._activity_timeout,
            poll_interval=self._poll_interval,
            activity_loop=self._activity_loop() if self._activity_loop else None,
        )
        self._runtime.start()

    def stop(self, timeout: float = 10.0) -> None:
        runtime, self._runtime = self._runtime, None
        if runtime is not None:
            runtime.stop(timeout)

    @property
    def _rt(self) -> Runtime:
        if self._runtime is None:
            raise RuntimeError("DurableEngine is not started")
        return self._runtime

    @property
    def _store(self) -> Store:
        return self._rt.store

    # ------------------------------------------------------------------ client operations
    def start_new(self, name: str, instance_id: str | None, input_json: str | None) -> str:
        """Creates a Pending instance and returns its id (a new uuid when none is given).

        Raises UnknownFunction, InstanceExists (the id is Pending/Running/ContinuedAsNew; a finished one is
        replaced, as the Durable extension does) or ValueError (an id the extension would reject).
        """
        if name not in self._orchestrators:
            raise UnknownFunction(name)
        iid = instance_id or uuid.uuid4().hex
        _validate_instance_id(iid)
        now = ev.fmt_time(ev.utcnow())
        with self._store.transaction() as conn:
            row = conn.execute("SELECT status FROM instances WHERE instance_id = ?", (iid,)).fetchone()
            if row is not None and row[0] in ACTIVE:
                raise InstanceExists(iid)
            clear_instance_state(conn, iid)
            conn.execute(
                "INSERT OR REPLACE INTO instances (instance_id, name, execution_id, status, input, "
                "created_time, last_updated_time) VALUES (?, ?, ?, 'Pending', ?, ?, ?)",
                (iid, name, uuid.uuid4().hex, input_json, now, now),
            )
        self._rt.enqueue(iid)
        return iid

    def get_status(
        self,
        instance_id: str,
        *,
        show_history: bool = False,
        show_history_output: bool = False,
        show_input: bool = True,
    ) -> dict[str, Any] | None:
        with self._store.lock:  # instance row and history from one snapshot
            inst = self._store.instance(instance_id)
            if inst is None:
                return None
            history = self._store.history(instance_id) if show_history else None
        return st.status_json(
            inst, show_input=show_input, history=history, show_history_output=show_history_output
        )

    def query(
        self,
        *,
        runtime_status: Sequence[str] | None = None,
        created_from: dt.datetime | None = None,
        created_to: dt.datetime | None = None,
        instance_id_prefix: str | None = None,
        top: int | None = None,
        continuation: str | None = None,
        show_input: bool = False,
    ) -> tuple[list[dict[str, Any]], str | None]:
        return st.query(
            self._store,
            runtime_status=runtime_status,
            created_from=created_from,
            created_to=created_to,
            instance_id_prefix=instance_id_prefix,
            top=top,
            continuation=continuation,
            show_input=show_input,
        )

    def raise_event(self, instance_id: str, name: str, data_json: str | None) -> Delivered:
        """Buffers the event (FIFO per name) until the orchestrator waits for it."""
        body = ev.event(ev.EVENT_RAISED, ev.fmt_time(ev.utcnow()), Name=name, Input=data_json)
        return self._post(instance_id, "event", name=name, event_type=ev.EVENT_RAISED, body=body)

    def terminate(self, instance_id: str, reason: str | None) -> Delivered:
        """Queues termination; the instance's next episode applies it (see wait_for)."""
        return self._post(instance_id, "terminate", body=json.dumps(reason))

    def _post(self, instance_id: str, kind: str, **fields: Any) -> Delivered:
        with self._store.transaction() as conn:
            row = conn.execute(
                "SELECT execution_id, status FROM instances WHERE instance_id = ?", (instance_id,)
            ).fetchone()
            if row is None:
                return "not_found"
            if row[1] in TERMINAL:
                return "gone"
            insert_inbox(conn, instance_id, row[0], kind, **fields)
        self._rt.enqueue(instance_id)
        return "accepted"

    def purge(self, instance_id: str) -> int:
        """Deletes a Completed/Failed/Terminated instance with its history; returns how many were deleted."""
        return self._purge([instance_id])

    def purge_by(
        self,
        *,
        runtime_status: Sequence[str] | None = None,
        created_from: dt.datetime | None = None,
        created_to: dt.datetime | None = None,
    ) -> int:
        return self._purge(st.purge_ids(self._store, runtime_status, created_from, created_to))

    def _purge(self, ids: Sequence[str]) -> int:
        purged = 0
        with self._store.transaction() as conn:
            for iid in ids:
                row = conn.execute("SELECT status FROM instances WHERE instance_id = ?", (iid,)).fetchone()
                if row is None or row[0] not in TERMINAL:
                    continue
                clear_instance_state(conn, iid)
                conn.execute("DELETE FROM instances WHERE instance_id = ?", (iid,))
                purged += 1
        return purged

    def wait_for(self, instance_id: str, timeout: float) -> dict[str, Any] | None:
        """Status once the instance is terminal (or unknown), or the last status seen at the timeout."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.get_status(instance_id)
            remaining = deadline - time.monotonic()
            if status is None or status["runtimeStatus"] in TERMINAL or remaining <= 0:
                return status
            self._rt.wait_for_change(min(remaining, 0.5))

    def stats(self) -> dict[str, int]:
        return self._rt.stats()


def _validate_instance_id(instance_id: str) -> None:
    bad = set("/\\#?")
    if (
        not instance_id
        or len(instance_id) > MAX_INSTANCE_ID
        or any(ch in bad or ord(ch) < 32 for ch in instance_id)
    ):
        raise ValueError(
            f"Invalid instance id {instance_id!r}: 1-{MAX_INSTANCE_ID} characters, no '/', '\\', '#', '?' "
            "or control characters"
        )
