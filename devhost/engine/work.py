"""Reading new work out of a finished replay, and the non-determinism check (durable-host.md §1.5, §2.3).

Every task that got a sequence id in the replay is known (see ``replay._RecordingContext``): ids without a
scheduling event in history are new work; ids with one must match it in kind and name.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from azure.durable_functions.models.actions.CallActivityAction import CallActivityAction
from azure.durable_functions.models.actions.CallActivityWithRetryAction import CallActivityWithRetryAction
from azure.durable_functions.models.actions.CallSubOrchestratorAction import CallSubOrchestratorAction
from azure.durable_functions.models.actions.CallSubOrchestratorWithRetryAction import (
    CallSubOrchestratorWithRetryAction,
)
from azure.durable_functions.models.actions.CreateTimerAction import CreateTimerAction
from azure.durable_functions.models.actions.NoOpAction import NoOpAction
from azure.durable_functions.models.DurableOrchestrationContext import DurableOrchestrationContext
from azure.durable_functions.models.Task import AtomicTask, TaskState

from devhost.engine.events import fmt_time

ID_CONSUMING_ACTIONS = frozenset({0, 1, 2, 3, 5})  # CallActivity(+Retry), CallSubOrchestrator(+Retry), Timer
UNSUPPORTED_ACTIONS = {7: "CallEntity", 8: "CallHttp", 9: "SignalEntity"}
KIND_LABEL = {"activity": "CallActivity", "timer": "CreateTimer", "suborch": "CallSubOrchestrator"}


class NonDeterminismError(Exception):
    pass


@dataclass
class Work:
    """Something the replay scheduled that history has not recorded yet."""

    kind: str  # "activity" | "timer" | "suborch"
    seq: int
    name: str = ""
    input: str | None = None
    fire_at: str = ""
    instance_id: str | None = None


def classify(ctx: Any, scheduled: dict[int, tuple[str, str]]) -> tuple[list[Work], list[int]]:
    work: list[Work] = []
    cancelled: list[int] = []
    for seq in sorted(ctx.assigned):
        task = ctx.assigned[seq]
        item = _work_for(ctx, seq, task)
        known = scheduled.get(seq)
        if known is not None:
            if known[0] != item.kind or known[1] != item.name:
                raise NonDeterminismError(_mismatch(ctx, seq, known, item))
            if item.kind == "timer" and _is_cancelled(task) and task.state is TaskState.RUNNING:
                cancelled.append(seq)
        elif not (item.kind == "timer" and _is_cancelled(task)):
            work.append(item)
    return work, cancelled


def _work_for(ctx: Any, seq: int, task: AtomicTask) -> Work:
    action = task.action_repr[0] if isinstance(task.action_repr, list) else task.action_repr
    if isinstance(action, NoOpAction):  # retry plumbing (§1.8): the parent is the RetryAbleTask
        retry = task.parent
        if action.metadata == "-WithRetry timer":
            options = retry.retry_options
            last = retry.num_attempts >= options.max_number_of_attempts
            delay = 0 if last else options.first_retry_interval_in_milliseconds
            return Work(
                "timer", seq, fire_at=fmt_time(ctx.current_utc_datetime + dt.timedelta(milliseconds=delay))
            )
        original = retry.actions
        action = original[0] if isinstance(original, list) else original
    if isinstance(action, (CallActivityAction, CallActivityWithRetryAction)):
        return Work("activity", seq, name=action.function_name, input=action.input_)
    if isinstance(action, CreateTimerAction):
        return Work("timer", seq, fire_at=fmt_time(action.fire_at))
    if isinstance(action, (CallSubOrchestratorAction, CallSubOrchestratorWithRetryAction)):
        child_id = action.instance_id or f"{ctx.instance_id}:{seq}"
        return Work("suborch", seq, name=action.function_name, input=action._input, instance_id=child_id)
    raise NonDeterminismError(
        f"Orchestrator '{_name(ctx)}' used {type(action).__name__}, which devhost does not support"
    )


def _is_cancelled(task: AtomicTask) -> bool:
    action = task.action_repr[0] if isinstance(task.action_repr, list) else task.action_repr
    return isinstance(action, CreateTimerAction) and action.is_cancelled


def _mismatch(ctx: Any, seq: int, known: tuple[str, str], item: Work) -> str:
    def describe(kind: str, name: str) -> str:
        return f"{KIND_LABEL[kind]} '{name}'" if name else KIND_LABEL[kind]

    return (
        f"Non-deterministic orchestrator '{_name(ctx)}': sequence id {seq} was {describe(*known)} in history "
        f"but the replay scheduled {describe(item.kind, item.name)}"
    )


def _name(ctx: DurableOrchestrationContext) -> str:
    return str(getattr(ctx.histories[1], "Name", "?"))


def cross_check(ctx: Any, state: dict[str, Any]) -> None:
    """The append-only action list must account for every id-consuming task (retry plumbing excepted)."""
    leaves = 0
    stack = list(state["actions"][0]) if state.get("actions") else []
    while stack:
        action = stack.pop()
        stack.extend(action.get("compoundActions") or [])
        kind = action.get("actionType")
        if kind in UNSUPPORTED_ACTIONS:
            name = UNSUPPORTED_ACTIONS[kind]
            raise NonDeterminismError(
                f"Orchestrator '{_name(ctx)}' used {name}, which devhost does not support"
            )
        leaves += kind in ID_CONSUMING_ACTIONS
    tasks = sum(1 for task in ctx.assigned.values() if not isinstance(_raw_action(task), NoOpAction))
    if leaves != tasks:
        raise NonDeterminismError(
            f"Orchestrator '{_name(ctx)}': the action list has {leaves} scheduling actions but the replay "
            f"assigned {tasks} sequence ids"
        )


def _raw_action(task: AtomicTask) -> Any:
    return task.action_repr[0] if isinstance(task.action_repr, list) else task.action_repr
