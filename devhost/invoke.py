"""Calling trigger functions as the Python worker does: keyword arguments by binding name.

Async functions are awaited on the server's event loop (durable-client functions are always async: the SDK
wraps them); sync functions run in a thread pool so they never block the loop.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import azure.functions as func

from devhost import logs
from devhost.app_loader import function_name


@dataclass
class InvocationContext:
    """What the worker passes to a ``context`` parameter (the fields apps use)."""

    invocation_id: str
    function_name: str
    function_directory: str


class Invoker:
    """Runs HTTP, timer and Event Grid functions and logs one line per execution."""

    def __init__(self, *, binding_json: Callable[[], str], app_dir: Path, workers: int = 16) -> None:
        self._binding_json = binding_json
        self._app_dir = app_dir
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="devhost-fn")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def call(self, function: func.Function, kind: str, trigger_value: Any, **log_extra: Any) -> Any:
        """Invoke ``function`` with its trigger value; exceptions propagate after being logged."""
        name = function_name(function)
        user = function.get_user_function()
        invocation_id = str(uuid.uuid4())
        kwargs = self._arguments(function, user, trigger_value, invocation_id)
        started = time.perf_counter()
        outcome, error = "Succeeded", None
        try:
            if inspect.iscoroutinefunction(user):
                return await user(**kwargs)
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, functools.partial(user, **kwargs))
        except BaseException as exc:
            outcome = "Failed"
            error = f"{type(exc).__name__}: {exc}"
            logs.emit({"event": "FunctionException", "function": name, "traceback": traceback.format_exc()})
            raise
        finally:
            duration = (time.perf_counter() - started) * 1000
            logs.execution(
                kind=kind,
                function=name,
                duration_ms=duration,
                outcome=outcome,
                error=error,
                invocationId=invocation_id,
                **log_extra,
            )

    def _arguments(
        self, function: func.Function, user: Callable[..., Any], value: Any, invocation_id: str
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {_trigger(function).name: value}
        for binding in function.get_bindings():
            if binding.type == "durableClient":
                kwargs[binding.name] = self._binding_json()
        try:
            params = inspect.signature(user).parameters
        except (TypeError, ValueError):
            params = {}  # type: ignore[assignment]
        if "context" in params and "context" not in kwargs:
            kwargs["context"] = InvocationContext(
                invocation_id=invocation_id,
                function_name=function_name(function),
                function_directory=str(self._app_dir),
            )
        return kwargs


def _trigger(function: func.Function) -> Any:
    return function.get_trigger()
