import json
import time
from typing import Any

import pytest
import requests

from devhost.keys import EVENTGRID_SYSTEM_KEY
from tests.devhost.server.conftest import FUNCTION_KEY, MASTER_KEY
from tests.support.devhost import Devhost

pytestmark = pytest.mark.timeout(120)


def webhook(host: Devhost, function: str, key: str | None = None) -> str:
    code = key if key is not None else host.system_key(EVENTGRID_SYSTEM_KEY)
    return f"{host.base_url}/runtime/webhooks/eventgrid?functionName={function}&code={code}"


def recorded(host: Devhost, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    path = host.state_dir / "events.jsonl"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= count:
            return [json.loads(line) for line in lines]
        time.sleep(0.05)
    raise AssertionError(f"expected {count} recorded events")


def grid_event(event_id: str, subject: str, data: Any, event_type: str = "Kiln.Test") -> dict[str, Any]:
    return {
        "id": event_id,
        "topic": "/subscriptions/s/resourceGroups/rg/providers/X/topics/t",
        "subject": subject,
        "eventType": event_type,
        "eventTime": "2026-01-02T03:04:05.1234567Z",
        "data": data,
        "dataVersion": "1.0",
    }


def test_subscription_validation_handshake_echoes_the_code(host: Devhost) -> None:
    event = grid_event(
        "v1", "", {"validationCode": "abc-123"}, event_type="Microsoft.EventGrid.SubscriptionValidationEvent"
    )
    response = requests.post(
        webhook(host, "record_event"),
        json=[event],
        headers={"aeg-event-type": "SubscriptionValidation"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json() == {"validationResponse": "abc-123"}


def test_the_webhook_requires_the_system_or_master_key(host: Devhost) -> None:
    body = [grid_event("k1", "s", {})]
    assert requests.post(webhook(host, "record_event", key=""), json=body, timeout=10).status_code == 401
    denied = requests.post(webhook(host, "record_event", key=FUNCTION_KEY), json=body, timeout=10)
    assert denied.status_code == 401 and denied.json()["error"]["code"] == "Unauthorized"
    assert (
        requests.post(webhook(host, "record_event", key=MASTER_KEY), json=body, timeout=10).status_code == 202
    )


def test_event_grid_schema_batch_and_cloudevents_reach_the_function(host: Devhost) -> None:
    before = len(recorded(host, 0))
    batch = [grid_event("g1", "images/a", {"n": 1}), grid_event("g2", "images/b", {"n": 2})]
    assert requests.post(webhook(host, "record_event"), json=batch, timeout=10).status_code == 202
    cloud = {
        "specversion": "1.0",
        "id": "c1",
        "source": "/kiln/tests",
        "type": "Kiln.Cloud",
        "subject": "c",
        "time": "2026-01-02T03:04:05Z",
        "data": {"n": 3},
    }
    single = requests.post(
        webhook(host, "record_event"),
        data=json.dumps(cloud),
        headers={"Content-Type": "application/cloudevents+json"},
        timeout=10,
    )
    assert single.status_code == 202
    cloud_batch: list[dict[str, Any]] = [dict(cloud, id="c2"), dict(cloud, id="c3")]
    assert requests.post(webhook(host, "record_event"), json=cloud_batch, timeout=10).status_code == 202
    events = recorded(host, before + 5)[before:]
    assert [e["id"] for e in events] == ["g1", "g2", "c1", "c2", "c3"]
    assert events[0]["data"] == {"n": 1} and events[0]["subject"] == "images/a"
    assert events[0]["time"].startswith("2026-01-02 03:04:05.123456")
    assert events[2] == {
        "id": "c1",
        "type": "Kiln.Cloud",
        "subject": "c",
        "topic": "/kiln/tests",
        "data": {"n": 3},
        "time": "2026-01-02 03:04:05+00:00",
    }


def test_cloudevents_abuse_protection_handshake_allows_the_origin(host: Devhost) -> None:
    response = requests.options(
        webhook(host, "record_event"), headers={"WebHook-Request-Origin": "eventgrid.azure.net"}, timeout=10
    )
    assert response.status_code == 200
    assert response.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"


def test_unknown_function_and_bad_bodies_get_arm_shaped_errors(host: Devhost) -> None:
    missing = requests.post(webhook(host, "nope"), json=[], timeout=10)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NotFound"
    bad = requests.post(webhook(host, "record_event"), data=b"not json", timeout=10)
    assert bad.status_code == 400 and "JSON" in bad.json()["error"]["message"]
    incomplete = requests.post(webhook(host, "record_event"), json=[{"id": "x"}], timeout=10)
    assert incomplete.status_code == 400 and "subject" in incomplete.json()["error"]["message"]


def test_an_event_grid_function_with_a_durable_client_raises_events_into_an_orchestration(
    host: Devhost,
) -> None:
    rpc = f"{host.rpc_url}/durabletask"
    assert requests.post(f"{rpc}/orchestrators/two_events/eg-1", timeout=10).status_code == 202
    for n in (1, 2):
        event = grid_event(f"e{n}", "eg-1", {"approved": n})
        assert requests.post(webhook(host, "approve_from_event"), json=[event], timeout=10).status_code == 202
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = requests.get(f"{rpc}/instances/eg-1", timeout=10).json()
        if status["runtimeStatus"] == "Completed":
            break
        time.sleep(0.05)
    assert status["output"] == [{"approved": 1}, {"approved": 2}]
    assert any(
        r.get("kind") == "eventGrid" and r.get("function") == "approve_from_event" for r in host.log_records()
    )
