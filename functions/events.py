"""Event Grid: a new gallery image version fires the SourceImage triggers that watch its image definition.

Subscribe the function (``source_image_events``) to resource-write events of the subscription or resource
group holding the source galleries (an Event Grid system topic of type ``Microsoft.Resources.Subscriptions``
or ``Microsoft.Resources.ResourceGroups``, filtered to ``Microsoft.Resources.ResourceWriteSuccess``), in the
Event Grid or the CloudEvents 1.0 schema. Azure Resource Notifications' ``…Resources.CreatedOrUpdated`` events
are understood as well. Every other event, and every write that is not of a gallery image version, is
ignored without touching the store, since subscription topics deliver every write kiln's own builds make.
"""

from __future__ import annotations

import logging
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from shared.service.source_watch import GALLERY_VERSION

bp = df.Blueprint()
_log = logging.getLogger("kiln.source_events")
WRITE_EVENTS = frozenset(
    {
        "microsoft.resources.resourcewritesuccess",
        "microsoft.resourcenotifications.resources.createdorupdated",
    }
)


def gallery_version_of(event_type: str, subject: str, data: Any) -> str | None:
    """The gallery image version id an event reports written, None for any other event."""
    if event_type.lower() not in WRITE_EVENTS:
        return None
    data = data if isinstance(data, dict) else {}
    if str(data.get("status") or "Succeeded").lower() != "succeeded":
        return None
    info = data.get("resourceInfo") if isinstance(data.get("resourceInfo"), dict) else {}
    for candidate in (data.get("resourceUri"), info.get("id"), subject):
        if isinstance(candidate, str) and GALLERY_VERSION.match(candidate):
            return candidate
    return None


@bp.function_name("source_image_events")  # type: ignore[untyped-decorator]
@bp.event_grid_trigger(arg_name="event")  # type: ignore[untyped-decorator]
@bp.durable_client_input(client_name="client")  # type: ignore[untyped-decorator]
async def source_image_events(event: func.EventGridEvent, client: df.DurableOrchestrationClient) -> None:
    version_id = gallery_version_of(event.event_type, event.subject, event.get_json())
    if version_id is None:
        return
    report = await on_gallery_version(version_id, client)
    _log.info("event %s for %s: %s", event.id, version_id, report.decisions)


async def on_gallery_version(version_id: str, client: Any) -> Any:
    """Fire the triggers watching ``version_id``'s image definition."""
    from shared.bootstrap import root

    return await root().service.source_triggers.on_gallery_version(version_id, client)
