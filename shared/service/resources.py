"""ARM resource ids, types, timestamps and systemData as AIB fills them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.store import TemplateRef

PROVIDER = "Microsoft.VirtualMachineImages"
TEMPLATE_TYPE = f"{PROVIDER}/imageTemplates"
TRIGGER_TYPE = f"{TEMPLATE_TYPE}/triggers"
RUN_OUTPUT_TYPE = f"{TEMPLATE_TYPE}/runOutputs"
DEFAULT_CREATOR = "kiln"


@dataclass(frozen=True)
class Caller:
    """Who makes a request: the principal App Service authentication passed, if any (docs/security.md)."""

    principal: str | None = None  # x-ms-client-principal-name
    principal_id: str | None = None  # x-ms-client-principal-id: the object id role assignments name
    roles: tuple[str, ...] = ()  # app roles of the token
    groups: tuple[str, ...] = ()  # object ids of the token's ``groups`` claims (security groups it is in)

    @property
    def name(self) -> str:
        return self.principal or DEFAULT_CREATOR

    @property
    def kind(self) -> str:
        # Without an authenticated principal the function key is what let the request in.
        return "User" if self.principal else "Key"


def now() -> str:
    """The current UTC time as ARM writes it (ISO 8601 with 'Z')."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def template_id(ref: TemplateRef) -> str:
    """The ARM id of a template, in canonical casing."""
    return (
        f"/subscriptions/{ref.subscription}/resourceGroups/{ref.resource_group}"
        f"/providers/{TEMPLATE_TYPE}/{ref.name}"
    )


def resource_group_id(subscription: str, name: str) -> str:
    """The ARM id of a resource group."""
    return f"/subscriptions/{subscription}/resourceGroups/{name}"


def system_data(caller: Caller, *, created: dict[str, Any] | None = None) -> dict[str, Any]:
    """systemData for a create (``created`` None) or for a change to a resource created earlier."""
    stamp = now()
    base = created or {"createdBy": caller.name, "createdByType": caller.kind, "createdAt": stamp}
    return {
        "createdBy": base["createdBy"],
        "createdByType": base["createdByType"],
        "createdAt": base["createdAt"],
        "lastModifiedBy": caller.name,
        "lastModifiedByType": caller.kind,
        "lastModifiedAt": stamp,
    }
