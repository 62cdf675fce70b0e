"""The latency model drives long-running operations (Retry-After, InProgress, then Succeeded); the state file
keeps every resource across a restart."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from azure.mgmt.resource.resources import ResourceManagementClient

from tests.azuresim.core.conftest import SUB, slow_azuresim
from tests.azuresim.core.test_control_plane import raw
from tests.support.azuresim import AzureSim, start_azuresim
from tests.support.azurite import Azurite

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def slow_sim(azurite: Azurite) -> Iterator[AzureSim]:
    with slow_azuresim(azurite, {"resources.group.delete": 1.5}) as server:
        yield server


def _client(sim: AzureSim) -> ResourceManagementClient:
    return sim.mgmt_client(ResourceManagementClient, SUB)


def test_a_slow_delete_reports_in_progress_with_retry_after_until_its_latency_has_passed(
    slow_sim: AzureSim,
) -> None:
    _client(slow_sim).resource_groups.create_or_update("rg-slow", {"location": "eastus"})
    status, headers, _ = raw(
        slow_sim, "DELETE", f"/subscriptions/{SUB}/resourcegroups/rg-slow?api-version=2025-04-01"
    )
    assert (status, headers["Retry-After"]) == (202, "2")
    op_path = headers["Azure-AsyncOperation"].removeprefix(slow_sim.base_url)
    result_path = headers["Location"].removeprefix(slow_sim.base_url)
    status, headers, body = raw(slow_sim, "GET", op_path)
    assert (status, body["status"]) == (200, "InProgress")
    assert int(headers["Retry-After"]) >= 1
    assert raw(slow_sim, "GET", result_path)[0] == 202
    group = raw(slow_sim, "GET", f"/subscriptions/{SUB}/resourcegroups/rg-slow?api-version=2025-04-01")[2]
    assert group["properties"]["provisioningState"] == "Deleting"
    nsg = (
        f"/subscriptions/{SUB}/resourcegroups/rg-slow/providers/Microsoft.Network/networkSecurityGroups/late"
    )
    status, _, body = raw(slow_sim, "PUT", nsg + "?api-version=2024-05-01", {"location": "eastus"})
    assert (status, body["error"]["code"]) == (409, "ResourceGroupBeingDeleted")


def test_the_sdk_poller_honours_retry_after(slow_sim: AzureSim) -> None:
    client = _client(slow_sim)
    client.resource_groups.create_or_update("rg-poll", {"location": "eastus"})
    slow_sim.control("DELETE", "/_sim/requests")
    client.resource_groups.begin_delete("rg-poll").result(timeout=30)
    log = slow_sim.control("GET", "/_sim/requests")["requests"]
    polls = [e for e in log if e["op"] == "arm.operation.get"]
    # azure-core polls once at once, then waits what Retry-After says (2 s), not its 0.05 s interval.
    assert 2 <= len(polls) <= 3
    waited = datetime.fromisoformat(polls[1]["time"]) - datetime.fromisoformat(polls[0]["time"])
    assert waited.total_seconds() >= 1.4
    assert not client.resource_groups.check_existence("rg-poll")


def test_the_latency_scale_is_read_and_changed_through_the_control_plane(slow_sim: AzureSim) -> None:
    slow_sim.control("PUT", "/_sim/latency", {"scale": 0.0})
    latency = slow_sim.control("GET", "/_sim/latency")
    assert latency["scale"] == 0.0
    assert latency["ops"]["resources.group.delete"] == 1.5
    client = _client(slow_sim)
    client.resource_groups.create_or_update("rg-fast", {"location": "eastus"})
    status, headers, _ = raw(
        slow_sim, "DELETE", f"/subscriptions/{SUB}/resourcegroups/rg-fast?api-version=2025-04-01"
    )
    assert (status, headers["Retry-After"]) == (202, "0")
    status, _, body = raw(slow_sim, "PUT", "/_sim/latency", {"scale": -1})
    assert (status, body["error"]["code"]) == (400, "InvalidParameter")


def test_resources_survive_a_restart_through_the_state_file(azurite: Azurite, tmp_path: Path) -> None:
    state = tmp_path / "azuresim.json"
    with start_azuresim(storage_connection_string=azurite.connection_string, state_file=state) as first:
        client = _client(first)
        client.resource_groups.create_or_update("rg-keep", {"location": "eastus", "tags": {"k": "v"}})
        nsg = (
            f"/subscriptions/{SUB}/resourceGroups/rg-keep/providers/Microsoft.Network/networkSecurityGroups/n"
        )
        client.resources.begin_create_or_update_by_id(
            nsg, {"location": "eastus"}, api_version="2024-05-01"
        ).result()
    with start_azuresim(storage_connection_string=azurite.connection_string, state_file=state) as second:
        client = _client(second)
        assert client.resource_groups.get("rg-keep").tags == {"k": "v"}
        served: Any = client.resources.get_by_id(nsg, api_version="2024-05-01")
        assert served.id == nsg
        assert served.properties["provisioningState"] == "Succeeded"


def test_work_in_flight_at_a_restart_is_settled(azurite: Azurite, tmp_path: Path) -> None:
    state = tmp_path / "azuresim.json"
    slow = {"resources.group.delete": 60.0, "resources.deployment.put": 60.0}
    with slow_azuresim(azurite, slow, state_file=state) as first:
        client = _client(first)
        client.resource_groups.create_or_update("rg-doomed", {"location": "eastus"})
        group = f"/subscriptions/{SUB}/resourceGroups/rg-doomed"
        nsg = f"{group}/providers/Microsoft.Network/networkSecurityGroups/n"
        client.resources.begin_create_or_update_by_id(
            nsg, {"location": "eastus"}, api_version="2024-05-01"
        ).result()
        client.resource_groups.create_or_update("rg-deploying", {"location": "eastus"})
        template: dict[str, Any] = {"resources": [], "parameters": {}}
        deploy = (
            f"/subscriptions/{SUB}/resourcegroups/rg-deploying/providers/Microsoft.Resources/deployments/d"
        )
        status, _, _ = raw(
            first, "PUT", deploy + "?api-version=2026-06-01", {"properties": {"template": template}}
        )
        assert status == 201
        status, headers, _ = raw(
            first, "DELETE", f"/subscriptions/{SUB}/resourcegroups/rg-doomed?api-version=1"
        )
        assert status == 202
        poll = headers["Azure-AsyncOperation"].removeprefix(first.base_url)
    with start_azuresim(storage_connection_string=azurite.connection_string, state_file=state) as second:
        client = _client(second)
        assert not client.resource_groups.check_existence("rg-doomed")
        assert not client.resources.check_existence_by_id(nsg, api_version="2024-05-01")
        assert raw(second, "GET", poll)[2]["status"] == "Succeeded"
        deployment = raw(second, "GET", deploy + "?api-version=2026-06-01")[2]
        assert deployment["properties"]["provisioningState"] == "Failed"
        assert deployment["properties"]["error"]["code"] == "DeploymentFailed"
