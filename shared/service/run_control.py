"""Runs of a template: start, cancel, read (the bookkeeping behind them is ``run_book.py``).

"One run in flight per template" is kept on the template document's ETag (``kiln.activeRun``, with the run
counter ``kiln.runCounter``); the Durable instance id is the run id, so Durable refuses a second start of an
instance still running (the HTTP function turns that into the same 409). The Durable client lives in the
HTTP functions (it is async); this service only reads and writes documents.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shared import naming, ports
from shared.errors import Conflict, NotFound
from shared.models import fingerprint as fp
from shared.models.build import TimingPolicy
from shared.service import documents
from shared.service import run_documents as rd
from shared.service.operations import Operations
from shared.service.resources import now
from shared.service.run_book import RunBook
from shared.store import DocumentMissing, JsonStore, TemplateRef, keys

_log = logging.getLogger("kiln.runs")


class RunInFlight(Conflict):
    """A second run while one is in flight (409, naming the run)."""

    def __init__(self, template: str, run_id: str) -> None:
        super().__init__(
            f"Image template '{template}' already has a run in flight ('{run_id}'). Wait for it to finish, "
            "or cancel it with POST …/cancel, then run the template again.",
            code="RunInFlight",
        )
        self.run_id = run_id


@dataclass(frozen=True)
class RunStart:
    """A reserved run: its id, the ``BuildInput`` JSON to start ``build_image`` with, its operation."""

    run_id: str
    input: dict[str, Any]
    operation: dict[str, Any]


class RunService:
    """Start, cancel and read runs; apply the orchestration's status updates."""

    def __init__(
        self,
        store: JsonStore,
        *,
        operations: Operations,
        page_size: int,
        timing: TimingPolicy,
        failures_to_disable: int = 3,
        tracer: ports.RunTracer | None = None,
    ) -> None:
        self._store = store
        self._failures_to_disable = failures_to_disable
        self._operations = operations
        self.book = RunBook(store, operations=operations, tracer=tracer)
        self._page_size = page_size
        self._timing = timing

    # -- start and cancel ----------------------------------------------------------------------------
    def begin(self, ref: TemplateRef, *, trigger: str = "Manual", cycle: str | None = None) -> RunStart:
        """Reserve the template's next run (409 ``RunInFlight`` if one is in flight)."""
        stamp = now()
        reserved: dict[str, Any] = {}

        def reserve(body: dict[str, Any]) -> dict[str, Any]:
            state = body["readOnly"]["provisioningState"]
            if state != "Succeeded":
                raise Conflict(
                    f"Image template '{ref.name}' is {state}: only a template whose provisioningState is "
                    "Succeeded can run.",
                    code="InvalidTemplateState",
                )
            active = body["kiln"].get("activeRun")
            if active:
                raise RunInFlight(ref.name, active)
            number = int(body["kiln"].get("runCounter") or 0) + 1
            created = str(body["readOnly"]["systemData"].get("createdAt") or "")
            run_id = naming.run_id(
                ref.subscription, ref.resource_group, ref.name, number, incarnation=created
            )
            # What the run document will say, kept with the reservation: a starter that dies before it
            # writes the run document leaves enough for the next one to write it (``reserved_input``).
            reservation = {"runId": run_id, "number": number, "trigger": trigger, "startTime": stamp}
            if cycle:
                reservation["cycle"] = cycle
            body["kiln"].update(runCounter=number, activeRun=run_id, reservation=reservation)
            body["readOnly"]["lastRunStatus"] = {
                "startTime": stamp,
                "runState": "Running",
                "runSubState": "Queued",
                "message": "Run queued.",
            }
            reserved.update(number=number, run_id=run_id)
            return body

        try:
            doc = self._store.update(keys.template(ref), reserve)
        except DocumentMissing as exc:
            raise documents.not_found(ref) from exc
        run_id, number = reserved["run_id"], reserved["number"]
        op = self._record_run(ref, doc.body, run_id, number, trigger=trigger, cycle=cycle, stamp=stamp)
        return RunStart(run_id, rd.build_input(ref, doc.body, run_id, trigger, stamp, self._timing), op)

    def _record_run(
        self,
        ref: TemplateRef,
        template: dict[str, Any],
        run_id: str,
        number: int,
        *,
        trigger: str,
        cycle: str | None,
        stamp: str,
    ) -> dict[str, Any]:
        """The reserved run's operation and run document."""
        op = self._operations.start(
            subscription=ref.subscription,
            location=template["spec"]["location"],
            resource_id=template["readOnly"]["id"],
            action="run",
            extra={"template": ref.path, "runId": run_id},
        )
        run = rd.new_run(
            template_id=template["readOnly"]["id"],
            run_id=run_id,
            number=number,
            trigger=trigger,
            now=stamp,
            template_hash=fp.template_hash(template["spec"]),
        )
        if cycle:
            run["properties"]["cycle"] = cycle
        run["kiln"]["operations"] = [{"id": op["id"], "kind": "run"}]
        self.book.put_run(ref, run)
        return op

    @staticmethod
    def reservation(template: dict[str, Any], run_id: str) -> dict[str, Any] | None:
        """What ``begin`` kept of ``run_id``'s reservation on the template while it is the run in flight."""
        kept = template["kiln"].get("reservation") or {}
        if template["kiln"].get("activeRun") != run_id or kept.get("runId") != run_id:
            return None
        return dict(kept)

    def reserved_input(self, ref: TemplateRef, run_id: str) -> dict[str, Any] | None:
        """The ``BuildInput`` ``begin`` gave for ``run_id``, rebuilt from the template as stored and the run's
        trigger and start time, while that run is still the template's run in flight (None otherwise): for a
        starter that died between reserving a run and starting its orchestration. A starter that died before
        it wrote the run document leaves the reservation on the template: the document is written now."""
        template = self._store.get(keys.template(ref))
        if template is None or template.body["kiln"].get("activeRun") != run_id:
            return None
        run = self._store.get(keys.child(keys.RUNS, ref, run_id))
        kept = self.reservation(template.body, run_id)
        if run is None and kept is not None:
            self._record_run(
                ref,
                template.body,
                run_id,
                int(kept["number"]),
                trigger=kept["trigger"],
                cycle=kept.get("cycle"),
                stamp=kept["startTime"],
            )
            run = self._store.get(keys.child(keys.RUNS, ref, run_id))
        if run is None or rd.is_finished(run.body):
            return None
        props = run.body["properties"]
        return rd.build_input(ref, template.body, run_id, props["trigger"], props["startTime"], self._timing)

    def abandon(self, ref: TemplateRef, run_id: str, message: str) -> None:
        """The orchestration could not be started: the run ends Failed and frees the template."""
        self.settle(ref, run_id, state="Failed", message=message)

    def begin_cancel(self, ref: TemplateRef) -> tuple[str, dict[str, Any]]:
        """Mark the run in flight Canceling; return its id and the cancel operation (409 if none)."""
        template = documents.read(self._store, ref).body
        run_id = template["kiln"].get("activeRun")
        if not run_id:
            raise Conflict(
                f"Image template '{ref.name}' has no run in flight to cancel.", code="NoRunInFlight"
            )
        op = self._operations.start(
            subscription=ref.subscription,
            location=template["spec"]["location"],
            resource_id=template["readOnly"]["id"],
            action="cancel",
            extra={"template": ref.path, "runId": run_id},
        )

        def canceling(run: dict[str, Any]) -> dict[str, Any]:
            if not rd.is_finished(run):
                run["properties"].update(runState="Canceling", message="Cancel requested.")
            run["kiln"]["operations"].append({"id": op["id"], "kind": "cancel"})
            return run

        run = self.book.update_run(ref, run_id, canceling)
        self.book.sync_template(ref, run)
        if rd.is_finished(run):
            self.book.close_operations(ref, run)
        return run_id, op

    def settle(self, ref: TemplateRef, run_id: str, *, state: str, message: str) -> None:
        """End a run whose orchestration will never report again (not started, gone, terminated)."""

        def end(run: dict[str, Any]) -> dict[str, Any]:
            if not rd.is_finished(run):
                run["properties"].update(runState=state, message=message)
                rd.apply_update(
                    run, {"time": now(), "finished": True, "run_state": state, "message": message}
                )
            return run

        run = self.book.update_run(ref, run_id, end)
        self.book.sync_template(ref, run)
        self.book.close_operations(ref, run)
        self._on_run_end(ref, run)

    # -- reads ---------------------------------------------------------------------------------------
    def get(self, ref: TemplateRef, run_id: str) -> dict[str, Any]:
        """The run resource; 404 when the template or the run is absent."""
        return rd.render_run(self.document(ref, run_id))

    def document(self, ref: TemplateRef, run_id: str) -> dict[str, Any]:
        documents.read(self._store, ref)
        doc = self._store.get(keys.child(keys.RUNS, ref, run_id))
        if doc is None:
            raise NotFound(f"Run '{run_id}' of image template '{ref.name}' was not found.")
        return doc.body

    def list(self, ref: TemplateRef, *, token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the template's runs, newest first, and the next page's token."""
        documents.read(self._store, ref)
        prefix = keys.children_prefix(keys.RUNS, ref)
        after = documents.decode_token(token, prefix)
        names = sorted(self._store.list_all_keys(prefix), reverse=True)
        if after is not None:
            names = [n for n in names if n < after]
        page = names[: self._page_size]
        items = [rd.render_run(d.body) for k in page if (d := self._store.get(k)) is not None]
        more = len(names) > len(page)
        return items, documents.encode_token(page[-1], prefix) if more and page else None

    def active_run(self, ref: TemplateRef) -> str | None:
        doc = self._store.get(keys.template(ref))
        return None if doc is None else doc.body["kiln"].get("activeRun")

    # -- the orchestration's updates -----------------------------------------------------------------
    def apply(self, update: dict[str, Any]) -> dict[str, Any]:
        """Apply a ``RunStatusUpdate`` (JSON) to the run document and the template's lastRunStatus."""
        run = self.book.apply(update)
        if rd.is_finished(run):
            r = update["run"]
            self._on_run_end(TemplateRef(r["subscription_id"], r["resource_group"], r["template_name"]), run)
        return run

    def progress(self, run: dict[str, Any], target: str, regions: Sequence[dict[str, Any]]) -> None:
        """Merge live region progress into the run document (a finished or missing run is left alone)."""
        ref = TemplateRef(run["subscription_id"], run["resource_group"], run["template_name"])
        key = keys.child(keys.RUNS, ref, run["run_id"])

        def merge(body: dict[str, Any]) -> dict[str, Any]:
            rd.merge_progress(body, target, regions, now())
            return body

        try:
            self._store.update(key, merge)
        except DocumentMissing:
            return

    def _on_run_end(self, ref: TemplateRef, run: dict[str, Any]) -> None:
        """Let the template's triggers count the run (deactivation / re-activation), remember a success's
        input fingerprint (whenChanged), and give back a patch cycle's build slot."""
        from shared.service import trigger_state
        from shared.service.cycles import slots

        try:
            trigger_state.on_run_end(self._store, ref, run, threshold=self._failures_to_disable)
            if run["properties"].get("runState") == "Succeeded":
                self._remember_success(ref, run)
            if run["properties"].get("cycle"):
                slots.release(self._store, run_id=run["name"])
        except Exception:  # the triggers' health must never fail the run's own bookkeeping
            _log.exception("trigger health after run %s", run.get("name"))

    def _remember_success(self, ref: TemplateRef, run: dict[str, Any]) -> None:
        inputs = run["properties"].get("inputs") or {}
        stamp = {"runId": run["name"], "fingerprint": inputs.get("fingerprint"), "time": now()}

        def remember(body: dict[str, Any]) -> dict[str, Any]:
            last = body["kiln"].get("lastSucceeded") or {}
            if str(last.get("runId") or "") <= run["name"]:  # run ids of a template sort by age
                body["kiln"]["lastSucceeded"] = stamp
            return body

        with contextlib.suppress(DocumentMissing):
            self._store.update(keys.template(ref), remember)

    def refresh_operation(self, op: dict[str, Any]) -> dict[str, Any]:
        """Close a run or cancel operation whose run has ended (a backstop for a lost update)."""
        return self.book.refresh_operation(op)
