"""An activity with a durable client binding gets the binding JSON; an async one runs where the host says."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from azure.functions._durable_functions import df_loads

from devhost.engine.activities import Activity, invoke


def test_an_async_activity_gets_its_client_binding_and_runs_on_the_hosts_loop() -> None:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    seen: dict[str, Any] = {}

    async def admit(payload: Any, client: str) -> dict[str, Any]:
        seen["loop"] = asyncio.get_running_loop()
        return {"payload": payload, "client": json.loads(client)}

    def on_host_loop(coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=10)

    activity = Activity(
        "admit", admit, "payload", ("client",), lambda: json.dumps({"taskHubName": "hub"}), on_host_loop
    )
    try:
        outcome = invoke(activity, "admit", json.dumps({"n": 1}))
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()

    assert outcome.ok
    assert df_loads(outcome.fields["Result"]) == {"payload": {"n": 1}, "client": {"taskHubName": "hub"}}
    assert seen["loop"] is loop


def test_a_sync_activity_without_bindings_is_called_with_its_input_only() -> None:
    outcome = invoke(Activity("echo", lambda payload: payload, "payload"), "echo", json.dumps([1, 2]))

    assert outcome.ok and df_loads(outcome.fields["Result"]) == [1, 2]
