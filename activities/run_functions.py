"""Registers the run bookkeeping activities on a Durable blueprint (``function_app.py`` registers it)."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

bp = df.Blueprint()


@bp.activity_trigger(input_name="update")  # type: ignore[untyped-decorator]
def update_run_status(update: dict[str, Any]) -> dict[str, Any]:
    from activities import run_status
    from shared.models.build import RunStatusUpdate
    from shared.service import get_service

    return run_status.run(RunStatusUpdate.model_validate(update), runs=get_service().runs)


@bp.activity_trigger(input_name="payload")  # type: ignore[untyped-decorator]
def record_outputs(payload: dict[str, Any]) -> dict[str, Any]:
    from activities import outputs
    from shared.service import get_service

    return outputs.run(payload, store=get_service().store)
