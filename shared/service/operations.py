"""Asynchronous operations as ARM reports them: one document per operation, polled by clients."""

from __future__ import annotations

import uuid
from typing import Any

from shared.errors import KilnError, NotFound
from shared.service.resources import PROVIDER, now
from shared.store import JsonStore, keys

IN_PROGRESS = "InProgress"
SUCCEEDED = "Succeeded"
FAILED = "Failed"
TERMINAL = frozenset({SUCCEEDED, FAILED, "Canceled"})


def operation_path(subscription: str, location: str, operation_id: str, *, results: bool = False) -> str:
    """The ARM path of an operation's status (``operations``) or result (``operationResults``) endpoint."""
    leaf = "operationResults" if results else "operations"
    return f"/subscriptions/{subscription}/providers/{PROVIDER}/locations/{location}/{leaf}/{operation_id}"


class Operations:
    """Creates, finishes and reads operation documents."""

    def __init__(self, store: JsonStore) -> None:
        self._store = store

    def start(
        self,
        *,
        subscription: str,
        location: str,
        resource_id: str,
        action: str,
        done: bool = False,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Record a new operation (already Succeeded when ``done``) and return its document.

        ``extra`` is kept in the document (never shown): e.g. the run an operation follows.
        """
        op_id = str(uuid.uuid4())
        stamp = now()
        body: dict[str, Any] = {
            "id": op_id,
            "subscription": subscription,
            # ARM writes locations in operation URLs in their short form ("westus").
            "location": location.replace(" ", "").lower(),
            "resourceId": resource_id,
            "action": action,
            "status": SUCCEEDED if done else IN_PROGRESS,
            "startTime": stamp,
        }
        if done:
            body["endTime"] = stamp
        if extra:
            body["kiln"] = dict(extra)
        self._store.create(keys.operation(subscription, op_id), body)
        return body

    def finish(
        self,
        subscription: str,
        operation_id: str,
        *,
        error: KilnError | None = None,
        status: str | None = None,
    ) -> None:
        """Mark an operation Succeeded, or Failed with ``error`` (or ``status``, e.g. Canceled).

        An operation that already ended keeps its outcome, so closing it twice is harmless.
        """

        def close(body: dict[str, Any]) -> dict[str, Any]:
            if body["status"] in TERMINAL:
                return body
            body["status"] = status or (FAILED if error else SUCCEEDED)
            body["endTime"] = now()
            if error is not None:
                body["error"] = error.to_arm()["error"]
                body["errorStatus"] = error.status
            return body

        self._store.update(keys.operation(subscription, operation_id), close)

    def get(self, subscription: str, operation_id: str) -> dict[str, Any]:
        """The operation document; 404 ``OperationNotFound`` when unknown."""
        doc = (
            self._store.get(keys.operation(subscription, operation_id)) if _plausible(operation_id) else None
        )
        if doc is None:
            raise NotFound(f"The operation '{operation_id}' was not found.", code="OperationNotFound")
        return doc.body


def render_operation(body: dict[str, Any]) -> dict[str, Any]:
    """The body of ARM's Azure-AsyncOperation status endpoint."""
    out: dict[str, Any] = {
        "id": operation_path(body["subscription"], body["location"], body["id"]),
        "name": body["id"],
        "status": body["status"],
        "startTime": body["startTime"],
    }
    if "endTime" in body:
        out["endTime"] = body["endTime"]
    if "error" in body:
        out["error"] = body["error"]
    return out


def _plausible(operation_id: str) -> bool:
    try:
        uuid.UUID(operation_id)
    except ValueError:
        return False
    return True
