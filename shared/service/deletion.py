"""Deleting a template: mark it Deleting, let the build flow clean up what kiln created, then forget it.

AIB deletes the staging resource group it created (or, for a pre-existing one, only what it put inside) when
the template is deleted. kiln creates staging resources only when a build runs, so the cleanup is a hook:
``CleanupHook.begin_delete`` starts it and returns True when nothing remains to be done; otherwise the build
flow calls ``TemplateDeletion.finish`` (or ``fail``) when its cleanup ends. Until then the template reads as
provisioningState Deleting and the operation as InProgress.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from shared.errors import KilnError
from shared.service.operations import IN_PROGRESS, Operations
from shared.service.trigger_rules import release_trigger_quota
from shared.store import DocumentMissing, JsonStore, TemplateRef, keys


class CleanupHook(Protocol):
    """What the build flow provides to delete the resources kiln created for a template."""

    def begin_delete(self, *, ref: TemplateRef, template: dict[str, Any], operation_id: str) -> bool:
        """Start the cleanup; return True if it already finished (then the template is forgotten at once)."""
        ...

    def advance(self, *, ref: TemplateRef, template: dict[str, Any]) -> bool:
        """Take the cleanup one step further (on each poll of the operation); True when it has finished."""
        ...


class NothingToClean:
    """The hook until the build flow exists: no build has created anything, so nothing is left to delete."""

    def begin_delete(self, *, ref: TemplateRef, template: dict[str, Any], operation_id: str) -> bool:
        return True

    def advance(self, *, ref: TemplateRef, template: dict[str, Any]) -> bool:
        return True


@dataclass(frozen=True)
class DeleteOutcome:
    """The operation tracking the delete; None when the template did not exist (ARM answers 204)."""

    operation: dict[str, Any] | None
    active_run: str | None = None  # a run in flight the caller must cancel (it holds the Durable client)


class TemplateDeletion:
    """DELETE of a template and of everything stored under it."""

    def __init__(self, store: JsonStore, *, operations: Operations, cleanup: CleanupHook) -> None:
        self._store = store
        self._operations = operations
        self._cleanup = cleanup

    def delete(self, ref: TemplateRef) -> DeleteOutcome:
        """Begin deleting the template; a repeated DELETE while it runs returns the same operation."""
        key = keys.template(ref)
        doc = self._store.get(key)
        if doc is None:
            return DeleteOutcome(None)
        existing = doc.body["kiln"].get("deleteOperation")
        if existing:
            return DeleteOutcome(
                self._operations.get(ref.subscription, existing), doc.body["kiln"].get("activeRun")
            )
        op = self._operations.start(
            subscription=ref.subscription,
            location=doc.body["spec"]["location"],
            resource_id=doc.body["readOnly"]["id"],
            action="delete",
            extra={"template": ref.path},
        )

        def mark(body: dict[str, Any]) -> dict[str, Any]:
            if body["kiln"].get("deleteOperation"):
                raise _AlreadyDeleting(body["kiln"]["deleteOperation"])
            body["kiln"]["deleteOperation"] = op["id"]
            body["readOnly"]["provisioningState"] = "Deleting"
            return body

        try:
            marked = self._store.update(key, mark)
        except DocumentMissing:
            self._operations.finish(ref.subscription, op["id"])
            return DeleteOutcome(None)
        except _AlreadyDeleting as raced:
            self._operations.finish(ref.subscription, op["id"])
            return DeleteOutcome(self._operations.get(ref.subscription, raced.operation_id))
        try:
            canonical = _canonical(marked.body["readOnly"]["id"])
            finished = self._cleanup.begin_delete(ref=canonical, template=marked.body, operation_id=op["id"])
        except KilnError as error:
            self.fail(ref, op["id"], error)
            finished = False
        if finished:
            self.finish(ref, op["id"])
        return DeleteOutcome(
            self._operations.get(ref.subscription, op["id"]), marked.body["kiln"].get("activeRun")
        )

    def advance(self, op: dict[str, Any]) -> None:
        """Advance the cleanup behind an InProgress delete operation; finish or fail the delete."""
        if op.get("action") != "delete" or op["status"] != IN_PROGRESS:
            return
        ref = _ref_of(op)
        doc = self._store.get(keys.template(ref)) if ref is not None else None
        if ref is None or doc is None:
            self._operations.finish(op["subscription"], op["id"])
            return
        if doc.body["kiln"].get("deleteOperation") != op["id"]:
            return
        ref = _canonical(doc.body["readOnly"]["id"])
        try:
            done = self._cleanup.advance(ref=ref, template=doc.body)
        except KilnError as error:
            self.fail(ref, op["id"], error)
            return
        if done:
            self.finish(ref, op["id"])

    def finish(self, ref: TemplateRef, operation_id: str) -> None:
        """Forget the template and its triggers, runs and run outputs; the operation Succeeds."""
        doc = self._store.get(keys.template(ref))
        if doc is not None:
            for name in doc.body["kiln"].get("triggers", []):
                release_trigger_quota(self._store, ref, name, location=doc.body["spec"]["location"])
        for kind in (keys.TRIGGERS, keys.RUNS, keys.RUN_OUTPUTS):
            for child in self._store.list_all_keys(keys.children_prefix(kind, ref)):
                self._store.delete(child)
        self._store.delete(keys.template(ref))
        self._operations.finish(ref.subscription, operation_id)

    def fail(self, ref: TemplateRef, operation_id: str, error: KilnError) -> None:
        """The cleanup failed: the template stays (Failed, with the error) so the delete can be retried."""

        def mark_failed(body: dict[str, Any]) -> dict[str, Any]:
            body["kiln"]["deleteOperation"] = None
            body["readOnly"]["provisioningState"] = "Failed"
            body["readOnly"]["provisioningError"] = {
                "provisioningErrorCode": "Other",
                "message": error.message,
            }
            return body

        try:
            self._store.update(keys.template(ref), mark_failed)
        finally:
            self._operations.finish(ref.subscription, operation_id, error=error)


def _canonical(template_id: str) -> TemplateRef:
    """The template's ref in the casing it was created with (tags in Azure keep that casing)."""
    parts = template_id.strip("/").split("/")
    return TemplateRef(parts[1], parts[3], parts[-1])


def _ref_of(op: dict[str, Any]) -> TemplateRef | None:
    path = (op.get("kiln") or {}).get("template")
    if not path:
        return None
    sub, rg, name = path.split("/")
    return TemplateRef(sub, rg, name)


class _AlreadyDeleting(Exception):
    def __init__(self, operation_id: str) -> None:
        super().__init__(operation_id)
        self.operation_id = operation_id
