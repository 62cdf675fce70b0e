"""kiln's API service: the rules behind the imageTemplates REST API (triggers/ stay thin and call this)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from shared.service.deletion import CleanupHook, DeleteOutcome, NothingToClean, TemplateDeletion
from shared.service.operations import Operations
from shared.service.resources import Caller
from shared.service.run_control import RunService
from shared.service.run_log import RunLog
from shared.service.run_outputs import RunOutputService
from shared.service.templates import Page, PutOutcome, TemplateService
from shared.service.triggers import TriggerService
from shared.store import JsonStore, open_store

if TYPE_CHECKING:
    from shared.ports import Blobs
    from shared.settings import Settings


@dataclass(frozen=True)
class ApiService:
    """Everything the HTTP functions call, sharing one store."""

    templates: TemplateService
    deletion: TemplateDeletion
    triggers: TriggerService
    run_outputs: RunOutputService
    operations: Operations
    runs: RunService
    run_log: RunLog
    store: JsonStore

    def operation(self, subscription: str, operation_id: str) -> dict[str, Any]:
        """An operation, after letting what it follows (a run, a delete's cleanup) move it on."""
        op = self.operations.get(subscription, operation_id)
        if op["status"] == "InProgress":
            op = self.runs.refresh_operation(op)
            self.deletion.advance(op)
            op = self.operations.get(subscription, operation_id)
        return op


def build_service(
    store: JsonStore,
    *,
    page_size: int,
    cleanup: CleanupHook | None = None,
    timing: dict[str, Any] | None = None,
    blobs_for: Callable[[str], Blobs] | None = None,
    log_follow_seconds: float = 15.0,
) -> ApiService:
    """Compose the service over ``store`` (``cleanup`` defaults to ``NothingToClean``)."""
    operations = Operations(store)
    runs = RunService(store, operations=operations, page_size=page_size, timing=timing or {})
    return ApiService(
        templates=TemplateService(store, operations=operations, page_size=page_size),
        deletion=TemplateDeletion(store, operations=operations, cleanup=cleanup or NothingToClean()),
        triggers=TriggerService(store, operations=operations, page_size=page_size),
        run_outputs=RunOutputService(store, page_size=page_size),
        operations=operations,
        runs=runs,
        run_log=RunLog(runs, blobs_for=blobs_for or _no_blobs, follow_seconds=log_follow_seconds),
        store=store,
    )


def _no_blobs(account: str) -> Blobs:
    raise RuntimeError(f"no Blobs port configured for the staging account '{account}'")


def timing_policy(profile: str, scale: float = 0.01) -> dict[str, Any]:
    """The ``TimingPolicy`` JSON of a profile: ``azure`` (the defaults), or ``local``: the same policy on the
    simulator's clock, ``scale`` times Azure's (the local stack's latency scale, ``KILN_TIME_SCALE``)."""
    from shared.models.build import TimingPolicy

    if profile == "local":
        return TimingPolicy().scaled(scale).model_dump(mode="json")
    return TimingPolicy().model_dump(mode="json")


def compose(settings: Settings, *, ports: Callable[[], Any]) -> ApiService:
    """The service over the settings' store, with kiln's cleanup and the staging accounts' blobs."""
    from shared.service.run_log import staging_account_url
    from shared.service.staging_cleanup import StagingCleanup

    store = open_store(
        connection_string=settings.storage_connection_string, container=settings.store_container
    )
    return build_service(
        store,
        page_size=settings.api_page_size,
        cleanup=StagingCleanup(store, ports=ports),
        timing=timing_policy(settings.timing_profile, settings.time_scale),
        blobs_for=lambda account: ports().blobs(account_url=staging_account_url(settings, account)),
        log_follow_seconds=settings.log_follow_seconds,
    )


@lru_cache(maxsize=1)
def get_service() -> ApiService:
    """The process's service, built from settings on first use (never at import time)."""
    from shared.bootstrap import bootstrap
    from shared.settings import get_settings

    settings = get_settings()
    ports: list[Any] = []

    def lazy_ports() -> Any:
        # Azure clients are built on the first request that needs them, not when the service is.
        if not ports:
            ports.append(bootstrap(settings))
        return ports[0]

    return compose(settings, ports=lazy_ports)


__all__ = [
    "ApiService",
    "Caller",
    "CleanupHook",
    "DeleteOutcome",
    "NothingToClean",
    "Page",
    "PutOutcome",
    "RunService",
    "build_service",
    "compose",
    "get_service",
    "timing_policy",
]
