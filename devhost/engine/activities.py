"""Calling an activity function the way the Python worker does (AF ``ActivityTriggerConverter``)."""

from __future__ import annotations

import asyncio
import inspect
import json
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from azure.functions._durable_functions import df_dumps, df_loads

from devhost.engine.events import TASK_COMPLETED, TASK_FAILED


@dataclass
class Activity:
    name: str
    fn: Callable[..., Any]
    param: str  # the activity trigger's binding name (the function's parameter)
    # durable client bindings (``@app.durable_client_input``) and the binding JSON the host hands them
    clients: tuple[str, ...] = ()
    client_binding: Callable[[], str] | None = None
    # Where an async activity runs: the host's event loop, as the Python worker runs every async function on
    # its one loop (the SDK's client keeps one aiohttp session, bound to the loop that made it).
    run_async: Callable[[Any], Any] | None = None


@dataclass
class Outcome:
    event_type: int  # TASK_COMPLETED | TASK_FAILED
    fields: dict[str, Any]  # Result, or Reason + Details

    @property
    def ok(self) -> bool:
        return self.event_type == TASK_COMPLETED


def decode_input(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return df_loads(text)
    except json.JSONDecodeError:  # the worker passes non-JSON input through as the raw string
        return text


def invoke(activity: Activity | None, name: str, input_text: str | None) -> Outcome:
    """Runs one activity; exceptions become the TaskFailed fields the real host writes."""
    try:
        if activity is None:
            raise LookupError(
                f"The function '{name}' doesn't exist, is disabled, or is not an activity function"
            )
        kwargs = {activity.param: decode_input(input_text)}
        if activity.clients and activity.client_binding is not None:
            kwargs.update({name: activity.client_binding() for name in activity.clients})
        value = activity.fn(**kwargs)
        if inspect.isawaitable(value):
            runner = activity.run_async or _run_on_own_loop
            value = runner(_await(value))
        return Outcome(TASK_COMPLETED, {"Result": df_dumps(value)})
    except Exception as exc:
        return failure(name, f"{type(exc).__name__}: {exc}", traceback.format_exc())


def failure(name: str, message: str, details: str) -> Outcome:
    return Outcome(
        TASK_FAILED, {"Reason": f"Activity function '{name}' failed: {message}", "Details": details}
    )


async def _await(value: Any) -> Any:
    return await value


def _run_on_own_loop(coro: Any) -> Any:
    return asyncio.run(coro)
