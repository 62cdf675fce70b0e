"""kiln's service: the rules behind the imageTemplates REST API and the timers, over the document store and
the Azure ports. ``functions/`` stays thin and calls these; the composition root (``shared/bootstrap/``)
builds them. Nothing here builds an adapter or reads a setting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.service.cycles import PatchCycles
from shared.service.deletion import CleanupHook, DeleteOutcome, NothingToClean, TemplateDeletion
from shared.service.janitor import Janitor
from shared.service.operations import Operations
from shared.service.resources import Caller
from shared.service.run_control import RunService
from shared.service.run_log import RunLog
from shared.service.run_outputs import RunOutputService
from shared.service.run_records import RunRecords
from shared.service.source_triggers import SourceTriggers
from shared.service.templates import Page, PutOutcome, TemplateService
from shared.service.triggers import TriggerService
from shared.store import JsonStore


@dataclass(frozen=True)
class ApiService:
    """Every service operation the functions call, sharing one store."""

    templates: TemplateService
    deletion: TemplateDeletion
    triggers: TriggerService
    run_outputs: RunOutputService
    operations: Operations
    runs: RunService
    run_log: RunLog
    records: RunRecords
    janitor: Janitor
    source_triggers: SourceTriggers
    cycles: PatchCycles
    store: JsonStore

    def operation(self, subscription: str, operation_id: str) -> dict[str, Any]:
        """An operation, after letting what it follows (a run, a delete's cleanup) move it on."""
        op = self.operations.get(subscription, operation_id)
        if op["status"] == "InProgress":
            op = self.runs.refresh_operation(op)
            self.deletion.advance(op)
            op = self.operations.get(subscription, operation_id)
        return op


__all__ = [
    "ApiService",
    "Caller",
    "CleanupHook",
    "DeleteOutcome",
    "Janitor",
    "NothingToClean",
    "Page",
    "PutOutcome",
    "RunRecords",
    "RunService",
    "SourceTriggers",
]
