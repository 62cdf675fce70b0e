"""``record_outputs``: one runOutput per succeeded distribute target, replacing older ones of that name."""

from __future__ import annotations

from typing import Any

from shared.models.build import RunRef, TargetResult
from shared.service.run_outputs import record_run_outputs
from shared.store import JsonStore


def run(payload: dict[str, Any], *, store: JsonStore) -> dict[str, Any]:
    """Write the run outputs of ``{"run": RunRef, "targets": [TargetResult]}``; return the names written."""
    ref = RunRef.model_validate(payload["run"])
    targets = [TargetResult.model_validate(t).model_dump(mode="json") for t in payload.get("targets", [])]
    return {"written": record_run_outputs(store, ref.model_dump(mode="json"), targets)}
