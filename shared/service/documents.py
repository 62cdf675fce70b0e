"""The template document: what the store holds for one template, and how it is shown to callers.

Layout of a template document (see docs/store.md)::

    {"schemaVersion": 1,
     "spec": {location, tags, identity, properties}      # the caller's template, stored API version, no RO
     "readOnly": {id, name, type, systemData, provisioningState, provisioningError, lastRunStatus,
                  exactStagingResourceGroup},
     "kiln": {"apiVersion": created with, "triggers": [names], "deleteOperation": id or null,
              "activeRun": run id or null, "runCounter": runs started}}
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from shared import redact
from shared.errors import KilnError, NotFound
from shared.service import contract
from shared.store import Document, JsonStore, TemplateRef, keys

SCHEMA_VERSION = 1
_READ_ONLY_PROPERTIES = (
    "provisioningState",
    "provisioningError",
    "lastRunStatus",
    "exactStagingResourceGroup",
)


def not_found(ref: TemplateRef) -> NotFound:
    """ARM's 404 for a template."""
    return NotFound(
        f"The Resource 'Microsoft.VirtualMachineImages/imageTemplates/{ref.name}' under resource group "
        f"'{ref.resource_group}' was not found."
    )


def read(store: JsonStore, ref: TemplateRef) -> Document:
    """The template's document; 404 when absent."""
    doc = store.get(keys.template(ref))
    if doc is None:
        raise not_found(ref)
    return doc


def render(body: dict[str, Any], *, api_version: str) -> dict[str, Any]:
    """The template resource as the caller's api-version shows it, read-only fields included."""
    # An artifact URL's credentials are never shown back (docs/security.md).
    wire = redact.artifact_uris(contract.render_template(body["spec"], api_version=api_version))
    ro = body["readOnly"]
    out: dict[str, Any] = {"id": ro["id"], "name": ro["name"], "type": ro["type"]}
    out.update(wire)
    props = dict(out.get("properties") or {})
    for key in _READ_ONLY_PROPERTIES:
        if ro.get(key) is not None:
            props[key] = ro[key]
    source = props.get("source")
    if ro.get("exactVersion") and isinstance(source, dict) and source.get("type") != "ManagedImage":
        # AIB reports the version a run resolved (Marketplace or gallery) in the source's exactVersion.
        props["source"] = {**source, "exactVersion": ro["exactVersion"]}
    out["properties"] = props
    out["systemData"] = ro["systemData"]
    return out


def encode_token(token: str | None, scope: str) -> str | None:
    """A continuation marker of the listing ``scope`` (its key prefix) as an opaque ``$skipToken``."""
    if token is None:
        return None
    return base64.urlsafe_b64encode(f"{_TOKEN_MARK}{scope}\n{token}".encode()).decode().rstrip("=")


def decode_token(value: str | None, scope: str) -> str | None:
    """The continuation marker inside a ``$skipToken`` of the listing ``scope``.

    Raises:
        KilnError: 400 ``InvalidSkipToken`` for a token kiln did not hand out for this listing.
    """
    if not value:
        return None
    try:
        if not value.isascii():
            raise ValueError("not ASCII")
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    head, sep, marker = text.partition("\n")
    if not sep or head != f"{_TOKEN_MARK}{scope}" or not marker:
        raise KilnError(
            code="InvalidSkipToken",
            message="The $skipToken query parameter is invalid: use the nextLink of the previous page.",
            target="$skipToken",
        )
    return marker


_TOKEN_MARK = "kiln1:"
