"""``properties.autoRun``: a template created with ``autoRun.state: Enabled`` starts its first run at once.

AIB runs such a template once on creation (aib-contract §7; kiln's decision in docs/contract.md: on create
only, since a PATCH cannot carry autoRun). The run's trigger is ``AutoRun``. Starting it never fails the
PUT: a run that cannot start is recorded in the template's ``lastRunStatus`` (runState ``Failed`` with the
reason), and the template document remembers the outcome in ``kiln.autoRun``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from shared.service.resources import now
from shared.service.run_control import RunService
from shared.service.run_start import DurableStarter, start_run
from shared.store import DocumentMissing, JsonStore, TemplateRef, keys

TRIGGER = "AutoRun"
_log = logging.getLogger("kiln.autorun")


def wants_auto_run(resource: dict[str, Any]) -> bool:
    """Whether a template (resource or stored spec) asks for a run on creation."""
    auto = (resource.get("properties") or {}).get("autoRun") or {}
    return isinstance(auto, dict) and auto.get("state") == "Enabled"


async def start_auto_run(
    store: JsonStore, runs: RunService, client: DurableStarter, ref: TemplateRef
) -> str | None:
    """Start the first run of a just-created template; the run id, or None when it could not start.

    Never raises: the reason a run could not start goes to ``lastRunStatus`` and ``kiln.autoRun``.
    """
    try:
        start = await start_run(runs, client, ref, trigger=TRIGGER)
    except Exception as exc:
        _log.warning("autoRun of %s could not start: %s", ref.path, exc)
        await asyncio.to_thread(record_failure, store, ref, str(exc))
        return None
    await asyncio.to_thread(_remember, store, ref, {"state": "Started", "runId": start.run_id, "time": now()})
    return start.run_id


def record_failure(store: JsonStore, ref: TemplateRef, reason: str) -> None:
    """Show why autoRun could not start: ``lastRunStatus`` Failed unless a run already reports there."""
    message = f"autoRun could not start the template's first run: {reason}"
    stamp = now()

    def fail(body: dict[str, Any]) -> dict[str, Any]:
        status = body["readOnly"].get("lastRunStatus") or {}
        if status.get("runState") != "Failed" or not body["kiln"].get("runCounter"):
            # No run was reserved (or it ended otherwise): the template itself must tell the caller.
            body["readOnly"]["lastRunStatus"] = {
                "startTime": stamp,
                "endTime": stamp,
                "runState": "Failed",
                "runSubState": "Queued",
                "message": message,
            }
        body["kiln"]["autoRun"] = {"state": "Failed", "message": message, "time": stamp}
        return body

    with contextlib.suppress(DocumentMissing):
        store.update(keys.template(ref), fail)


def _remember(store: JsonStore, ref: TemplateRef, outcome: dict[str, Any]) -> None:
    def note(body: dict[str, Any]) -> dict[str, Any]:
        body["kiln"]["autoRun"] = outcome
        return body

    with contextlib.suppress(DocumentMissing):
        store.update(keys.template(ref), note)
