"""One replay of an orchestrator through the real azure-functions-durable 1.7.0 engine (durable-host.md §2.3).

New work is read from the SDK's own bookkeeping: every task that received a sequence id during the replay is
recorded (``_RecordingContext``), so ids that have no scheduling event in history are new work, and ids that
do are checked against history (the SDK itself never checks determinism).
"""

from __future__ import annotations

import functools
import importlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from azure.durable_functions.models.DurableOrchestrationContext import DurableOrchestrationContext
from azure.durable_functions.models.OrchestratorState import OrchestratorState
from azure.durable_functions.models.Task import AtomicTask, TaskBase, TaskState
from azure.durable_functions.models.TaskOrchestrationExecutor import TaskOrchestrationExecutor

from devhost.engine.work import NonDeterminismError, Work, classify, cross_check

# The SDK parses every event's Timestamp with dateutil on every replay, which is ~85% of a replay's cost.
# Timestamps are immutable strings of an append-only history, so the parse is memoised (same parser, same
# datetime values; a pure cache, nothing to invalidate on restart).
_history_module: Any = importlib.import_module("azure.durable_functions.models.history.HistoryEvent")
if not hasattr(_history_module.dt_parse, "cache_info"):
    _history_module.dt_parse = functools.lru_cache(maxsize=1 << 16)(_history_module.dt_parse)

OUT_OF_PROC_LABEL = "\n\n$OutOfProcData$:"
CUSTOM_STATUS_LIMIT = 16 * 1024  # bytes of UTF-16 JSON


@dataclass
class ReplayResult:
    done: bool = False
    failed: bool = False
    error: str | None = None
    output: str | None = None  # JSON text
    continue_input: str | None = None  # set when the orchestrator called continue_as_new
    custom_status: Any = None
    custom_status_set: bool = False
    work: list[Work] = field(default_factory=list)
    cancelled_timers: list[int] = field(default_factory=list)
    waits: dict[str, int] = field(default_factory=dict)


class _RecordingContext(DurableOrchestrationContext):  # type: ignore[misc]
    """The SDK context, plus a record of every task that was given a sequence id in this replay."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.assigned: dict[int, AtomicTask] = {}

    def _add_to_open_tasks(self, task: TaskBase) -> None:
        super()._add_to_open_tasks(task)
        if isinstance(task, AtomicTask) and isinstance(task.id, int) and task.id >= 0:
            self.assigned.setdefault(task.id, task)


class _StateExecutor(TaskOrchestrationExecutor):  # type: ignore[misc]
    """The SDK's executor, handing back the orchestrator state as the dict it would serialise, not its JSON
    text: the host reads it at once, and writing and reading that text (every action's input, escaped once
    more) was about a tenth of a replay of kiln's build. A failed orchestrator still raises the SDK's own
    message with its ``$OutOfProcData$`` state, as ``Orchestrator.handle`` does."""

    def get_orchestrator_state_str(self) -> Any:
        output: Any = getattr(self, "output", None)
        if output is not None:
            try:  # the SDK's own check: an output that is not JSON fails the orchestration
                json.dumps(output)
            except Exception as exc:
                self.output, self.exception = None, exc
        if self.exception is not None:
            return super().get_orchestrator_state_str()  # raises
        state = OrchestratorState(
            is_done=self.orchestration_invocation_succeeded,
            actions=self.context._actions,
            output=output,
            replay_schema=self.context._replay_schema,
            error=None,
            custom_status=self.context.custom_status,
        )
        return state.to_json()


def build_context_json(
    history: Sequence[str], input_text: str | None, instance_id: str, parent_instance_id: str | None
) -> str:
    """The trigger payload of durable-host.md §1.1; stored event texts are spliced in unchanged."""
    head = json.dumps(
        {
            "input": input_text,
            "instanceId": instance_id,
            "isReplaying": False,
            "parentInstanceId": parent_instance_id,
            "upperSchemaVersion": 1,
            "upperSchemaVersionNew": 2,
        }
    )
    return '{"history": [' + ", ".join(history) + "], " + head[1:]


def run_replay(
    handle: Callable[..., Any],
    context_json: str,
    scheduled: dict[int, tuple[str, str]],
) -> ReplayResult:
    """Replays ``handle`` (an orchestrator's user function) and classifies what it did.

    ``scheduled`` maps each sequence id that history already scheduled to (kind, name).
    """
    ctx = _RecordingContext.from_json(context_json)
    ctx._input_expected_type = getattr(handle, "_df_input_type", None)
    result = ReplayResult()
    try:
        fn = getattr(handle, "orchestrator_function", handle)
        state: dict[str, Any] = _StateExecutor().execute(ctx, ctx.histories, fn)
    except Exception as exc:  # the orchestrator raised: message + OutOfProcData state (§1.3)
        result.failed = True
        result.error = str(exc).partition(OUT_OF_PROC_LABEL)[0] or type(exc).__name__
    _read_custom_status(ctx, result)
    if result.failed:
        return result
    try:
        result.work, result.cancelled_timers = classify(ctx, scheduled)
        cross_check(ctx, state)
    except NonDeterminismError as exc:
        result.failed, result.error = True, str(exc)
        return result
    if state.get("isDone"):
        result.done = True
        last = state["actions"][0][-1] if state["actions"] and state["actions"][0] else {}
        if ctx.will_continue_as_new and last.get("actionType") == 4:
            result.continue_input = last.get("input")
        else:
            result.output = json.dumps(state["output"]) if "output" in state else None
    result.waits = _open_waits(ctx)
    return result


def _open_waits(ctx: DurableOrchestrationContext) -> dict[str, int]:
    """Live external-event waiters by name. A waiter whose task_any/task_all already finished stays in
    ``open_tasks`` forever; feeding it an event would lose the event, so it is not counted."""
    waits: dict[str, int] = {}
    for key, tasks in ctx.open_tasks.items():
        if isinstance(key, str) and isinstance(tasks, list):
            live = sum(1 for task in tasks if _is_live(task))
            if live:
                waits[key] = live
    return waits


def _is_live(task: TaskBase) -> bool:
    parent = task.parent
    while parent is not None:
        if parent.state is not TaskState.RUNNING:
            return False
        parent = parent.parent
    return True


def _read_custom_status(ctx: DurableOrchestrationContext, result: ReplayResult) -> None:
    # The SDK drops falsy values from its output; ctx.custom_status still has them. None means "not set in
    # this execution", so the stored value is kept (as the extension does when customStatus is missing).
    if ctx.custom_status is None:
        return
    try:
        size = len(json.dumps(ctx.custom_status).encode("utf-16-le"))
    except (TypeError, ValueError) as exc:
        result.failed, result.error = True, f"Custom status is not JSON-serializable: {exc}"
        return
    if size > CUSTOM_STATUS_LIMIT:  # the extension's SetCustomStatus rejects it the same way
        result.failed = True
        result.error = "The size of the JSON-serialized custom status object must not exceed 16 KB."
        return
    result.custom_status, result.custom_status_set = ctx.custom_status, True
