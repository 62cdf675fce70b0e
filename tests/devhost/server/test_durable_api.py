import asyncio
import json
import time
from typing import Any

import azure.durable_functions as df
import pytest
import requests

from devhost.binding import binding_json
from devhost.keys import DURABLE_SYSTEM_KEY
from tests.devhost.server.conftest import FUNCTION_KEY, MASTER_KEY
from tests.support.devhost import Devhost

pytestmark = pytest.mark.timeout(120)


def start(host: Devhost, name: str, body: Any = None, instance_id: str | None = None) -> requests.Response:
    path = f"/api/orchestrators/{name}" + (f"/{instance_id}" if instance_id else "")
    return requests.post(
        f"{host.base_url}{path}",
        params={"code": FUNCTION_KEY},
        data=json.dumps(body) if body is not None else b"",
        timeout=10,
    )


def wait_done(url: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status: dict[str, Any] = requests.get(url, timeout=10).json()
        if status["runtimeStatus"] not in ("Pending", "Running", "ContinuedAsNew"):
            return status
        time.sleep(0.05)
    raise AssertionError(f"instance did not finish: {status}")


def sdk_client(host: Devhost) -> df.DurableOrchestrationClient:
    binding = binding_json(
        public_base=host.base_url,
        rpc_base=host.rpc_url,
        hub="TestHubName",
        system_key=host.system_key(DURABLE_SYSTEM_KEY),
    )
    return df.DurableOrchestrationClient(binding)


def test_check_status_response_urls_resolve_on_devhost_with_their_key(host: Devhost) -> None:
    response = start(host, "sequence", ["Oslo", "Lima"])
    assert response.status_code == 202
    payload = response.json()
    assert response.headers["Location"] == payload["statusQueryGetUri"]
    assert payload["statusQueryGetUri"].startswith(f"{host.base_url}/runtime/webhooks/durabletask/instances/")
    status = wait_done(payload["statusQueryGetUri"])
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == ["Hello Oslo!", "Hello Lima!"]
    bare = payload["statusQueryGetUri"].split("?")[0]
    assert requests.get(bare, timeout=10).status_code == 401
    assert requests.get(bare, params={"code": FUNCTION_KEY}, timeout=10).status_code == 401
    assert requests.get(bare, params={"code": MASTER_KEY}, timeout=10).status_code == 200


def test_running_instances_answer_202_and_show_history_lists_events(host: Devhost) -> None:
    payload = start(host, "two_events", instance_id="hist-1").json()
    running = requests.get(payload["statusQueryGetUri"], timeout=10)
    assert running.status_code == 202
    assert running.json()["runtimeStatus"] in ("Pending", "Running")
    for value in ("one", "two"):
        url = payload["sendEventPostUri"].replace("{eventName}", "E")
        assert requests.post(url, json=json.dumps(value), timeout=10).status_code == 202
    done = wait_done(payload["statusQueryGetUri"])
    assert done["output"] == ["one", "two"]
    history = requests.get(payload["statusQueryGetUri"] + "&showHistory=true", timeout=10).json()
    kinds = [event["EventType"] for event in history["historyEvents"]]
    assert kinds.count("EventRaised") == 2
    assert kinds[0] == "ExecutionStarted" and kinds[-1] == "ExecutionCompleted"


def test_terminate_then_gone_then_purge_through_management_urls(host: Devhost) -> None:
    payload = start(host, "two_events", instance_id="term-1").json()
    terminate = payload["terminatePostUri"].replace("{text}", "no%20longer%20needed")
    assert requests.post(terminate, timeout=10).status_code == 202
    status = wait_done(payload["statusQueryGetUri"])
    assert status["runtimeStatus"] == "Terminated"
    assert requests.post(terminate, timeout=10).status_code == 410
    raise_url = payload["sendEventPostUri"].replace("{eventName}", "E")
    assert requests.post(raise_url, json="x", timeout=10).status_code == 410
    purged = requests.delete(payload["purgeHistoryDeleteUri"], timeout=10)
    assert purged.json() == {"instancesDeleted": 1}
    assert requests.get(payload["statusQueryGetUri"], timeout=10).status_code == 404


def test_starting_a_running_instance_id_again_is_refused(host: Devhost) -> None:
    assert start(host, "two_events", instance_id="dup-1").status_code == 202
    rpc = requests.post(f"{host.rpc_url}/durabletask/orchestrators/two_events/dup-1", json=None, timeout=10)
    assert rpc.status_code == 409
    assert "dup-1" in rpc.json()["ExceptionMessage"]
    unknown = requests.post(f"{host.rpc_url}/durabletask/orchestrators/no_such_orchestrator", timeout=10)
    assert unknown.status_code == 400
    assert "no_such_orchestrator" in unknown.json()["ExceptionMessage"]


def _completed_instances(host: Devhost, prefix: str, count: int) -> None:
    for i in range(count):
        assert start(host, "sequence", ["q"], instance_id=f"{prefix}{i}").status_code == 202
    for i in range(count):
        wait_done(f"{host.rpc_url}/durabletask/instances/{prefix}{i}")


def test_query_filters_by_prefix_and_status_and_pages_with_continuation_tokens(host: Devhost) -> None:
    _completed_instances(host, "page-", 5)
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        headers = {"x-ms-continuation-token": token} if token else {}
        response = requests.get(
            f"{host.base_url}/runtime/webhooks/durabletask/instances",
            params={
                "instanceIdPrefix": "page-",
                "top": "2",
                "runtimeStatus": "Completed",
                "code": MASTER_KEY,
            },
            headers=headers,
            timeout=10,
        )
        assert response.status_code == 200
        rows = response.json()
        assert len(rows) <= 2
        seen += [row["instanceId"] for row in rows]
        pages += 1
        token = response.headers.get("x-ms-continuation-token")
        if not token:
            break
    assert sorted(seen) == [f"page-{i}" for i in range(5)]
    assert pages >= 3
    running = requests.get(
        f"{host.rpc_url}/durabletask/instances/",
        params={"instanceIdPrefix": "page-", "runtimeStatus": "Running"},
        timeout=10,
    )
    assert running.json() == []


def test_query_filters_by_creation_time_and_refuses_a_time_it_cannot_read(host: Devhost) -> None:
    _completed_instances(host, "window-", 3)
    rpc = f"{host.rpc_url}/durabletask/instances/"
    future = requests.get(rpc, params={"createdTimeFrom": "2999-01-01T00:00:00.000000Z"}, timeout=10).json()
    assert future == []
    past = requests.get(rpc, params={"createdTimeTo": "2000-01-01T00:00:00.000000Z"}, timeout=10).json()
    assert past == []
    window = requests.get(
        rpc,
        params={
            "createdTimeFrom": "2000-01-01T00:00:00.000000Z",
            "createdTimeTo": "2999-01-01T00:00:00.000000Z",
            "instanceIdPrefix": "window-",
        },
        timeout=10,
    ).json()
    assert len(window) == 3
    bad = requests.get(rpc, params={"createdTimeFrom": "yesterday"}, timeout=10)
    assert bad.status_code == 400 and "createdTimeFrom" in bad.json()["error"]["message"]


def test_the_official_python_client_works_against_the_rpc_listener(host: Devhost) -> None:
    client = sdk_client(host)

    async def scenario() -> dict[str, Any]:
        assert not await client.get_status("sdk-unknown")  # 404 gives a falsy status (singleton pattern)
        iid = await client.start_new("two_events", "sdk-1", None)
        await client.raise_event(iid, "E", {"n": 1})
        await client.raise_event(iid, "E", {"n": 2})
        for _ in range(200):
            status = await client.get_status(iid)
            if status.runtime_status == df.OrchestrationRuntimeStatus.Completed:
                break
            await asyncio.sleep(0.05)
        listed = await client.get_status_by(
            runtime_status=[df.OrchestrationRuntimeStatus.Completed], instance_id_prefix="sdk-"
        )
        purged = await client.purge_instance_history(iid)
        return {
            "output": status.output,
            "listed": [s.instance_id for s in listed],
            "purged": purged.instances_deleted,
        }

    result = asyncio.run(scenario())
    assert result == {"output": [{"n": 1}, {"n": 2}], "listed": ["sdk-1"], "purged": 1}


def test_the_public_creation_url_starts_an_instance_with_the_durable_system_key(host: Devhost) -> None:
    base = f"{host.base_url}/runtime/webhooks/durabletask/orchestrators/sequence/public-1"
    assert requests.post(base, json=json.dumps(["P"]), timeout=10).status_code == 401
    started = requests.post(
        base, params={"code": host.system_key(DURABLE_SYSTEM_KEY)}, json=json.dumps(["P"]), timeout=10
    )
    assert started.status_code == 202 and started.json()["id"] == "public-1"
    assert wait_done(started.json()["statusQueryGetUri"])["output"] == ["Hello P!"]


def test_engine_stats_appear_on_the_health_endpoint(host: Devhost) -> None:
    engine = requests.get(f"{host.base_url}/healthz", timeout=10).json()["engine"]
    assert isinstance(engine, dict) and engine
    assert all(isinstance(value, int) for value in engine.values())


def test_orchestrator_and_activity_executions_are_logged_with_the_instance_id(host: Devhost) -> None:
    payload = start(host, "sequence", ["Log"], instance_id="logged-1").json()
    wait_done(payload["statusQueryGetUri"])
    records = [r for r in host.log_records() if r.get("instanceId") == "logged-1"]
    kinds = {(r["kind"], r["function"], r["outcome"]) for r in records}
    assert ("activity", "hello", "Succeeded") in kinds
    assert any(kind == "orchestrator" and fn == "sequence" for kind, fn, _ in kinds)
    assert all(isinstance(r["durationMs"], float | int) for r in records)


def test_the_rpc_listener_answers_only_with_the_durable_system_key(host: Devhost) -> None:
    bare = f"{host.bare_rpc_url}/durabletask/instances/"
    assert requests.get(bare, timeout=10).status_code == 401
    assert requests.get(bare, params={"code": FUNCTION_KEY}, timeout=10).status_code == 401
    wrong = f"{host.bare_rpc_url}/{'x' * 43}/durabletask/instances/"
    assert requests.get(wrong, timeout=10).status_code == 401
    started = requests.post(
        f"{host.bare_rpc_url}/durabletask/orchestrators/sequence/nokey-1", json=[], timeout=10
    )
    assert started.status_code == 401
    key = host.system_key(DURABLE_SYSTEM_KEY)
    assert requests.get(bare, params={"code": key}, timeout=10).status_code == 200
    assert requests.get(f"{host.rpc_url}/durabletask/instances/", timeout=10).status_code == 200
