"""The patch cycle's activities, one per descriptor of ``shared.models.cycles``, around the cycles service.

``cycle_admit`` starts builds, so it holds the Durable client (a client binding on an activity, as on any
function) and starts each run the way every other run starts (``run_start.start_run``): a top-level
``build_image`` orchestration whose instance id is the run id.
"""

from __future__ import annotations

import json
from typing import Any

import azure.durable_functions as df

from shared.models import cycles as c

bp = df.Blueprint()


def _load(activity: Any, payload: Any) -> Any:
    return activity.input.model_validate(json.loads(payload) if isinstance(payload, str | bytes) else payload)


def _service() -> Any:
    from shared.bootstrap import root

    return root().service.cycles


@bp.function_name(c.CYCLE_BEGIN.name)  # type: ignore[untyped-decorator]
@bp.activity_trigger(input_name="payload")  # type: ignore[untyped-decorator]
def cycle_begin(payload: Any) -> dict[str, Any]:
    out: dict[str, Any] = _service().begin(_load(c.CYCLE_BEGIN, payload)).model_dump(mode="json")
    return out


@bp.function_name(c.CYCLE_ADMIT.name)  # type: ignore[untyped-decorator]
@bp.activity_trigger(input_name="payload")  # type: ignore[untyped-decorator]
@bp.durable_client_input(client_name="client")  # type: ignore[untyped-decorator]
async def cycle_admit(payload: Any, client: df.DurableOrchestrationClient) -> dict[str, Any]:
    admitted = await _service().admit(_load(c.CYCLE_ADMIT, payload), client)
    out: dict[str, Any] = admitted.model_dump(mode="json")
    return out


@bp.function_name(c.CYCLE_CHECK.name)  # type: ignore[untyped-decorator]
@bp.activity_trigger(input_name="payload")  # type: ignore[untyped-decorator]
def cycle_check(payload: Any) -> dict[str, Any]:
    out: dict[str, Any] = _service().check(_load(c.CYCLE_CHECK, payload)).model_dump(mode="json")
    return out


@bp.function_name(c.CYCLE_FINISH.name)  # type: ignore[untyped-decorator]
@bp.activity_trigger(input_name="payload")  # type: ignore[untyped-decorator]
def cycle_finish(payload: Any) -> dict[str, Any]:
    out: dict[str, Any] = _service().finish(_load(c.CYCLE_FINISH, payload)).model_dump(mode="json")
    return out


@bp.function_name(c.CYCLE_FAIL.name)  # type: ignore[untyped-decorator]
@bp.activity_trigger(input_name="payload")  # type: ignore[untyped-decorator]
def cycle_fail(payload: Any) -> dict[str, Any]:
    out: dict[str, Any] = _service().fail(_load(c.CYCLE_FAIL, payload)).model_dump(mode="json")
    return out
