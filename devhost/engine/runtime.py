"""Threads of a started engine: episode dispatch (one episode per instance at a time) and the poller that
fires persisted timers and activity timeouts. Activities run in ``pool.ActivityPool``."""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from devhost.engine import events as ev
from devhost.engine.activities import Activity
from devhost.engine.episode import run_episode
from devhost.engine.pool import ActivityPool, Workers
from devhost.engine.store import ACTIVE, Store, insert_inbox
from devhost.engine.transitions import Effects, fail_without_replay

logger = logging.getLogger("devhost.engine")
# The longest the timer poller sleeps with nothing due: a backstop (timers scheduled by an episode wake it).
MAX_IDLE_SECONDS = 1.0


class Runtime:
    def __init__(
        self,
        *,
        store: Store,
        orchestrators: dict[str, Callable[..., Any]],
        activities: dict[str, Activity],
        log: Callable[[dict[str, Any]], None],
        activity_workers: int,
        orchestration_workers: int,
        activity_timeout: float | None,
        poll_interval: float,
        activity_loop: Any = None,
    ) -> None:
        self.store = store
        self._orchestrators, self._activities, self._sink = orchestrators, activities, log
        self._orch_pool = Workers(orchestration_workers, "devhost-orch")
        self._poll = poll_interval
        self._wake = threading.Event()  # set when an episode schedules a timer (or the engine stops)
        self._lock = threading.Lock()
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._activity_pool = ActivityPool(
            store=store,
            activities=activities,
            workers=activity_workers,
            timeout=activity_timeout,
            log=self._log,
            on_completion=self.enqueue,
            stopping=self._stopping,
            loop=activity_loop,
        )
        self._active: set[str] = set()  # instances with an episode queued or running
        self._dirty: set[str] = set()  # ... that got new messages meanwhile
        self._running_episodes = 0
        self._poller = threading.Thread(target=self._poll_loop, name="devhost-timers", daemon=True)

    def _log(self, entry: dict[str, Any]) -> None:
        try:
            self._sink(entry)
        except Exception:  # a broken log sink must not fail orchestrations
            logger.exception("devhost engine log callback failed")

    def start(self) -> None:
        """Recovery: work items without a completion run again; active instances get an episode."""
        self.store.read(  # autocommit statement
            "DELETE FROM work_items WHERE NOT EXISTS (SELECT 1 FROM instances i WHERE "
            "i.instance_id = work_items.instance_id AND i.execution_id = work_items.execution_id "
            "AND i.status IN ('Pending', 'Running', 'ContinuedAsNew'))"
        )
        for item in self.store.read("SELECT instance_id, execution_id, seq, name, input FROM work_items"):
            self._activity_pool.submit((item[0], item[1], item[2], item[3], item[4]))
        for (iid,) in self.store.read(
            "SELECT instance_id FROM instances WHERE status IN (?, ?, ?)", sorted(ACTIVE)
        ):
            self.enqueue(iid)
        self._poller.start()

    def stop(self, timeout: float) -> None:
        self._stopping.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        self._poller.join(timeout)
        threads = self._orch_pool.shutdown() + self._activity_pool.shutdown()
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self.store.lock:
            self.store.close()

    # ------------------------------------------------------------------ episodes
    def enqueue(self, instance_id: str) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            if instance_id in self._active:
                self._dirty.add(instance_id)
                return
            self._active.add(instance_id)
        self._orch_pool.submit(self._drive, instance_id)

    def _drive(self, instance_id: str) -> None:
        with self._lock:
            self._running_episodes += 1
        effects = Effects()
        try:
            effects = self._episode(instance_id)
            self._apply(effects)
        finally:
            with self._lock:
                self._running_episodes -= 1
                again = (effects.again or instance_id in self._dirty) and not self._stopping.is_set()
                self._dirty.discard(instance_id)
                if not again:
                    self._active.discard(instance_id)
        if again:  # back of the queue, so one busy instance cannot starve the others
            self._orch_pool.submit(self._drive, instance_id)

    def _episode(self, instance_id: str) -> Effects:
        if self._stopping.is_set():
            return Effects()
        try:
            return run_episode(self.store, self._orchestrators, instance_id, self._log)
        except Exception as exc:  # a host bug or a broken database row: fail the instance, keep serving
            if self._stopping.is_set():
                return Effects()  # the store closed under a late episode; it reruns after a restart
            error = f"devhost internal error: {type(exc).__name__}: {exc}"
            self._log(
                {
                    "kind": "orchestrator",
                    "function": "?",
                    "instanceId": instance_id,
                    "durationMs": 0.0,
                    "outcome": "Failed",
                    "error": error,
                    "details": traceback.format_exc(),
                }
            )
            inst = self.store.instance(instance_id)
            return (
                fail_without_replay(self.store, inst, error) if inst and inst.status in ACTIVE else Effects()
            )

    def _apply(self, effects: Effects) -> None:
        for item in effects.activities:
            self._activity_pool.submit(item)
        for iid in effects.enqueue:
            self.enqueue(iid)
        if effects.timers:
            self._wake.set()
        if effects.changed:
            with self._changed:
                self._changed.notify_all()

    def wait_for_change(self, timeout: float) -> None:
        with self._changed:
            self._changed.wait(timeout)

    # ------------------------------------------------------------------ timers and timeouts
    def _poll_loop(self) -> None:
        """Fires due timers and times activities out, then sleeps until the next timer or activity deadline
        (at least ``poll_interval``, at most ``MAX_IDLE_SECONDS``), or until an episode schedules a timer:
        an idle engine looks about once a second instead of twenty times."""
        while not self._stopping.is_set():
            self._wake.clear()  # before the look: a timer committed after it wakes the next wait
            pause = self._poll
            try:
                self._fire_due_timers()
                self._activity_pool.expire()
                pause = self._next_pause()
            except Exception:  # keep the poller alive; the next round retries
                self._log(
                    {
                        "kind": "host",
                        "function": "timers",
                        "instanceId": "",
                        "durationMs": 0.0,
                        "outcome": "Failed",
                        "error": traceback.format_exc(),
                    }
                )
            self._wake.wait(pause)

    def _next_pause(self) -> float:
        pause = MAX_IDLE_SECONDS
        (due,) = self.store.read("SELECT MIN(fire_at) FROM timers")[0]
        if due is not None:
            pause = min(pause, (ev.parse_time(due) - ev.utcnow()).total_seconds())
        deadline = self._activity_pool.next_deadline()
        if deadline is not None:
            pause = min(pause, deadline - time.monotonic())
        return max(pause, self._poll)

    def _fire_due_timers(self) -> None:
        now = ev.fmt_time(ev.utcnow())
        if not self.store.read("SELECT 1 FROM timers WHERE fire_at <= ? LIMIT 1", (now,)):
            return
        fired: set[str] = set()
        with self.store.transaction() as conn:
            due = conn.execute(
                "SELECT instance_id, execution_id, seq, fire_at FROM timers WHERE fire_at <= ?", (now,)
            ).fetchall()
            for iid, exe, seq, fire_at in due:
                body = ev.event(ev.TIMER_FIRED, now, TimerId=seq, FireAt=fire_at)
                insert_inbox(conn, iid, exe, "completion", event_type=ev.TIMER_FIRED, ref_id=seq, body=body)
                fired.add(iid)
            conn.execute("DELETE FROM timers WHERE fire_at <= ?", (now,))
        for iid in fired:
            self.enqueue(iid)

    def stats(self) -> dict[str, int]:
        timers = self.store.read("SELECT COUNT(*) FROM timers")[0][0]
        with self._lock:
            return {
                "queuedActivities": self._activity_pool.queued,
                "runningActivities": len(self._activity_pool.running),
                "runningEpisodes": self._running_episodes,
                "pendingTimers": int(timers),
            }
