"""The triggers sub-resource: SourceImage triggers under AIB's rules (aib-contract §8, [TRG])."""

from __future__ import annotations

import contextlib
from typing import Any

from shared.errors import Conflict, NotFound, ValidationFailed
from shared.service import contract, documents
from shared.service.operations import Operations
from shared.service.resources import TRIGGER_TYPE, Caller, now, system_data
from shared.service.templates import Page, PutOutcome
from shared.service.trigger_rules import (
    TRIGGERS_PER_REGION,
    release_trigger_quota,
    reserve_trigger_quota,
    trigger_rule_problems,
)
from shared.store import DocumentExists, DocumentMissing, JsonStore, TemplateRef, keys

HEALTHY = {"code": "Healthy", "message": "Trigger is active."}


class TriggerService:
    """Create, read, list and delete a template's triggers."""

    def __init__(
        self,
        store: JsonStore,
        *,
        operations: Operations,
        page_size: int,
        per_region_limit: int = TRIGGERS_PER_REGION,
    ) -> None:
        self._store = store
        self._operations = operations
        self._page_size = page_size
        self._limit = per_region_limit

    def put(self, ref: TemplateRef, name: str, body: dict[str, Any], *, caller: Caller) -> PutOutcome:
        """Create a trigger; the same PUT again returns it unchanged (``kind`` cannot change)."""
        kind = contract.check_trigger(body)
        template = documents.read(self._store, ref).body
        existing = self._store.get(keys.child(keys.TRIGGERS, ref, name))
        if existing is not None:
            return PutOutcome(False, render_trigger(existing.body), None)
        problems = trigger_rule_problems(template)
        if problems:
            raise ValidationFailed(problems)
        location = template["spec"]["location"]
        reserve_trigger_quota(self._store, ref, name, location=location, limit=self._limit)
        try:
            self._attach(ref, name)
        except BaseException:
            release_trigger_quota(self._store, ref, name, location=location)
            raise
        doc = _new_trigger(ref, name, kind, caller, template["readOnly"]["id"])
        try:
            self._store.create(keys.child(keys.TRIGGERS, ref, name), doc)
        except DocumentExists:
            raced = self._store.get(keys.child(keys.TRIGGERS, ref, name))
            return PutOutcome(False, render_trigger(raced.body if raced else doc), None)
        op = self._operations.start(
            subscription=ref.subscription,
            location=location,
            resource_id=doc["id"],
            action="create",
            done=True,
        )
        return PutOutcome(True, render_trigger(doc), op)

    def get(self, ref: TemplateRef, name: str) -> dict[str, Any]:
        """The trigger resource; 404 when the template or the trigger is absent."""
        documents.read(self._store, ref)
        doc = self._store.get(keys.child(keys.TRIGGERS, ref, name))
        if doc is None:
            raise NotFound(f"Trigger '{name}' of image template '{ref.name}' was not found.")
        return render_trigger(doc.body)

    def list(self, ref: TemplateRef, *, token: str | None) -> Page:
        """One page of the template's triggers."""
        documents.read(self._store, ref)
        prefix = keys.children_prefix(keys.TRIGGERS, ref)
        docs, marker = self._store.list_page(
            prefix, page_size=self._page_size, continuation=documents.decode_token(token, prefix)
        )
        return Page([render_trigger(d.body) for d in docs], documents.encode_token(marker, prefix))

    def delete(self, ref: TemplateRef, name: str) -> dict[str, Any] | None:
        """Delete a trigger; returns the (finished) operation, or None when it did not exist."""
        template = documents.read(self._store, ref).body
        doc = self._store.get(keys.child(keys.TRIGGERS, ref, name))
        if doc is None:
            return None
        self._store.delete(keys.child(keys.TRIGGERS, ref, name))

        def detach(body: dict[str, Any]) -> dict[str, Any]:
            body["kiln"]["triggers"] = [t for t in body["kiln"]["triggers"] if t != name.lower()]
            return body

        with contextlib.suppress(DocumentMissing):
            self._store.update(keys.template(ref), detach)
        location = template["spec"]["location"]
        release_trigger_quota(self._store, ref, name, location=location)
        return self._operations.start(
            subscription=ref.subscription,
            location=location,
            resource_id=doc.body["id"],
            action="delete",
            done=True,
        )

    def _attach(self, ref: TemplateRef, name: str) -> None:
        """Record the trigger on the template under its ETag, so two PUTs cannot both add one."""

        def attach(body: dict[str, Any]) -> dict[str, Any]:
            if body["readOnly"]["provisioningState"] != "Succeeded":
                raise Conflict(
                    f"Image template '{ref.name}' is {body['readOnly']['provisioningState']}: a trigger "
                    "needs a template whose provisioningState is Succeeded."
                )
            others = [t for t in body["kiln"]["triggers"] if t != name.lower()]
            if others:
                raise Conflict(
                    f"Image template '{ref.name}' already has the SourceImage trigger '{others[0]}': "
                    "a template can have only one SourceImage trigger.",
                )
            body["kiln"]["triggers"] = [*others, name.lower()]
            return body

        try:
            self._store.update(keys.template(ref), attach)
        except DocumentMissing as exc:
            raise documents.not_found(ref) from exc


def render_trigger(body: dict[str, Any]) -> dict[str, Any]:
    """The trigger resource as callers see it."""
    return {k: body[k] for k in ("id", "name", "type", "properties", "systemData") if k in body}


def _new_trigger(ref: TemplateRef, name: str, kind: str, caller: Caller, template_id: str) -> dict[str, Any]:
    return {
        "schemaVersion": 1,
        "id": f"{template_id}/triggers/{name}",
        "name": name,
        "type": TRIGGER_TYPE,
        "properties": {"kind": kind, "status": {**HEALTHY, "time": now()}, "provisioningState": "Succeeded"},
        "systemData": system_data(caller),
    }
