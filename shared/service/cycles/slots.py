"""The build slots every patch cycle shares: the global concurrency cap, kept in one store document.

``quotas/cycle-builds.json`` is ``{"holders": {holder: {"template", "runId", "since"}}}``, changed only
under its ETag. A cycle takes a slot (holder ``{cycleId}#{member}``) before it starts a build and names the
run in it once started; the slot is given back when the run ends (the run service's end-of-run hook) or when
the cycle sees it ended. A slot whose run has ended, or that never got a run within ``STALE`` (a start that
died half-way), is taken back by the next cycle that finds every slot taken, so a crash never leaks one.

A store document rather than a durable entity: Python entities have no critical sections, and the run
documents the slots point at are the truth the cap is measured by.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from shared.store import DocumentExists, DocumentMissing, JsonStore, keys

STALE = timedelta(minutes=10)
Finished = Callable[[str, str], bool]  # (template path, run id) -> whether that run has ended


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _ensure(store: JsonStore) -> dict[str, Any]:
    doc = store.get(keys.cycle_slots())
    if doc is not None:
        return doc.body
    with contextlib.suppress(DocumentExists):
        store.create(keys.cycle_slots(), {"holders": {}})
    return {"holders": {}}


def _stale(holder: dict[str, Any], finished: Finished, now: datetime) -> bool:
    if holder.get("runId"):
        return finished(holder["template"], holder["runId"])
    since = datetime.fromisoformat(str(holder["since"]).replace("Z", "+00:00"))
    return now - since > STALE


def acquire(
    store: JsonStore, holder: str, template: str, *, limit: int, finished: Finished, now: datetime
) -> bool:
    """Take a slot for ``holder`` (True), or find every one of the ``limit`` slots taken (False)."""
    holders = _ensure(store)["holders"]
    stale: set[str] = set()
    if holder not in holders and len(holders) >= limit:
        stale = {h for h, v in holders.items() if _stale(v, finished, now)}
    granted: list[bool] = []

    def take(body: dict[str, Any]) -> dict[str, Any]:
        granted.clear()
        kept = {h: v for h, v in body.get("holders", {}).items() if h not in stale}
        if holder not in kept and len(kept) < limit:
            kept[holder] = {"template": template, "runId": None, "since": _iso(now)}
        granted.append(holder in kept)
        body["holders"] = kept
        return body

    store.update(keys.cycle_slots(), take)
    return granted[0]


def assign(store: JsonStore, holder: str, run_id: str) -> None:
    """Name the run a slot's holder started."""

    def name(body: dict[str, Any]) -> dict[str, Any]:
        if holder in body.get("holders", {}):
            body["holders"][holder]["runId"] = run_id
        return body

    with contextlib.suppress(DocumentMissing):
        store.update(keys.cycle_slots(), name)


def release(store: JsonStore, *, holder: str | None = None, run_id: str | None = None) -> None:
    """Give back the slot of ``holder``, or the one holding ``run_id`` (no error if none does)."""
    doc = store.get(keys.cycle_slots())
    if doc is None:
        return
    held = doc.body.get("holders", {})
    if not any(h == holder or (run_id and v.get("runId") == run_id) for h, v in held.items()):
        return

    def drop(body: dict[str, Any]) -> dict[str, Any]:
        body["holders"] = {
            h: v
            for h, v in body.get("holders", {}).items()
            if h != holder and not (run_id and v.get("runId") == run_id)
        }
        return body

    with contextlib.suppress(DocumentMissing):
        store.update(keys.cycle_slots(), drop)


def in_use(store: JsonStore) -> int:
    doc = store.get(keys.cycle_slots())
    return len(doc.body.get("holders", {})) if doc else 0
