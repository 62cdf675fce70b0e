"""The template resource's rules: create (immutable after), read, list, PATCH of the updatable fields."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared import naming, redact
from shared.errors import Conflict, ErrorDetail, ValidationFailed
from shared.service import contract, documents, linked_access
from shared.service.operations import Operations
from shared.service.resources import TEMPLATE_TYPE, Caller, resource_group_id, system_data, template_id
from shared.store import DocumentExists, DocumentMissing, JsonStore, TemplateRef, keys

if TYPE_CHECKING:
    from shared.ports import Access

IMMUTABLE_MESSAGE = (
    "'Conflict'. Details: Update/Upgrade of image templates is currently not supported. "
    "Template '{name}' already exists: delete it and create it again, or PATCH tags, identity, "
    "properties.distribute or properties.vmProfile."
)
PATCHABLE = {"tags", "identity", "properties"}
PATCHABLE_PROPERTIES = {"distribute", "vmProfile"}


@dataclass(frozen=True)
class PutOutcome:
    """A PUT's result: ``created`` False when an identical template already existed."""

    created: bool
    resource: dict[str, Any]
    operation: dict[str, Any] | None


@dataclass(frozen=True)
class Page:
    """One page of a listing and the opaque token of the next page (None at the end)."""

    items: list[dict[str, Any]]
    next_token: str | None


class TemplateService:
    """Create, read, list and update templates (deletion is in ``shared.service.deletion``)."""

    def __init__(
        self,
        store: JsonStore,
        *,
        operations: Operations,
        page_size: int,
        access: Callable[[], Access] | None = None,
    ) -> None:
        self._store = store
        self._operations = operations
        self._page_size = page_size
        self._access = access

    def put(self, ref: TemplateRef, body: dict[str, Any], *, api_version: str, caller: Caller) -> PutOutcome:
        """Create a template; an identical PUT returns it unchanged, any other PUT on it is a 409."""
        spec = contract.normalize_template(body, api_version=api_version, name=ref.name)
        linked_access.check(self._access, caller, ref, spec)
        key = keys.template(ref)
        existing = self._store.get(key)
        if existing is None:
            try:
                doc = self._store.create(key, self._new_document(ref, spec, api_version, caller))
            except DocumentExists:
                existing = self._store.get(key)
            else:
                op = self._operations.start(
                    subscription=ref.subscription,
                    location=spec["location"],
                    resource_id=doc.body["readOnly"]["id"],
                    action="create",
                    done=True,
                )
                return PutOutcome(True, documents.render(doc.body, api_version=api_version), op)
        if existing is None:  # created and deleted between our two reads
            raise Conflict(f"Template '{ref.name}' changed while it was being created; retry the request.")
        if existing.body["readOnly"]["provisioningState"] == "Deleting":
            raise Conflict(
                f"Template '{ref.name}' is being deleted; create it again once the delete finishes."
            )
        # Compared as shown: a GET's body (credentials redacted) PUT back is the same template.
        if redact.artifact_uris(existing.body["spec"]) != redact.artifact_uris(spec):
            raise Conflict(IMMUTABLE_MESSAGE.format(name=ref.name))
        return PutOutcome(False, documents.render(existing.body, api_version=api_version), None)

    def get(self, ref: TemplateRef, *, api_version: str) -> dict[str, Any]:
        """The template resource; 404 when absent."""
        return documents.render(documents.read(self._store, ref).body, api_version=api_version)

    def list(
        self, subscription: str, resource_group: str | None, *, api_version: str, token: str | None
    ) -> Page:
        """One page of the templates of a subscription or of one of its resource groups."""
        prefix = keys.templates_prefix(subscription, resource_group)
        docs, next_marker = self._store.list_page(
            prefix, page_size=self._page_size, continuation=documents.decode_token(token, prefix)
        )
        items = [documents.render(d.body, api_version=api_version) for d in docs]
        return Page(items, documents.encode_token(next_marker, prefix))

    def patch(
        self, ref: TemplateRef, body: dict[str, Any], *, api_version: str, caller: Caller
    ) -> dict[str, Any]:
        """Apply an ``ImageTemplateUpdateParameters`` body: tags, identity, distribute, vmProfile only."""
        _check_patch_fields(body)
        contract.check_template_update(body, api_version=api_version)
        linked_access.check(self._access, caller, ref, body)

        def apply(doc: dict[str, Any]) -> dict[str, Any]:
            if doc["readOnly"]["provisioningState"] == "Deleting":
                raise Conflict(f"Template '{ref.name}' is being deleted and can no longer be updated.")
            doc["spec"] = _normalize_merged(ref, merge_update(doc["spec"], body))
            doc["readOnly"]["systemData"] = system_data(caller, created=doc["readOnly"]["systemData"])
            return doc

        try:
            updated = self._store.update(keys.template(ref), apply)
        except DocumentMissing as exc:
            raise documents.not_found(ref) from exc
        return documents.render(updated.body, api_version=api_version)

    def _new_document(
        self, ref: TemplateRef, spec: dict[str, Any], api_version: str, caller: Caller
    ) -> dict[str, Any]:
        staging = spec.get("properties", {}).get("stagingResourceGroup") or resource_group_id(
            ref.subscription,
            contract.staging_group_name(
                ref.resource_group,
                ref.name,
                naming.staging_group_guid(ref.subscription, ref.resource_group, ref.name),
            ),
        )
        return {
            "schemaVersion": documents.SCHEMA_VERSION,
            "spec": spec,
            "readOnly": {
                "id": template_id(ref),
                "name": ref.name,
                "type": TEMPLATE_TYPE,
                "systemData": system_data(caller),
                "provisioningState": "Succeeded",
                "exactStagingResourceGroup": staging,
            },
            "kiln": {"apiVersion": api_version, "triggers": [], "deleteOperation": None, "activeRun": None},
        }


