"""AIB's rules for SourceImage triggers (aib-contract §8, [TRG]) and the per-region trigger count."""

from __future__ import annotations

import contextlib
from typing import Any

from shared.errors import ErrorDetail, KilnError
from shared.store import DocumentExists, DocumentMissing, JsonStore, TemplateRef, keys

TRIGGERS_PER_REGION = 100


def trigger_rule_problems(template: dict[str, Any]) -> list[ErrorDetail]:
    """What keeps a template from taking a SourceImage trigger, each problem at its field."""
    problems: list[ErrorDetail] = []
    state = template["readOnly"]["provisioningState"]
    if state != "Succeeded":
        problems.append(
            ErrorDetail(
                "InvalidTrigger",
                f"The template's provisioningState is {state}, not Succeeded.",
                "properties.provisioningState",
            )
        )
    props = template["spec"].get("properties", {})
    source = props.get("source", {})
    source_definition: str | None = None
    if source.get("type") == "PlatformImage":
        if str(source.get("version", "")).lower() != "latest":
            problems.append(
                ErrorDetail(
                    "InvalidTrigger",
                    "A SourceImage trigger needs a PlatformImage source with version 'latest'.",
                    "properties.source.version",
                )
            )
    elif source.get("type") == "SharedImageVersion":
        version_id = str(source.get("imageVersionId", ""))
        if not version_id.lower().endswith("/versions/latest"):
            problems.append(
                ErrorDetail(
                    "InvalidTrigger",
                    "A SourceImage trigger needs a SharedImageVersion source ending in '/versions/latest'.",
                    "properties.source.imageVersionId",
                )
            )
        source_definition = version_id.lower().removesuffix("/versions/latest")
    else:
        problems.append(
            ErrorDetail(
                "InvalidTrigger",
                "A SourceImage trigger needs a PlatformImage or SharedImageVersion source.",
                "properties.source.type",
            )
        )
    for i, target in enumerate(props.get("distribute", [])):
        if target.get("type") != "SharedImage":
            continue
        gallery_image = str(target.get("galleryImageId", "")).lower()
        where = f"properties.distribute[{i}].galleryImageId"
        if "/versions/" in gallery_image:
            problems.append(
                ErrorDetail(
                    "InvalidTrigger",
                    "A template with a SourceImage trigger must not distribute to a pinned image version.",
                    where,
                )
            )
        elif source_definition is not None and gallery_image == source_definition:
            problems.append(
                ErrorDetail(
                    "InvalidTrigger",
                    "The source image definition must differ from the distribution image definition.",
                    where,
                )
            )
    return problems


def _region(location: str) -> str:
    return location.replace(" ", "").lower()


def reserve_trigger_quota(
    store: JsonStore, ref: TemplateRef, name: str, *, location: str, limit: int = TRIGGERS_PER_REGION
) -> None:
    """Count the trigger against AIB's limit of 100 triggers per region per subscription."""
    key = keys.trigger_quota(ref.subscription, _region(location))
    member = f"{ref.path}/{name}".lower()

    def reserve(body: dict[str, Any]) -> dict[str, Any]:
        members = list(body.get("triggers", []))
        if member not in members:
            if len(members) >= limit:
                raise KilnError(
                    code="QuotaExceeded",
                    message=f"Subscription '{ref.subscription}' already has {limit} triggers "
                    f"in region '{location}', the most Azure VM Image Builder allows.",
                )
            members.append(member)
        return {"triggers": members}

    try:
        store.create(key, reserve({}))
    except DocumentExists:
        store.update(key, reserve)


def release_trigger_quota(store: JsonStore, ref: TemplateRef, name: str, *, location: str) -> None:
    """Give back a trigger's place in its region's count (no error if it held none)."""
    member = f"{ref.path}/{name}".lower()
    with contextlib.suppress(DocumentMissing):
        store.update(
            keys.trigger_quota(ref.subscription, _region(location)),
            lambda body: {"triggers": [m for m in body.get("triggers", []) if m != member]},
        )
