"""The control plane: fault rules (once, N times, probability, body match, delay, hang), latency model,
inventory, request log, and the bearer-token check."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
from azure.mgmt.resource.resources import ResourceManagementClient

from tests.azuresim.core.conftest import SUB
from tests.support.azuresim import AzureSim, arm_error

pytestmark = pytest.mark.timeout(60)


def raw(
    sim: AzureSim, method: str, path: str, body: Any = None, token: str | None = "t"
) -> tuple[int, Any, Any]:
    """One HTTPS request without the SDK: (status, headers, parsed body)."""
    ctx = ssl.create_default_context(cafile=sim.ca_file)
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(sim.base_url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
            payload = resp.read()
            return resp.status, resp.headers, json.loads(payload) if payload else None
    except urllib.error.HTTPError as err:
        payload = err.read()
        return err.code, err.headers, json.loads(payload) if payload else None


@pytest.fixture(autouse=True)
def no_faults(sim: AzureSim) -> Iterator[None]:
    sim.control("DELETE", "/_sim/faults")
    yield
    sim.control("DELETE", "/_sim/faults")


def _group_path(rg: str) -> str:
    return f"/subscriptions/{SUB}/resourcegroups/{rg}?api-version=2025-04-01"


def test_arm_calls_without_a_bearer_token_get_401(sim: AzureSim, rg_name: str) -> None:
    status, headers, body = raw(sim, "GET", _group_path(rg_name), token=None)
    assert status == 401
    assert body["error"]["code"] == "AuthenticationFailed"
    assert headers["WWW-Authenticate"].startswith("Bearer")
    status, _, body = raw(sim, "GET", _group_path(rg_name), token=" ")
    assert (status, body["error"]["code"]) == (401, "InvalidAuthenticationToken")


def test_sdk_client_with_an_empty_token_is_refused(sim: AzureSim, rg_name: str) -> None:
    client = sim.mgmt_client(ResourceManagementClient, SUB, token="")
    with pytest.raises(HttpResponseError) as info:
        client.resource_groups.get(rg_name)
    assert info.value.status_code == 401


def test_a_once_rule_fails_exactly_one_matching_request(
    sim: AzureSim, resources: ResourceManagementClient, rg_name: str
) -> None:
    resources.resource_groups.create_or_update(rg_name, {"location": "eastus"})
    sim.control(
        "POST",
        "/_sim/faults",
        {
            "method": "GET",
            "path": f"/resourcegroups/{rg_name}$",
            "status": 409,
            "code": "Conflict",
            "times": 1,
        },
    )
    with pytest.raises(HttpResponseError) as info:
        resources.resource_groups.get(rg_name)
    assert info.value.status_code == 409
    assert arm_error(info.value)[0] == "Conflict"
    assert resources.resource_groups.get(rg_name).name == rg_name
    assert sim.control("GET", "/_sim/faults")["rules"] == []


def test_429_answers_carry_retry_after_and_the_sdk_retries_through_n_of_them(
    sim: AzureSim, resources: ResourceManagementClient, rg_name: str
) -> None:
    resources.resource_groups.create_or_update(rg_name, {"location": "eastus"})
    rule = {"method": "GET", "path": rg_name, "status": 429, "code": "TooManyRequests", "retryAfter": 0.1}
    sim.control("POST", "/_sim/faults", {**rule, "times": 1})
    status, headers, body = raw(sim, "GET", _group_path(rg_name))
    assert (status, headers["Retry-After"], body["error"]["code"]) == (429, "0.1", "TooManyRequests")
    sim.control("DELETE", "/_sim/requests")
    sim.control("POST", "/_sim/faults", {**rule, "times": 2})
    assert resources.resource_groups.get(rg_name).name == rg_name
    statuses = [r["status"] for r in sim.control("GET", "/_sim/requests")["requests"]]
    assert statuses == [429, 429, 200]


def test_a_rule_with_body_contains_only_fails_matching_bodies(
    resources: ResourceManagementClient, sim: AzureSim, rg_name: str
) -> None:
    sim.control(
        "POST",
        "/_sim/faults",
        {
            "method": "PUT",
            "path": "/resourcegroups/",
            "bodyContains": "poison",
            "status": 400,
            "code": "Poisoned",
        },
    )
    resources.resource_groups.create_or_update(rg_name, {"location": "eastus", "tags": {"fine": "yes"}})
    with pytest.raises(HttpResponseError) as info:
        resources.resource_groups.create_or_update(rg_name, {"location": "eastus", "tags": {"x": "poison"}})
    assert arm_error(info.value)[0] == "Poisoned"


def test_probability_rules_fire_at_their_rate(sim: AzureSim, rg_name: str) -> None:
    for probability, low, high in [(0.0, 0, 0), (1.0, 40, 40), (0.5, 8, 32)]:
        sim.control("DELETE", "/_sim/faults")
        sim.control("POST", "/_sim/faults", {"path": rg_name, "status": 409, "probability": probability})
        failures = sum(raw(sim, "GET", _group_path(rg_name))[0] == 409 for _ in range(40))
        assert low <= failures <= high, (probability, failures)


def test_a_delay_rule_slows_the_request_down_and_it_still_succeeds(
    sim: AzureSim, resources: ResourceManagementClient, rg_name: str
) -> None:
    resources.resource_groups.create_or_update(rg_name, {"location": "eastus"})
    sim.control("POST", "/_sim/faults", {"method": "GET", "path": rg_name, "delayMs": 300})
    sim.control("DELETE", "/_sim/requests")
    assert resources.resource_groups.get(rg_name).name == rg_name
    [entry] = sim.control("GET", "/_sim/requests")["requests"]
    assert entry["status"] == 200
    assert entry["durationMs"] >= 300


def test_a_hang_rule_never_answers_and_the_client_times_out(
    sim: AzureSim, resources: ResourceManagementClient, rg_name: str
) -> None:
    sim.control("POST", "/_sim/faults", {"method": "GET", "path": rg_name, "hang": True})
    with pytest.raises((ServiceResponseError, ServiceRequestError)):
        resources.resource_groups.get(rg_name, read_timeout=0.5, retry_total=0)
    sim.control("DELETE", "/_sim/faults")
    assert raw(sim, "GET", "/_sim/health")[0] == 200


def test_bad_fault_rules_are_rejected_naming_the_field(sim: AzureSim) -> None:
    status, _, body = raw(sim, "POST", "/_sim/faults", {"path": "(", "status": 500})
    assert status == 400
    assert body["error"]["target"] == "path"
    status, _, body = raw(sim, "POST", "/_sim/faults", {"path": "x", "status": 500, "probability": 2})
    assert (status, body["error"]["target"]) == (400, "probability")


def test_inventory_lists_every_resource_with_its_tags(
    sim: AzureSim, resources: ResourceManagementClient, rg_name: str
) -> None:
    resources.resource_groups.create_or_update(rg_name, {"location": "eastus", "tags": {"owner": "kiln"}})
    resources.resources.begin_create_or_update_by_id(
        f"/subscriptions/{SUB}/resourceGroups/{rg_name}/providers/Microsoft.Network/networkSecurityGroups/n1",
        {"location": "eastus", "tags": {"role": "build"}},
        api_version="2024-05-01",
    ).result(timeout=30)
    found = {r["name"]: r for r in sim.control("GET", "/_sim/inventory")["resources"] if rg_name in r["id"]}
    assert found[rg_name]["tags"] == {"owner": "kiln"}
    assert found[rg_name]["type"] == "Microsoft.Resources/resourceGroups"
    assert found["n1"]["tags"] == {"role": "build"}
    assert found["n1"]["provisioningState"] == "Succeeded"


def test_request_log_records_method_path_status_and_operation(
    sim: AzureSim, resources: ResourceManagementClient, rg_name: str
) -> None:
    sim.control("DELETE", "/_sim/requests")
    resources.resource_groups.create_or_update(rg_name, {"location": "eastus"})
    resources.resource_groups.check_existence(rg_name + "-nope")
    log = sim.control("GET", "/_sim/requests")["requests"]
    assert [(e["method"], e["status"], e["op"]) for e in log] == [
        ("PUT", 201, "resources.group.put"),
        ("HEAD", 404, "resources.group.head"),
    ]
    assert log[0]["path"] == f"/subscriptions/{SUB}/resourcegroups/{rg_name}"
    sim.control("DELETE", "/_sim/requests")
    assert sim.control("GET", "/_sim/requests")["requests"] == []


def test_unknown_endpoints_answer_an_arm_error(sim: AzureSim) -> None:
    status, _, body = raw(sim, "GET", f"/subscriptions/{SUB}/providers/Microsoft.Nope/things?api-version=1")
    assert status == 404
    assert body["error"]["code"] == "InvalidResourceType"
    status, _, body = raw(sim, "GET", f"/subscriptions/{SUB}/resourcegroups/x")
    assert (status, body["error"]["code"]) == (400, "MissingApiVersionParameter")
