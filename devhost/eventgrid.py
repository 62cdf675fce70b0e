"""The Event Grid webhook: ``POST /runtime/webhooks/eventgrid?functionName=NAME``.

Accepts the Event Grid schema (a JSON array) and CloudEvents 1.0 (one event or a batch), answers the
subscription validation handshake (``SubscriptionValidationEvent`` → ``{"validationResponse": code}``,
and the CloudEvents ``OPTIONS`` abuse-protection handshake), and requires the ``eventgrid_extension``
system key or the master key, like the host.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import azure.functions as func
from aiohttp import web

from devhost import errors
from devhost.invoke import Invoker
from devhost.keys import EVENTGRID_SYSTEM_KEY, Keys

VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"


class EventGridWebhook:
    def __init__(self, *, functions: dict[str, func.Function], keys: Keys, invoker: Invoker) -> None:
        self._functions = functions
        self._keys = keys
        self._invoker = invoker

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/runtime/webhooks/eventgrid", self.post)
        app.router.add_route("OPTIONS", "/runtime/webhooks/eventgrid", self.options)

    async def options(self, request: web.Request) -> web.Response:
        if not self._keys.allows(request, f"system:{EVENTGRID_SYSTEM_KEY}"):
            return errors.unauthorized()
        origin = request.headers.get("WebHook-Request-Origin", "*")
        return web.Response(headers={"WebHook-Allowed-Origin": origin, "WebHook-Allowed-Rate": "*"})

    async def post(self, request: web.Request) -> web.Response:
        if not self._keys.allows(request, f"system:{EVENTGRID_SYSTEM_KEY}"):
            return errors.unauthorized()
        name = request.query.get("functionName")
        if not name:
            return errors.error(400, "BadRequest", "The query parameter 'functionName' is required.")
        function = self._functions.get(name)
        if function is None:
            return errors.error(404, "NotFound", f"No Event Grid trigger function named '{name}'.")
        try:
            raw = json.loads(await request.read())
        except ValueError:
            return errors.error(400, "BadRequest", "The request body is not valid JSON.")
        items = raw if isinstance(raw, list) else [raw]
        if not all(isinstance(item, dict) for item in items):
            return errors.error(400, "BadRequest", "Each event must be a JSON object.")
        for item in items:
            if item.get("eventType") == VALIDATION_EVENT:
                code = (item.get("data") or {}).get("validationCode")
                return web.json_response({"validationResponse": code})
        if request.headers.get("aeg-event-type", "Notification") == "Unsubscribe":
            return web.Response(status=202)
        try:
            events = [to_event(item) for item in items]
        except KeyError as missing:
            return errors.error(400, "BadRequest", f"An event is missing the required field {missing}.")
        for event in events:
            try:
                await self._invoker.call(function, "eventGrid", event, eventId=event.id)
            except Exception:
                # A non-2xx answer makes Event Grid redeliver, as with the real host.
                return errors.error(500, "InternalServerError", f"Exception while executing function: {name}")
        return web.Response(status=202)


def to_event(item: dict[str, Any]) -> func.EventGridEvent:
    """One Event Grid or CloudEvents 1.0 event as the ``func.EventGridEvent`` the worker passes."""
    if "specversion" in item:  # CloudEvents: source/type/time stand in for topic/eventType/eventTime
        return func.EventGridEvent(
            id=item["id"],
            data=item.get("data"),  # type: ignore[arg-type]
            topic=item["source"],
            subject=item.get("subject") or "",
            event_type=item["type"],
            event_time=_parse_time(item.get("time")),
            data_version=item.get("dataschema") or "",
        )
    return func.EventGridEvent(
        id=item["id"],
        data=item.get("data"),  # type: ignore[arg-type]
        topic=item.get("topic") or "",
        subject=item["subject"],
        event_type=item["eventType"],
        event_time=_parse_time(item.get("eventTime")),
        data_version=item.get("dataVersion") or "",
    )


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    # .NET writes 7 fractional digits; Python's parser takes at most 6.
    trimmed = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        return datetime.fromisoformat(trimmed)
    except ValueError:
        return None
