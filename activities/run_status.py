"""``update_run_status``: a ``RunStatusUpdate`` into the run document and the template's lastRunStatus.

Idempotent (activities run at least once): the run document remembers the updates it has applied, and the
template's lastRunStatus is copied from the run document rather than changed step by step.
"""

from __future__ import annotations

from typing import Any

from shared.models.build import RunStatusUpdate
from shared.service.run_control import RunService


def run(update: RunStatusUpdate, *, runs: RunService) -> dict[str, Any]:
    """Apply ``update``; return the run's state afterwards (``runState``, ``runSubState``, ``finished``)."""
    doc = runs.apply(update.model_dump(mode="json"))
    props = doc["properties"]
    return {
        "runState": props["runState"],
        "runSubState": props["runSubState"],
        "finished": bool(doc["kiln"].get("finished")),
    }
