"""SourceImage triggers firing: a new version of a template's source starts a run (trigger ``SourceImage``).

Two ways in, one decision (``trigger_state.claim``):

* **Event Grid** (``functions/events.py``): a resource-write event whose subject is a gallery image
  *version* starts a run of every template whose trigger watches that image definition, if the version is
  the one ``latest`` now resolves to (an older version, or one excluded from latest, is skipped with the
  reason recorded; one still provisioning is left to the poll).
* **The poll** (``functions/timers.py``): Marketplace has no events, so a timer asks, for every
  watched template, which version ``latest`` resolves to and starts a run when it is neither the version
  the template last built from (``exactVersion``) nor one a run was already started for. Gallery sources
  are polled too, as a backstop for events that never came.

A version whose build would change nothing (every input fingerprint part equal to the last successful run's,
``shared/service/cycles/inputs.py``) is recorded as ``unchanged`` with the reason and not built.

A version that arrives while a run is in flight is recorded as ``pending`` on the trigger; the poll starts
it once that run has ended (unless the run that ended already built it).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shared.service.run_control import RunInFlight, RunService
from shared.service.run_start import DurableStarter, start_run
from shared.service.source_watch import GALLERY_VERSION, Watched, latest_version, watched_templates
from shared.service.trigger_state import Decision, claim, note_skip, record
from shared.store import JsonStore, keys

if TYPE_CHECKING:
    from shared.ports import AzurePortSet
    from shared.service.cycles.inputs import InputProbe, Unchanged

TRIGGER = "SourceImage"
_log = logging.getLogger("kiln.source_triggers")


@dataclass
class Report:
    """What one event or one poll did, per template (``sub/rg/name``)."""

    decisions: dict[str, Decision] = field(default_factory=dict)

    def started(self) -> list[str]:
        return [k for k, d in self.decisions.items() if d.outcome == "start" and d.run_id]


class SourceTriggers:
    """Fires SourceImage triggers over the store and the Azure ports; runs start through the Durable client
    each call is given (a binding of the function that calls)."""

    def __init__(
        self, store: JsonStore, runs: RunService, *, azure: AzurePortSet, probe: InputProbe | None = None
    ) -> None:
        self._store = store
        self._runs = runs
        self._ports = azure
        self._probe = probe

    async def on_gallery_version(self, version_id: str, client: DurableStarter) -> Report:
        """A gallery image version was written: fire the triggers watching its image definition."""
        report = Report()
        match = GALLERY_VERSION.match(version_id)
        if match is None or match["version"].lower() == "latest":
            return report
        definition = version_id.lower().rsplit("/versions/", 1)[0]
        items = await asyncio.to_thread(watched_templates, self._store)
        failed: Exception | None = None
        for item in (i for i in items if i.gallery_definition == definition):
            try:
                latest = await asyncio.to_thread(latest_version, self._ports, item)
            except Exception as exc:  # the others still fire; raising at the end makes Event Grid redeliver
                failed = exc
                report.decisions[item.ref.path] = Decision(
                    "skip", version_id, f"The gallery could not be read: {exc}"
                )
                continue
            if latest is None or latest.lower() != version_id.lower():
                reason = (
                    f"'latest' resolves to '{latest}', not to this version (older, excluded from latest, "
                    "or still provisioning: the source poll picks it up once it is)."
                )
                decision = Decision("skip", version_id, reason)
                await asyncio.to_thread(note_skip, self._store, item, decision)
            else:
                decision = await self.fire(item, latest, client)
            report.decisions[item.ref.path] = decision
        if failed is not None:
            raise failed
        return report

    async def poll(self, client: DurableStarter) -> Report:
        """Fire every watched template whose source's ``latest`` moved on (the timer's sweep)."""
        report = Report()
        for item in await asyncio.to_thread(watched_templates, self._store):
            try:
                latest = await asyncio.to_thread(latest_version, self._ports, item)
            except Exception as exc:  # one unreachable source must not stop the sweep
                _log.warning("source poll of %s: %s", item.ref.path, exc)
                report.decisions[item.ref.path] = Decision(
                    "skip", None, f"The source could not be read: {exc}"
                )
                continue
            if latest is None:
                report.decisions[item.ref.path] = Decision("skip", None, "The source has no version.")
                continue
            report.decisions[item.ref.path] = await self.fire(item, latest, client)
        return report

    def _unchanged(self, item: Watched) -> Unchanged | None:
        """The skip of a build whose inputs equal the last successful run's (row 31)."""
        if self._probe is None:
            return None
        try:
            return self._probe.unchanged(item.ref)
        except Exception as exc:  # inputs that cannot be read are a reason to build
            _log.warning("inputs of %s: %s", item.ref.path, exc)
            return None

    async def fire(self, item: Watched, version: str, client: DurableStarter) -> Decision:
        """Start a run of ``item`` for ``version`` unless the trigger's memory says otherwise."""
        doc = await asyncio.to_thread(self._store.get, keys.template(item.ref))
        if doc is None:
            return Decision("skip", version, "The template no longer exists.")
        active = doc.body["kiln"].get("activeRun")
        built = doc.body["readOnly"].get("exactVersion")
        decision = await asyncio.to_thread(claim, self._store, item, version, active_run=active, built=built)
        if decision.outcome != "start":
            return decision
        unchanged = await asyncio.to_thread(self._unchanged, item)
        if unchanged is not None:
            decision = Decision("unchanged", version, unchanged.reason)
            await asyncio.to_thread(record, self._store, item, decision)
            return decision
        try:
            start = await start_run(self._runs, client, item.ref, trigger=TRIGGER)
        except RunInFlight as busy:
            reason = f"Run '{busy.run_id}' is in flight; this version is built once it ends."
            decision = Decision("pending", version, reason)
        except Exception as exc:
            _log.warning("SourceImage run of %s could not start: %s", item.ref.path, exc)
            decision = Decision("skip", version, f"The run could not be started: {exc}")
        else:
            decision = Decision("start", version, decision.reason, run_id=start.run_id)
        await asyncio.to_thread(record, self._store, item, decision)
        return decision
