"""Patch cycles: which schedules came due, the cycle orchestration's steps, the cycle documents, and the
query of templates built from an outdated source (docs/cycles.md).

The timer (``functions/timers.py``) calls ``tick`` every minute. Each Schedule trigger remembers the window
it last started (``kiln.lastWindow`` on its trigger document); the occurrences since then that are not in the
future are due, and only the latest of them runs — a window missed while the app was down runs once, late,
and its cycle says how late and how many windows it stands for. Due schedules are grouped by subscription,
cycle name and window into one cycle each, whose id (``{cycleName}-{yyyymmddThhmmssZ}``) is also the Durable
instance id's tail: creating the cycle document is the claim (a second tick finds it), and Durable refuses a
second start of an instance in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared import naming
from shared.errors import KilnError, NotFound
from shared.models.cycles import (
    PATCH_CYCLE,
    AdmitInput,
    Admitted,
    Checked,
    CheckInput,
    CycleBegun,
    CycleFailure,
    CycleInput,
    CyclePolicy,
    CycleRef,
    CycleSummary,
    InFlight,
    cycle_instance_id,
)
from shared.models.schedule import ScheduleError, parse_cron
from shared.service import documents
from shared.service.cycles import record, slots
from shared.service.cycles.inputs import InputProbe
from shared.service.resources import now as now_text
from shared.service.run_control import RunInFlight, RunService
from shared.service.run_documents import is_finished
from shared.service.run_start import RUNNING, DurableStarter, ensure_started, runtime_status, start_run
from shared.service.source_watch import latest_version, same_version, version_key, watched
from shared.service.templates import Page
from shared.store import DocumentExists, DocumentMissing, JsonStore, TemplateRef, keys

if TYPE_CHECKING:
    from shared.ports import AzurePortSet

START_ATTEMPTS = 3  # tries of one build's start before its outcome is 'failed'
_log = logging.getLogger("kiln.cycles")
_NEVER = datetime.max.replace(tzinfo=UTC)
SCHEDULE = "Schedule"
DISABLED = "Disabled"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class DueSchedule:
    """A Schedule trigger whose window came due: the template, the trigger, the window and what it missed."""

    ref: TemplateRef
    template_id: str
    trigger: str
    mode: str
    cycle_name: str
    due: datetime
    missed: int


@dataclass
class TickReport:
    """What one tick did: the cycles it started, and the ones it found already claimed."""

    started: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)


class PatchCycles:
    """The rules of patch cycles over the store, the run service and the Azure ports."""

    def __init__(
        self,
        store: JsonStore,
        runs: RunService,
        *,
        probe: InputProbe,
        azure: AzurePortSet,
        policy: CyclePolicy,
        late_after_seconds: float,
        page_size: int,
    ) -> None:
        self._store = store
        self._runs = runs
        self.probe = probe
        self._azure = azure
        self._policy = policy
        self._late_after = late_after_seconds
        self._page_size = page_size
        # trigger document key -> (its ETag in the listing, when it comes due next)
        self._next_due: dict[str, tuple[str, datetime]] = {}

    # -- the timer ------------------------------------------------------------------------------------
    async def tick(self, client: DurableStarter, *, now: datetime) -> TickReport:
        """Start a cycle for every window that came due by ``now`` (idempotent: twice starts once)."""
        report = TickReport()
        due = await asyncio.to_thread(self.due_schedules, now)
        groups: dict[tuple[str, str, datetime], list[DueSchedule]] = {}
        for item in due:
            groups.setdefault((item.ref.subscription, item.cycle_name, item.due), []).append(item)
        for (subscription, name, window), items in groups.items():
            cid = record.cycle_id(name, window)
            try:
                started = await self._claim_and_start(client, subscription, cid, name, window, items, now)
            except Exception as exc:  # one cycle that cannot start must not stop the others
                _log.warning("cycle %s could not start: %s", cid, exc)
                report.problems[cid] = str(exc)
                for item in items:  # due again at the next tick
                    self._next_due.pop(keys.child(keys.TRIGGERS, item.ref, item.trigger), None)
                continue
            (report.started if started else report.existing).append(cid)
            for item in items:
                await asyncio.to_thread(self._advance, item)
        return report

    def due_schedules(self, now: datetime) -> list[DueSchedule]:
        """Every Healthy Schedule trigger with an occurrence after its last window and not after ``now``.

        A tick lists the trigger documents and reads only those that may be due: it remembers, by the ETag
        the listing shows, when each comes due next (a SourceImage trigger: never), so a document that
        changed (a trigger deleted and created again, a window recorded) is read again.
        """
        found: list[DueSchedule] = []
        listed = self._store.list_all(keys.TRIGGERS + "/")
        known: dict[str, tuple[str, datetime]] = {}
        for entry in listed:
            cached = self._next_due.get(entry.key)
            if cached is not None and entry.etag and cached[0] == entry.etag and cached[1] > now:
                known[entry.key] = cached
                continue
            doc = self._store.get(entry.key)
            if doc is None or doc.body["properties"].get("kind") != SCHEDULE:
                known[entry.key] = (entry.etag, _NEVER)
                continue
            item, upcoming = self._due(doc.body, now)
            known[entry.key] = (entry.etag, upcoming)
            if item is not None:
                found.append(item)
        self._next_due = known
        return found

    def _due(self, trigger: dict[str, Any], now: datetime) -> tuple[DueSchedule | None, datetime]:
        """The schedule's due window (None if none) and when it comes due after that."""
        props = trigger["properties"]
        try:
            cron = parse_cron(props["schedule"], props.get("timeZone") or "UTC")
        except ScheduleError:
            return None, _NEVER
        last = _parse((trigger.get("kiln") or {}).get("lastWindow") or trigger["systemData"]["createdAt"])
        windows = cron.between(last, now)
        if not windows:
            return None, cron.next_after(last)
        upcoming = cron.next_after(windows[-1])
        template_id = trigger["id"].rsplit("/triggers/", 1)[0]
        parts = template_id.split("/")
        ref = TemplateRef(parts[2], parts[4], parts[8])
        if (props.get("status") or {}).get("code") == DISABLED:
            self._note_disabled(ref, trigger["name"], windows[-1])
            return None, upcoming
        key = naming.template_key(ref.subscription, ref.resource_group, ref.name)
        name = props.get("cycleName") or f"{ref.name}-{key[1:7]}"
        due = DueSchedule(
            ref=ref,
            template_id=template_id,
            trigger=trigger["name"],
            mode=props.get("mode") or "always",
            cycle_name=name,
            due=windows[-1],
            missed=len(windows) - 1,
        )
        return due, upcoming

    async def _claim_and_start(
        self,
        client: DurableStarter,
        subscription: str,
        cid: str,
        name: str,
        window: datetime,
        items: list[DueSchedule],
        now: datetime,
    ) -> bool:
        instance = cycle_instance_id(subscription, cid)
        late_by = max(0.0, (now - window).total_seconds())
        doc = record.new_cycle(
            subscription=subscription,
            cid=cid,
            cycle_name=name,
            due=_iso(window),
            created=_iso(now),
            late_by=late_by,
            late=late_by > self._late_after,
            missed=max(i.missed for i in items),
            instance_id=instance,
            members=[
                record.member(
                    i.template_id, (i.ref.subscription, i.ref.resource_group, i.ref.name), i.trigger, i.mode
                )
                for i in sorted(items, key=lambda i: i.template_id.lower())
            ],
        )
        key = keys.cycle(subscription, cid)
        created = True
        try:
            await asyncio.to_thread(self._store.create, key, doc)
        except DocumentExists:
            created = False
            current = await asyncio.to_thread(self._store.get, key)
            if current is None or current.body["properties"]["state"] != "Pending":
                return False  # started (or finished) already
        if not created and await runtime_status(client, instance) in RUNNING:
            return False
        inp = CycleInput(cycle=CycleRef(subscription_id=subscription, cycle_id=cid), policy=self._policy)
        try:
            await client.start_new(PATCH_CYCLE.name, instance, inp.model_dump(mode="json"))
        except Exception:
            if await runtime_status(client, instance) in RUNNING:
                return False  # another tick started it a moment ago
            raise
        if doc["properties"]["late"]:
            _log.warning(
                "cycle %s starts %.0f s late (%d missed window(s))",
                cid,
                late_by,
                doc["properties"]["missedWindows"],
            )
        return True

    def _advance(self, item: DueSchedule) -> None:
        """Remember the window the schedule started (never moving it back)."""
        stamp = _iso(item.due)

        def advance(body: dict[str, Any]) -> dict[str, Any]:
            kiln = body.setdefault("kiln", {})
            if not kiln.get("lastWindow") or _parse(kiln["lastWindow"]) < item.due:
                kiln["lastWindow"] = stamp
            kiln["lastDecision"] = {
                "time": now_text(),
                "window": stamp,
                "outcome": "start",
                "missed": item.missed,
            }
            return body

        with contextlib.suppress(DocumentMissing):
            self._store.update(keys.child(keys.TRIGGERS, item.ref, item.trigger), advance)

    def _note_disabled(self, ref: TemplateRef, trigger: str, window: datetime) -> None:
        stamp = _iso(window)

        def note(body: dict[str, Any]) -> dict[str, Any]:
            kiln = body.setdefault("kiln", {})
            kiln["lastWindow"] = stamp
            reason = "The schedule is disabled: " + str(body["properties"]["status"].get("message", ""))
            kiln["lastDecision"] = {"time": now_text(), "window": stamp, "outcome": "skip", "reason": reason}
            return body

        with contextlib.suppress(DocumentMissing):
            self._store.update(keys.child(keys.TRIGGERS, ref, trigger), note)

    # -- the orchestration's activities ---------------------------------------------------------------
    def begin(self, ref: CycleRef) -> CycleBegun:
        """The cycle runs: its document says so; the number of members it has."""

        def running(body: dict[str, Any]) -> dict[str, Any]:
            if body["properties"]["state"] == "Pending":
                body["properties"].update(state="Running", startTime=now_text())
            return body

        doc = self._store.update(keys.cycle(ref.subscription_id, ref.cycle_id), running)
        return CycleBegun(members=len(doc.body["kiln"]["members"]))

    async def admit(self, inp: AdmitInput, client: DurableStarter) -> Admitted:
        """Look at members from ``next_index`` on until ``want`` builds started, the members ran out, or every
        build slot is taken; record each member's outcome. Repeating a call repeats its outcomes."""
        ref = inp.cycle
        doc = await asyncio.to_thread(self._cycle_doc, ref)
        members = doc["kiln"]["members"]
        started: list[InFlight] = []
        index = inp.next_index
        while index < len(members) and len(started) < inp.want:
            outcome = members[index].get("outcome")
            if outcome is None:
                outcome = await self._admit_one(ref, index, members[index], client)
                if outcome is None:
                    return Admitted(started=started, next_index=index, blocked=True)
            if outcome["state"] == "started":
                started.append(InFlight(index=index, run_id=outcome["runId"]))
            index += 1
        return Admitted(started=started, next_index=index)

    async def _admit_one(
        self, ref: CycleRef, index: int, item: dict[str, Any], client: DurableStarter
    ) -> dict[str, Any] | None:
        """Decide one member's outcome and record it; None when no build slot is free."""
        tref = TemplateRef(*item["ref"])
        template = await asyncio.to_thread(self._store.get, keys.template(tref))
        outcome: dict[str, Any]
        if template is None:
            outcome = {"state": "skipped", "reason": "The template no longer exists."}
        elif (
            skip := await asyncio.to_thread(self._skip_reason, tref, template.body, item, ref.cycle_id)
        ) is not None:
            outcome = skip
            if skip["state"] == "started":  # adopted: its orchestration may never have been started
                await self._adopt(tref, skip["runId"], client)
                await asyncio.to_thread(slots.assign, self._store, f"{ref.cycle_id}#{index}", skip["runId"])
        else:
            holder = f"{ref.cycle_id}#{index}"
            now = datetime.now(UTC)
            taken = await asyncio.to_thread(
                slots.acquire,
                self._store,
                holder,
                tref.path,
                limit=self._policy.max_builds,
                finished=self._run_ended,
                now=now,
            )
            if not taken:
                return None
            outcome = await self._start(tref, ref, holder, client)
        outcome["time"] = now_text()
        await asyncio.to_thread(self._set_outcome, ref, index, outcome)
        return outcome

    async def _adopt(self, tref: TemplateRef, run_id: str, client: DurableStarter) -> None:
        """A run an earlier attempt of the admit reserved for this cycle: started now if its starter died
        before starting it, so the cycle never waits on a run that nothing runs."""
        if await ensure_started(self._runs, client, tref, run_id):
            _log.warning("run %s of %s was reserved but never started: started it now", run_id, tref.path)

    def _skip_reason(
        self, ref: TemplateRef, template: dict[str, Any], item: dict[str, Any], cycle_id: str
    ) -> dict[str, Any] | None:
        trigger = self._store.get(keys.child(keys.TRIGGERS, ref, item["trigger"]))
        if trigger is None:
            return {"state": "skipped", "reason": "The template's schedule was deleted."}
        status = trigger.body["properties"].get("status") or {}
        if status.get("code") == DISABLED:
            return {"state": "skippedDisabled", "reason": status.get("message", "The schedule is disabled.")}
        active = template["kiln"].get("activeRun")
        if active:
            run = self._store.get(keys.child(keys.RUNS, ref, active))
            if run is not None:
                ours = run.body["properties"].get("cycle") == cycle_id
            else:  # reserved, and its starter died before writing the run document
                ours = (RunService.reservation(template, active) or {}).get("cycle") == cycle_id
            if ours:  # an earlier attempt of this activity reserved it and died before recording it
                return {"state": "started", "runId": active}
            return {"state": "skippedInFlight", "runId": active, "reason": f"Run '{active}' is in flight."}
        if item["mode"] == "whenChanged":
            try:
                unchanged = self.probe.unchanged(ref)
            except Exception as exc:  # an input that cannot be read is a reason to build, and to say so
                _log.warning("inputs of %s: %s", ref.path, exc)
                unchanged = None
            if unchanged is not None:
                return {
                    "state": "skippedUnchanged",
                    "reason": unchanged.reason,
                    "lastRunId": unchanged.last_run,
                    "fingerprint": unchanged.fingerprint,
                }
        return None

    async def _start(
        self, tref: TemplateRef, ref: CycleRef, holder: str, client: DurableStarter
    ) -> dict[str, Any]:
        try:
            start = await self._start_with_retries(tref, ref, client)
        except RunInFlight as busy:
            await asyncio.to_thread(slots.release, self._store, holder=holder)
            return {
                "state": "skippedInFlight",
                "runId": busy.run_id,
                "reason": f"Run '{busy.run_id}' is in flight.",
            }
        except Exception as exc:
            await asyncio.to_thread(slots.release, self._store, holder=holder)
            return {"state": "failed", "reason": f"The run could not be started: {exc}"}
        await asyncio.to_thread(slots.assign, self._store, holder, start.run_id)
        return {"state": "started", "runId": start.run_id}

    async def _start_with_retries(self, tref: TemplateRef, ref: CycleRef, client: DurableStarter) -> Any:
        """``start_run``, asked again when the orchestration could not be started (the host busy or
        restarting): a failed start ends its reserved run, so another attempt starts cleanly."""
        for attempt in range(START_ATTEMPTS):
            try:
                return await start_run(self._runs, client, tref, trigger=SCHEDULE, cycle=ref.cycle_id)
            except (RunInFlight, KilnError):
                raise
            except Exception as exc:
                if attempt == START_ATTEMPTS - 1:
                    raise
                _log.warning("start of %s failed (attempt %d), trying again: %s", tref.path, attempt + 1, exc)
                await asyncio.sleep(2.0 * (attempt + 1))
        raise AssertionError("unreachable")

    def check(self, inp: CheckInput) -> Checked:
        """Which of the cycle's builds in flight have ended: outcomes recorded, slots given back."""
        doc = self._cycle_doc(inp.cycle)
        members = doc["kiln"]["members"]
        ended: list[InFlight] = []
        for build in inp.in_flight:
            tref = TemplateRef(*members[build.index]["ref"])
            run = self._store.get(keys.child(keys.RUNS, tref, build.run_id))
            if run is not None and not is_finished(run.body):
                continue
            props = run.body["properties"] if run else {}
            state = props.get("runState", "Failed")
            outcome = {
                "state": "succeeded" if state == "Succeeded" else "failed",
                "runId": build.run_id,
                "runState": state,
                "endTime": props.get("endTime") or now_text(),
            }
            if state != "Succeeded":
                outcome["reason"] = props.get("message") or "The run document is gone."
            self._set_outcome(inp.cycle, build.index, outcome, keep_time=True)
            slots.release(self._store, run_id=build.run_id)
            ended.append(build)
        return Checked(ended=ended)

    def finish(self, ref: CycleRef) -> CycleSummary:
        """The cycle ended: its state from its members' outcomes, its end time."""

        def end(body: dict[str, Any]) -> dict[str, Any]:
            if body["properties"]["state"] not in record.TERMINAL:
                body["properties"].update(state=record.final_state(body), endTime=now_text())
            return body

        doc = self._store.update(keys.cycle(ref.subscription_id, ref.cycle_id), end).body
        return CycleSummary(state=doc["properties"]["state"], counts=record.counts(doc))

    def fail(self, failure: CycleFailure) -> CycleSummary:
        """The cycle orchestration failed: its document says Failed and why. Builds it started run on (and
        give their slots back as they end); slots its members took without naming a run go back now."""
        ref = failure.cycle

        def end(body: dict[str, Any]) -> dict[str, Any]:
            if body["properties"]["state"] not in record.TERMINAL:
                body["properties"].update(state="Failed", endTime=now_text(), message=failure.message)
            return body

        doc = self._store.update(keys.cycle(ref.subscription_id, ref.cycle_id), end).body
        for index, member in enumerate(doc["kiln"]["members"]):
            if (member.get("outcome") or {}).get("state") != "started":
                slots.release(self._store, holder=f"{ref.cycle_id}#{index}")
        return CycleSummary(state=doc["properties"]["state"], counts=record.counts(doc))

    def _cycle_doc(self, ref: CycleRef) -> dict[str, Any]:
        doc = self._store.get(keys.cycle(ref.subscription_id, ref.cycle_id))
        if doc is None:
            raise NotFound(f"Patch cycle '{ref.cycle_id}' was not found.")
        return doc.body

    def _set_outcome(
        self, ref: CycleRef, index: int, outcome: dict[str, Any], *, keep_time: bool = False
    ) -> None:
        def put(body: dict[str, Any]) -> dict[str, Any]:
            old = body["kiln"]["members"][index].get("outcome") or {}
            new = dict(outcome)
            if keep_time and old.get("time"):
                new["time"] = old["time"]
            body["kiln"]["members"][index]["outcome"] = new
            return body

        self._store.update(keys.cycle(ref.subscription_id, ref.cycle_id), put)

    def _run_ended(self, template: str, run_id: str) -> bool:
        sub, rg, name = template.split("/")
        run = self._store.get(keys.child(keys.RUNS, TemplateRef(sub, rg, name), run_id))
        return run is None or is_finished(run.body)

    # -- reads ----------------------------------------------------------------------------------------
    def page(self, subscription: str, *, token: str | None) -> Page:
        """One page of the subscription's cycles, newest due window first."""
        scope = keys.cycles_prefix(subscription)
        after = documents.decode_token(token, scope)
        docs = [
            d.body
            for k in self._store.list_all_keys(keys.cycles_prefix(subscription))
            if (d := self._store.get(k))
        ]
        docs.sort(key=lambda d: (d["properties"]["dueTime"], d["name"]), reverse=True)
        names = [d["name"].lower() for d in docs]
        start = names.index(after) + 1 if after in names else 0
        page = docs[start : start + self._page_size]
        more = start + len(page) < len(docs)
        return Page(
            [record.render(d) for d in page],
            documents.encode_token(page[-1]["name"].lower(), scope) if more and page else None,
        )

    def get(self, subscription: str, cycle_id: str) -> dict[str, Any]:
        return record.render(self._cycle_doc(CycleRef(subscription_id=subscription, cycle_id=cycle_id)))

    def outdated(self, subscription: str) -> list[dict[str, Any]]:
        """Templates whose latest published image was built from a source older than the source's latest."""
        found: list[dict[str, Any]] = []
        for key in self._store.list_all_keys(keys.templates_prefix(subscription)):
            doc = self._store.get(key)
            if doc is None:
                continue
            item = self._outdated(doc.body)
            if item is not None:
                found.append(item)
        return found

    def _outdated(self, template: dict[str, Any]) -> dict[str, Any] | None:
        item = watched(template, "")
        if item is None:
            return None  # a pinned source never falls behind
        outputs = [
            d.body
            for k in self._store.list_all_keys(keys.children_prefix(keys.RUN_OUTPUTS, item.ref))
            if (d := self._store.get(k))
        ]
        if not outputs:
            return None
        newest = max(outputs, key=lambda o: str(o.get("kiln", {}).get("runId", "")))
        provenance = newest["properties"].get("provenance") or {}
        built = provenance.get(naming.SOURCE_VERSION_TAG)
        try:
            latest = latest_version(self._azure, item)
        except Exception as exc:
            return {
                "template": template["readOnly"]["id"],
                "builtFrom": built,
                "latest": None,
                "error": str(exc),
            }
        if latest is None or built is None or same_version(built, latest):
            return None
        if version_key(latest.rsplit("/", 1)[-1]) <= version_key(built.rsplit("/", 1)[-1]):
            return None
        return {
            "template": template["readOnly"]["id"],
            "runOutput": newest["name"],
            "artifactId": newest["properties"].get("artifactId") or newest["properties"].get("artifactUri"),
            "runId": provenance.get(naming.OUTPUT_RUN_TAG),
            "builtFrom": built,
            "latest": latest,
        }
