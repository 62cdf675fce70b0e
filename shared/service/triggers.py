"""The triggers sub-resource: SourceImage triggers under AIB's rules (aib-contract §8, [TRG]), and kiln's
Schedule triggers (docs/cycles.md).

A template holds at most one trigger of each kind: the names are kept on the template document, SourceImage
ones under ``kiln.triggers`` (what the source watch reads), Schedule ones under ``kiln.schedules``.
"""

from __future__ import annotations

import contextlib
from typing import Any

from shared.errors import Conflict, ErrorDetail, NotFound, ValidationFailed
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
SCHEDULE = "Schedule"
SOURCE_LIST, SCHEDULES_LIST = "triggers", "schedules"  # where the template document lists its triggers


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
        props = contract.check_trigger(body)
        kind = props["kind"]
        template = documents.read(self._store, ref).body
        existing = self._store.get(keys.child(keys.TRIGGERS, ref, name))
        if existing is not None:
            return PutOutcome(False, render_trigger(existing.body), None)
        location = template["spec"]["location"]
        if kind == SCHEDULE:
            problems = schedule_rule_problems(template)
            if problems:
                raise ValidationFailed(problems)
            self._attach(ref, name, SCHEDULES_LIST, kind)
        else:
            problems = trigger_rule_problems(template)
            if problems:
                raise ValidationFailed(problems)
            reserve_trigger_quota(self._store, ref, name, location=location, limit=self._limit)
            try:
                self._attach(ref, name, SOURCE_LIST, kind)
            except BaseException:
                release_trigger_quota(self._store, ref, name, location=location)
                raise
        doc = _new_trigger(ref, name, props, caller, template["readOnly"]["id"])
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
            for attached in (SOURCE_LIST, SCHEDULES_LIST):
                body["kiln"][attached] = [t for t in body["kiln"].get(attached, []) if t != name.lower()]
            return body

        with contextlib.suppress(DocumentMissing):
            self._store.update(keys.template(ref), detach)
        location = template["spec"]["location"]
        if doc.body["properties"]["kind"] != SCHEDULE:
            release_trigger_quota(self._store, ref, name, location=location)
        return self._operations.start(
            subscription=ref.subscription,
            location=location,
            resource_id=doc.body["id"],
            action="delete",
            done=True,
        )

    def _attach(self, ref: TemplateRef, name: str, attached: str, kind: str) -> None:
        """Record the trigger on the template under its ETag, so two PUTs cannot both add one."""

        def attach(body: dict[str, Any]) -> dict[str, Any]:
            if body["readOnly"]["provisioningState"] != "Succeeded":
                raise Conflict(
                    f"Image template '{ref.name}' is {body['readOnly']['provisioningState']}: a trigger "
                    "needs a template whose provisioningState is Succeeded."
                )
            others = [t for t in body["kiln"].get(attached, []) if t != name.lower()]
            if others:
                raise Conflict(
                    f"Image template '{ref.name}' already has the {kind} trigger '{others[0]}': "
                    f"a template can have only one {kind} trigger.",
                )
            body["kiln"][attached] = [*others, name.lower()]
            return body

        try:
            self._store.update(keys.template(ref), attach)
        except DocumentMissing as exc:
            raise documents.not_found(ref) from exc


def render_trigger(body: dict[str, Any]) -> dict[str, Any]:
    """The trigger resource as callers see it."""
    return {k: body[k] for k in ("id", "name", "type", "properties", "systemData") if k in body}


def schedule_rule_problems(template: dict[str, Any]) -> list[ErrorDetail]:
    """What keeps a template from taking a Schedule trigger: only a Succeeded template can run."""
    state = template["readOnly"]["provisioningState"]
    if state == "Succeeded":
        return []
    message = f"The template's provisioningState is {state}, not Succeeded."
    return [ErrorDetail("InvalidTrigger", message, "properties.provisioningState")]


def _new_trigger(
    ref: TemplateRef, name: str, props: dict[str, Any], caller: Caller, template_id: str
) -> dict[str, Any]:
    stamp = now()
    properties = {**props, "status": {**HEALTHY, "time": stamp}, "provisioningState": "Succeeded"}
    doc: dict[str, Any] = {
        "schemaVersion": 1,
        "id": f"{template_id}/triggers/{name}",
        "name": name,
        "type": TRIGGER_TYPE,
        "properties": properties,
        "systemData": system_data(caller),
    }
    if props["kind"] == SCHEDULE:
        properties.setdefault("timeZone", "UTC")
        properties.setdefault("mode", "always")
        # Occurrences before the schedule existed never come due (docs/cycles.md).
        doc["kiln"] = {"lastWindow": stamp}
    return doc
