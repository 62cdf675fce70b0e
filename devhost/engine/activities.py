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

    def arguments(self, input_text: str | None) -> dict[str, Any]:
        """The keyword arguments the worker calls the function with: its input, and its client bindings."""
        kwargs = {self.param: decode_input(input_text)}
        if self.clients and self.client_binding is not None:
            kwargs.update({name: self.client_binding() for name in self.clients})
        return kwargs


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


def is_async(activity: Activity | None) -> bool:
    """Whether the activity function is a coroutine function (the worker runs those on its event loop)."""
    return activity is not None and inspect.iscoroutinefunction(activity.fn)


async def invoke_async(activity: Activity, name: str, input_text: str | None) -> Outcome:
    """Runs one async activity on the event loop; exceptions become TaskFailed fields."""
    try:
        value = await activity.fn(**activity.arguments(input_text))
        return Outcome(TASK_COMPLETED, {"Result": df_dumps(value)})
    except Exception as exc:
        return failure(name, f"{type(exc).__name__}: {exc}", traceback.format_exc())


def invoke(activity: Activity | None, name: str, input_text: str | None) -> Outcome:
    """Runs one activity; exceptions become the TaskFailed fields the real host writes."""
    try:
        if activity is None:
            raise LookupError(
                f"The function '{name}' doesn't exist, is disabled, or is not an activity function"
            )
        value = activity.fn(**activity.arguments(input_text))
        if inspect.isawaitable(value):
            value = asyncio.run(_await(value))
        return Outcome(TASK_COMPLETED, {"Result": df_dumps(value)})
    except Exception as exc:
        return failure(name, f"{type(exc).__name__}: {exc}", traceback.format_exc())


def failure(name: str, message: str, details: str) -> Outcome:
    return Outcome(
        TASK_FAILED, {"Reason": f"Activity function '{name}' failed: {message}", "Details": details}
    )


async def _await(value: Any) -> Any:
    return await value
