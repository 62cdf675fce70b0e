"""kiln's API service: the rules behind the imageTemplates REST API (triggers/ stay thin and call this)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from shared.service.deletion import CleanupHook, DeleteOutcome, NothingToClean, TemplateDeletion
from shared.service.operations import Operations
from shared.service.resources import Caller
from shared.service.runs import RunOutputService
from shared.service.templates import Page, PutOutcome, TemplateService
from shared.service.triggers import TriggerService
from shared.store import JsonStore, open_store


@dataclass(frozen=True)
class ApiService:
    """Everything the HTTP functions call, sharing one store."""

    templates: TemplateService
    deletion: TemplateDeletion
    triggers: TriggerService
    run_outputs: RunOutputService
    operations: Operations


def build_service(store: JsonStore, *, page_size: int, cleanup: CleanupHook | None = None) -> ApiService:
    """Compose the service over ``store`` (``cleanup`` defaults to ``NothingToClean``)."""
    operations = Operations(store)
    return ApiService(
        templates=TemplateService(store, operations=operations, page_size=page_size),
        deletion=TemplateDeletion(store, operations=operations, cleanup=cleanup or NothingToClean()),
        triggers=TriggerService(store, operations=operations, page_size=page_size),
        run_outputs=RunOutputService(store, page_size=page_size),
        operations=operations,
    )


@lru_cache(maxsize=1)
def get_service() -> ApiService:
    """The process's service, built from settings on first use (never at import time)."""
    from shared.settings import get_settings

    settings = get_settings()
    store = open_store(
        connection_string=settings.storage_connection_string, container=settings.store_container
    )
    return build_service(store, page_size=settings.api_page_size)


__all__ = [
    "ApiService",
    "Caller",
    "CleanupHook",
    "DeleteOutcome",
    "NothingToClean",
    "Page",
    "PutOutcome",
    "build_service",
    "get_service",
]
