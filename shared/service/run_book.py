"""The run bookkeeping shared by the API and the ``update_run_status`` activity: run documents, the
template's lastRunStatus, and the async operations that follow a run.

Every write is ETag-guarded (``JsonStore.update``) and derived from the run document, so repeating any of
them (activities run at least once) changes nothing.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import Any

from shared import ports
from shared.errors import KilnError
from shared.service import run_documents as rd
from shared.service import run_trace
from shared.service.operations import IN_PROGRESS, Operations
from shared.service.resources import now, resource_group_id
from shared.store import DocumentExists, DocumentMissing, JsonStore, TemplateRef, keys

Mutation = Callable[[dict[str, Any]], dict[str, Any]]
_log = logging.getLogger("kiln.runs")


def ref_of_run(run: dict[str, Any]) -> TemplateRef:
    """The template a ``RunRef`` (JSON) belongs to."""
    return TemplateRef(run["subscription_id"], run["resource_group"], run["template_name"])


class RunBook:
    """Reads and writes run documents and keeps the template and operations in step with them."""

    def __init__(
        self, store: JsonStore, *, operations: Operations, tracer: ports.RunTracer | None = None
    ) -> None:
        self._store = store
        self._operations = operations
        self._tracer = tracer

    def apply(self, update: dict[str, Any]) -> dict[str, Any]:
        """Apply a ``RunStatusUpdate`` (JSON) to the run document and the template's lastRunStatus."""
        ref = ref_of_run(update["run"])
        run_id = update["run"]["run_id"]
        key = keys.child(keys.RUNS, ref, run_id)
        if self._store.get(key) is None:
            template = self._store.get(keys.template(ref))
            suffix = run_id.rsplit("-", 1)[-1]
            run = rd.new_run(
                template_id=template.body["readOnly"]["id"] if template else "",
                run_id=run_id,
                number=int(suffix) if suffix.isdigit() else 0,
                trigger="Manual",
                now=update["time"],
            )
            if template is None:  # the template is gone: leave no orphan run document behind
                rd.apply_update(run, update)
                return run
            self.put_run(ref, run)

        def change(run: dict[str, Any]) -> dict[str, Any]:
            rd.apply_update(run, update)
            return run

        run = self._write(key, change)
        self.sync_template(ref, run)
        if rd.is_finished(run):
            self.close_operations(ref, run)
        return run

    def refresh_operation(self, op: dict[str, Any]) -> dict[str, Any]:
        """Close a run or cancel operation whose run has ended (a backstop for a lost update)."""
        extra = op.get("kiln") or {}
        if op["status"] != IN_PROGRESS or op.get("action") not in ("run", "cancel") or "runId" not in extra:
            return op
        sub, rg, name = extra["template"].split("/")
        ref = TemplateRef(sub, rg, name)
        doc = self._store.get(keys.child(keys.RUNS, ref, extra["runId"]))
        if doc is None or rd.is_finished(doc.body):
            self.close_operations(ref, doc.body if doc else None, only=op)
            return self._operations.get(op["subscription"], op["id"])
        return op

    def put_run(self, ref: TemplateRef, run: dict[str, Any]) -> None:
        """Create a run document (a retried create keeps the existing one and adds its operations)."""
        key = keys.child(keys.RUNS, ref, run["name"])
        try:
            self._store.create(key, run)
        except DocumentExists:  # a retried start: keep what is there, add the operations

            def merge(body: dict[str, Any]) -> dict[str, Any]:
                body["kiln"]["operations"] += [
                    o for o in run["kiln"]["operations"] if o not in body["kiln"]["operations"]
                ]
                return body

            self._store.update(key, merge)

    def update_run(self, ref: TemplateRef, run_id: str, mutate: Mutation) -> dict[str, Any]:
        """ETag-guarded change of a run document (created first if a start never wrote it)."""
        key = keys.child(keys.RUNS, ref, run_id)
        if self._store.get(key) is None:
            template = self._store.get(keys.template(ref))
            tid = template.body["readOnly"]["id"] if template else ""
            self.put_run(
                ref, rd.new_run(template_id=tid, run_id=run_id, number=0, trigger="Manual", now=now())
            )
        return self._write(key, mutate)

    def _write(self, key: str, mutate: Mutation) -> dict[str, Any]:
        """Change the run document at ``key``, then trace what the change ended (``run_trace.py``)."""
        seen: list[dict[str, Any]] = []

        def change(run: dict[str, Any]) -> dict[str, Any]:
            seen[:] = [copy.deepcopy(run)]  # the last attempt is the one that was written
            return mutate(run)

        run = self._store.update(key, change).body
        if self._tracer is not None:
            try:
                spans = run_trace.ended_spans(seen[0] if seen else None, run)
                if spans:
                    self._tracer.export(spans)
            except Exception:  # tracing is a view of the run: it never fails the run's bookkeeping
                _log.exception("run %s: its spans could not be exported", run.get("name"))
        return run

    def sync_template(self, ref: TemplateRef, run: dict[str, Any]) -> None:
        """Copy the run's state to the template if it is the template's latest run."""
        props = run["properties"]

        def sync(body: dict[str, Any]) -> dict[str, Any]:
            kiln, ro = body["kiln"], body["readOnly"]
            latest = (
                props["runNumber"] >= int(kiln.get("runCounter") or 0) or kiln.get("activeRun") == run["name"]
            )
            if latest:
                ro["lastRunStatus"] = rd.last_run_status(run)
                if props.get("exactVersion"):
                    ro["exactVersion"] = props["exactVersion"]
                if props.get("stagingResourceGroup"):
                    ro["exactStagingResourceGroup"] = resource_group_id(
                        ref.subscription, props["stagingResourceGroup"]
                    )
            if rd.is_finished(run) and kiln.get("activeRun") == run["name"]:
                kiln["activeRun"] = None
            return body

        try:
            self._store.update(keys.template(ref), sync)
        except DocumentMissing:
            return

    def close_operations(
        self, ref: TemplateRef, run: dict[str, Any] | None, *, only: dict[str, Any] | None = None
    ) -> None:
        """End the operations following a finished run (``only``: just that one) as the run ended."""
        state = run["properties"]["runState"] if run else "Failed"
        message = run["properties"]["message"] if run else "The run no longer exists."
        ops = run["kiln"]["operations"] if run else []
        if only is not None:
            ops = [{"id": only["id"], "kind": only["action"]}]
        for op in ops:
            if op["kind"] == "cancel" or state == "Succeeded":
                self._operations.finish(ref.subscription, op["id"])
            elif state == "Canceled":
                error = KilnError(code="RunCanceled", message=message)
                self._operations.finish(ref.subscription, op["id"], error=error, status="Canceled")
            else:
                code = "RunPartiallySucceeded" if state == "PartiallySucceeded" else "RunFailed"
                self._operations.finish(
                    ref.subscription, op["id"], error=KilnError(code=code, message=message)
                )
