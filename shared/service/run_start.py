"""Starting a run, whoever asks: ``POST …/run``, autoRun, Event Grid and the source poll.

Reserve the run on the template's ETag (``RunService.begin``), then start ``build_image`` with the run id
through the Durable client. The client is
a port (``DurableStarter``): ``azure.durable_functions.DurableOrchestrationClient`` satisfies it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from shared.errors import NotFound
from shared.models.durable import BUILD_IMAGE
from shared.service.run_control import RunInFlight, RunService, RunStart
from shared.store import TemplateRef

RUNNING = frozenset({"Running", "Pending", "ContinuedAsNew", "Suspended"})
NEVER_STARTED_AFTER = timedelta(seconds=60)


class DurableStarter(Protocol):
    """The two calls of the Durable client a start needs."""

    async def start_new(
        self, orchestration_function_name: str, instance_id: str | None = None, client_input: Any = None
    ) -> str: ...

    async def get_status(self, instance_id: str) -> Any: ...


async def runtime_status(client: DurableStarter, instance_id: str) -> str | None:
    """The orchestration's runtime status (``Running``, ``Completed``…), None when unknown."""
    try:
        status = await client.get_status(instance_id)
    except Exception:
        return None
    runtime = getattr(status, "runtime_status", None) if status else None
    if runtime is None:
        return None
    return str(getattr(runtime, "value", runtime))


async def start_run(
    runs: RunService, client: DurableStarter, ref: TemplateRef, *, trigger: str, cycle: str | None = None
) -> RunStart:
    """Reserve and start the template's next run with ``trigger`` (``AutoRun``, ``SourceImage``, ``Schedule``
    with the ``cycle`` that started it).

    Raises:
        RunInFlight: a run is in flight (its orchestration still runs or was reserved moments ago).
        KilnError: the template is absent or not Succeeded.
        Exception: the orchestration could not be started; the run was then ended Failed.
    """
    try:
        start = await asyncio.to_thread(runs.begin, ref, trigger=trigger, cycle=cycle)
    except RunInFlight as busy:
        if not await _settle_if_gone(runs, client, ref, busy.run_id):
            raise
        start = await asyncio.to_thread(runs.begin, ref, trigger=trigger, cycle=cycle)
    try:
        await client.start_new(BUILD_IMAGE.name, start.run_id, start.input)
    except Exception as exc:
        if await runtime_status(client, start.run_id) in RUNNING:
            message = f"The orchestration '{start.run_id}' is still running."
            await asyncio.to_thread(runs.abandon, ref, start.run_id, message)
            raise RunInFlight(ref.name, start.run_id) from exc
        message = f"The {trigger} run could not be started: {exc}"
        await asyncio.to_thread(runs.abandon, ref, start.run_id, message)
        raise
    return start


async def ensure_started(runs: RunService, client: DurableStarter, ref: TemplateRef, run_id: str) -> bool:
    """Start the orchestration of a run reserved earlier whose starter died before starting it (devhost or
    the worker killed between the two steps of ``start_run``); nothing when it exists or the run has ended.
    True when this call started it."""
    if await runtime_status(client, run_id) is not None:
        return False
    build_input = await asyncio.to_thread(runs.reserved_input, ref, run_id)
    if build_input is None:
        return False
    try:
        await client.start_new(BUILD_IMAGE.name, run_id, build_input)
    except Exception:
        if await runtime_status(client, run_id) in RUNNING:
            return False  # another caller started it meanwhile
        raise
    return True


async def _settle_if_gone(runs: RunService, client: DurableStarter, ref: TemplateRef, run_id: str) -> bool:
    """Free the template of a run whose orchestration ended without reporting it (True if freed)."""
    status = await runtime_status(client, run_id)
    if status in RUNNING:
        return False
    if status is None:
        try:
            doc = await asyncio.to_thread(runs.document, ref, run_id)
        except NotFound:
            doc = None
        if doc is not None:
            started = datetime.fromisoformat(doc["properties"]["startTime"].replace("Z", "+00:00"))
            if datetime.now(UTC) - started < NEVER_STARTED_AFTER:
                return False  # another function is starting it right now
    message = f"The run's orchestration ended ({status or 'not found'}) without reporting its outcome."
    await asyncio.to_thread(runs.settle, ref, run_id, state="Failed", message=message)
    return True
