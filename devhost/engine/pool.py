"""The activity worker pool: runs work items outside any transaction (at least once), writes each result to
the inbox in its own transaction, and fails activities that outlive the activity timeout."""

from __future__ import annotations

import heapq
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from devhost.engine import events as ev
from devhost.engine.activities import Activity, Outcome, failure, invoke, invoke_async, is_async
from devhost.engine.loop import EventLoop
from devhost.engine.store import Store, insert_inbox

logger = logging.getLogger("devhost.engine")
WorkItem = tuple[str, str, int, str, str | None]  # instance, execution, seq, activity name, input
Key = tuple[str, str, int]


class Workers:
    """A fixed set of daemon threads fed by a queue.

    Not ThreadPoolExecutor: its threads are joined at interpreter exit, so one hung activity would keep the
    process alive. Durable state is in SQLite, so abandoning a thread at exit is safe (it reruns on restart).
    """

    def __init__(self, count: int, name: str) -> None:
        self._queue: queue.SimpleQueue[tuple[Callable[..., None], tuple[Any, ...]] | None] = (
            queue.SimpleQueue()
        )
        self.threads = [
            threading.Thread(target=self._loop, name=f"{name}-{i}", daemon=True) for i in range(max(1, count))
        ]
        for thread in self.threads:
            thread.start()

    def submit(self, fn: Callable[..., None], *args: Any) -> None:
        self._queue.put((fn, args))

    def shutdown(self) -> list[threading.Thread]:
        """Drops queued calls and lets each thread end after its current call; returns the threads."""
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        for _ in self.threads:
            self._queue.put(None)
        return self.threads

    def _loop(self) -> None:
        while (item := self._queue.get()) is not None:
            fn, args = item
            try:
                fn(*args)
            except Exception:  # a host bug in one call must not take the worker down
                logger.exception("devhost engine worker call failed")


class ActivityPool:
    def __init__(
        self,
        *,
        store: Store,
        activities: dict[str, Activity],
        workers: int,
        timeout: float | None,
        log: Callable[[dict[str, Any]], None],
        on_completion: Callable[[str], None],
        stopping: threading.Event,
        loop: Any = None,
    ) -> None:
        self._store, self._activities, self._timeout = store, activities, timeout
        self._log, self._on_completion, self._stopping = log, on_completion, stopping
        self._workers = Workers(workers, "devhost-activity")
        self._loop = EventLoop(loop=loop)
        self._lock = threading.Lock()
        self.queued = 0
        self.running: set[Key] = set()
        self._deadlines: list[tuple[float, str, str, int, str]] = []

    def submit(self, item: WorkItem) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            self.queued += 1
        activity = self._activities.get(item[3])
        if is_async(activity):
            assert activity is not None
            self._run_async(item, activity)
        else:
            self._workers.submit(self._run, item)

    def shutdown(self) -> list[threading.Thread]:
        """Drops queued items (their work items persist, so they run after a restart); returns the threads."""
        self._loop.stop()
        return self._workers.shutdown()

    def _begin(self, item: WorkItem) -> Key:
        iid, exe, seq, name, _ = item
        key = (iid, exe, seq)
        with self._lock:
            self.queued -= 1
            self.running.add(key)
            if self._timeout is not None:
                heapq.heappush(self._deadlines, (time.monotonic() + self._timeout, iid, exe, seq, name))
        return key

    def _end(self, item: WorkItem, key: Key, started: float, outcome: Outcome) -> None:
        with self._lock:
            self.running.discard(key)
        ms = round((time.perf_counter() - started) * 1000, 3)
        name, iid = item[3], item[0]
        self._log_run(name, iid, ms, "Succeeded" if outcome.ok else "Failed", outcome.fields.get("Reason"))
        self._complete(key, outcome)

    def _run(self, item: WorkItem) -> None:
        key, started = self._begin(item), time.perf_counter()
        try:
            outcome = invoke(self._activities.get(item[3]), item[3], item[4])
        except BaseException:
            with self._lock:
                self.running.discard(key)
            raise
        self._end(item, key, started, outcome)

    def _run_async(self, item: WorkItem, activity: Activity) -> None:
        """An async activity runs on the event loop; its completion is written from a worker thread (the
        store's transactions must not block the loop)."""
        key, started = self._begin(item), time.perf_counter()

        def done(future: Any) -> None:
            outcome = future.result() if not future.cancelled() else failure(item[3], "canceled", "")
            self._workers.submit(self._end, item, key, started, outcome)

        self._loop.submit(invoke_async(activity, item[3], item[4]), done)

    def _log_run(self, name: str, iid: str, ms: float, outcome: str, error: str | None) -> None:
        entry: dict[str, Any] = {
            "kind": "activity",
            "function": name,
            "instanceId": iid,
            "durationMs": ms,
            "outcome": outcome,
        }
        if error:
            entry["error"] = error
        self._log(entry)

    def _complete(self, key: Key, outcome: Outcome) -> None:
        """Records a completion once: only while its work item still exists (the same transaction)."""
        body = ev.event(
            outcome.event_type, ev.fmt_time(ev.utcnow()), TaskScheduledId=key[2], **outcome.fields
        )
        with self._store.lock:
            if self._stopping.is_set():
                return  # not recorded: the work item runs again after a restart
            written = self._write(key, outcome.event_type, body)
        if written:
            self._on_completion(key[0])

    def _write(self, key: Key, event_type: int, body: str) -> bool:
        iid, exe, seq = key
        with self._store.transaction() as conn:
            cur = conn.execute(
                "DELETE FROM work_items WHERE instance_id = ? AND execution_id = ? AND seq = ?", key
            )
            if cur.rowcount == 0:
                return False  # terminated, continued-as-new or timed out meanwhile: the result is ignored
            insert_inbox(conn, iid, exe, "completion", event_type=event_type, ref_id=seq, body=body)
        return True

    def next_deadline(self) -> float | None:
        """The ``time.monotonic()`` at which the oldest running activity times out, if any."""
        with self._lock:
            return self._deadlines[0][0] if self._deadlines else None

    def expire(self) -> None:
        """Fails activities past the timeout; the thread cannot be killed, its late result is dropped."""
        now = time.monotonic()
        expired = []
        with self._lock:
            while self._deadlines and self._deadlines[0][0] <= now:
                _, iid, exe, seq, name = heapq.heappop(self._deadlines)
                if (iid, exe, seq) in self.running:
                    expired.append((iid, exe, seq, name))
        for iid, exe, seq, name in expired:
            message = (
                f"TimeoutError: Timeout value of {self._timeout} seconds was exceeded by function '{name}'"
            )
            self._log_run(name, iid, (self._timeout or 0) * 1000, "TimedOut", message)
            self._complete((iid, exe, seq), failure(name, message, ""))
