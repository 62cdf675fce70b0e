"""An activity with a durable client binding gets the binding JSON; async activities can run on a loop the
host lends the engine (where its HTTP and timer functions run, as in the Python worker)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from azure.functions._durable_functions import df_loads

from devhost.engine.activities import Activity, invoke_async
from devhost.engine.loop import EventLoop


@pytest.fixture
def host_loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def test_an_async_activity_gets_its_client_binding_and_runs_on_the_loop_the_host_lends(
    host_loop: asyncio.AbstractEventLoop,
) -> None:
    seen: dict[str, Any] = {}

    async def admit(payload: Any, client: str) -> dict[str, Any]:
        seen["loop"] = asyncio.get_running_loop()
        return {"payload": payload, "client": json.loads(client)}

    activity = Activity("admit", admit, "payload", ("client",), lambda: json.dumps({"taskHubName": "hub"}))
    lent = EventLoop(loop=host_loop)
    finished = threading.Event()
    results: list[Any] = []

    def done(future: Any) -> None:
        results.append(future.result())
        finished.set()

    lent.submit(invoke_async(activity, "admit", json.dumps({"n": 1})), done)
    assert finished.wait(10)
    lent.stop()  # a lent loop is its owner's to stop

    outcome = results[0]
    assert outcome.ok
    assert df_loads(outcome.fields["Result"]) == {"payload": {"n": 1}, "client": {"taskHubName": "hub"}}
    assert seen["loop"] is host_loop and host_loop.is_running()
