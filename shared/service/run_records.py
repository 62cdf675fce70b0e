"""The ``RunRecorder`` port over the store: what a build's activities report goes into the run documents.

Activities never call the service; the composition root hands them this recorder. Status updates go through
``RunService.apply`` (idempotent: an update delivered twice changes nothing), run outputs through
``record_run_outputs`` (a late redelivery of an older run never replaces a newer output).
"""

from __future__ import annotations

from shared import redact
from shared.models.build import RunRef, RunStatusRecorded, RunStatusUpdate, TargetResult
from shared.models.durable import RegionState
from shared.service.run_control import RunService
from shared.service.run_outputs import record_run_outputs
from shared.store import JsonStore


class RunRecords:
    """Writes a build's status updates and run outputs to the template's documents."""

    def __init__(self, store: JsonStore, runs: RunService) -> None:
        self._store = store
        self._runs = runs

    def apply(self, update: RunStatusUpdate) -> RunStatusRecorded:
        """Apply ``update`` to the run document and the template's lastRunStatus; the run's state after."""
        # Messages may quote an artifact URL: what the run document and lastRunStatus keep is redacted.
        doc = self._runs.apply(redact.deep(update.model_dump(mode="json")))
        props = doc["properties"]
        return RunStatusRecorded(
            run_state=props["runState"],
            run_sub_state=props["runSubState"],
            finished=bool(doc["kiln"].get("finished")),
        )

    def progress(self, run: RunRef, target: str, regions: list[RegionState]) -> None:
        """Each region's state (and percent) on the run's target while it replicates; a finished run or a
        run document that is gone is left alone (progress is a view, never a state change)."""
        self._runs.progress(run.model_dump(mode="json"), target, [r.model_dump(mode="json") for r in regions])

    def record_outputs(self, run: RunRef, targets: list[TargetResult]) -> list[str]:
        """One runOutput per succeeded target; the names written."""
        return record_run_outputs(
            self._store, run.model_dump(mode="json"), [t.model_dump(mode="json") for t in targets]
        )