def _normalize_merged(ref: TemplateRef, merged: dict[str, Any]) -> dict[str, Any]:
    """Validate the template a PATCH produced, allowing ``identity: {"type": "None"}``.

    AIB lets a PATCH remove the identity (its UpdateImageTemplateToRemoveIdentities example) although a PUT
    requires one; the rest of the template is checked with a stand-in identity, and "None" is kept.
    """
    identity = merged.get("identity")
    removed = isinstance(identity, dict) and identity.get("type") == "None"
    if removed:
        stand_in = (
            f"/subscriptions/{ref.subscription}/resourceGroups/{ref.resource_group}"
            "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/identity-removed"
        )
        merged = {**merged, "identity": {"type": "UserAssigned", "userAssignedIdentities": {stand_in: {}}}}
    spec = contract.normalize_template(merged, api_version=contract.STORAGE_API_VERSION, name=ref.name)
    if removed:
        spec["identity"] = {"type": "None"}
    return spec


def merge_update(spec: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """The template after a PATCH: tags, identity and distribute are replaced, vmProfile is merged.

    vmProfile follows JSON merge patch (RFC 7386): a field set to null is removed.
    """
    merged = copy.deepcopy(spec)
    for key in ("tags", "identity"):
        if key in update:
            merged[key] = copy.deepcopy(update[key])
    props = update.get("properties") or {}
    target = merged.setdefault("properties", {})
    if "distribute" in props:
        target["distribute"] = copy.deepcopy(props["distribute"])
    if "vmProfile" in props:
        target["vmProfile"] = _merge_patch(target.get("vmProfile") or {}, props["vmProfile"])
    return merged


def _merge_patch(current: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(current) if isinstance(current, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge_patch(out.get(key), value)
    return out


def _check_patch_fields(body: dict[str, Any]) -> None:
    """400 naming every field a PATCH may not change (AIB allows tags, identity, distribute, vmProfile)."""
    bad = [ErrorDetail("UpdateNotAllowed", _not_patchable(k), k) for k in body if k not in PATCHABLE]
    props = body.get("properties")
    if props is not None and not isinstance(props, dict):
        raise ValidationFailed([ErrorDetail("InvalidValue", "'properties' must be an object.", "properties")])
    for key in props or {}:
        if key not in PATCHABLE_PROPERTIES:
            bad.append(
                ErrorDetail("UpdateNotAllowed", _not_patchable(f"properties.{key}"), f"properties.{key}")
            )
    if bad:
        raise ValidationFailed(bad)


def _not_patchable(field: str) -> str:
    return (
        f"Field '{field}' cannot be updated: a PATCH may change only tags, identity, "
        "properties.distribute and properties.vmProfile. Delete and re-create the template to change "
        "anything else."
    )


__all__ = ["Page", "PutOutcome", "TemplateService", "merge_update"]
