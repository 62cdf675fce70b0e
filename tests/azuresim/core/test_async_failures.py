"""Operations that fail or stop after they were accepted: async fault rules, a resource failing inside a
deployment, a deployment cancelled, a group deleted under a running deployment."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.resource.deployments import DeploymentsMgmtClient
from azure.mgmt.resource.resources import ResourceManagementClient

from tests.azuresim.core.conftest import SUB, slow_azuresim
from tests.azuresim.core.test_deployments import NETWORK_TEMPLATE
from tests.support.azuresim import AzureSim, arm_error
from tests.support.azurite import Azurite

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(autouse=True)
def no_faults(sim: AzureSim) -> Iterator[None]:
    yield
    sim.control("DELETE", "/_sim/faults")


def _params(rg: str) -> dict[str, Any]:
    return {"prefix": {"value": "a" + rg.rsplit("-", 1)[1]}, "space": {"value": "10.1.0.0/16"}}


def test_an_async_rule_accepts_the_request_and_fails_the_operation(
    sim: AzureSim, resources: ResourceManagementClient, rg_name: str
) -> None:
    resources.resource_groups.create_or_update(rg_name, {"location": "eastus"})
    sim.control(
        "POST",
        "/_sim/faults",
        {
            "method": "PUT",
            "path": "/publicIPAddresses/",
            "status": 409,
            "code": "AllocationFailed",
            "async": True,
        },
    )
    rid = f"/subscriptions/{SUB}/resourceGroups/{rg_name}/providers/Microsoft.Network/publicIPAddresses/ip"
    poller = resources.resources.begin_create_or_update_by_id(
        rid, {"location": "eastus"}, api_version="2024-05-01"
    )
    with pytest.raises(HttpResponseError) as info:
        poller.result(timeout=30)
    assert arm_error(info.value)[0] == "AllocationFailed"
    served: Any = resources.resources.get_by_id(rid, api_version="2024-05-01")
    assert served.properties["provisioningState"] == "Failed"


def test_a_rule_on_a_resource_fails_it_inside_a_deployment(
    sim: AzureSim, resources: ResourceManagementClient, deployments: DeploymentsMgmtClient, rg_name: str
) -> None:
    resources.resource_groups.create_or_update(rg_name, {"location": "eastus"})
    sim.control(
        "POST",
        "/_sim/faults",
        {"path": "/storageAccounts/", "status": 409, "code": "SkuNotAvailable", "message": "No capacity."},
    )
    body: Any = {
        "properties": {"template": NETWORK_TEMPLATE, "parameters": _params(rg_name), "mode": "Incremental"}
    }
    with pytest.raises(HttpResponseError) as info:
        deployments.deployments.begin_create_or_update(rg_name, "d", body).result(timeout=30)
    assert info.value.error is not None
    assert info.value.error.code == "DeploymentFailed"
    assert [(d.code, d.message) for d in info.value.error.details] == [("SkuNotAvailable", "No capacity.")]


@pytest.fixture
def slow_sim(azurite: Azurite) -> Iterator[AzureSim]:
    with slow_azuresim(azurite, {"resources.deployment.put": 30.0}) as server:
        yield server


def _slow_clients(sim: AzureSim) -> tuple[ResourceManagementClient, DeploymentsMgmtClient]:
    return sim.mgmt_client(ResourceManagementClient, SUB), sim.mgmt_client(DeploymentsMgmtClient, SUB)


def _state(deployments: DeploymentsMgmtClient, rg: str, name: str) -> Any:
    found: Any = deployments.deployments.get(rg, name)
    return found.properties.provisioning_state


def test_a_running_deployment_can_be_cancelled(slow_sim: AzureSim) -> None:
    resources, deployments = _slow_clients(slow_sim)
    resources.resource_groups.create_or_update("rg-cancel", {"location": "eastus"})
    body: Any = {
        "properties": {"template": NETWORK_TEMPLATE, "parameters": _params("rg-c1"), "mode": "Incremental"}
    }
    poller = deployments.deployments.begin_create_or_update("rg-cancel", "d", body, polling=False)
    poller.result()
    assert _state(deployments, "rg-cancel", "d") == "Running"
    deployments.deployments.cancel("rg-cancel", "d")
    assert _state(deployments, "rg-cancel", "d") == "Canceled"
    assert list(resources.resources.list_by_resource_group("rg-cancel")) == []
    with pytest.raises(HttpResponseError) as info:
        deployments.deployments.cancel("rg-cancel", "d")
    assert info.value.status_code == 409


def test_deleting_a_group_stops_the_deployment_running_in_it(slow_sim: AzureSim) -> None:
    resources, deployments = _slow_clients(slow_sim)
    resources.resource_groups.create_or_update("rg-gone", {"location": "eastus"})
    body: Any = {
        "properties": {"template": NETWORK_TEMPLATE, "parameters": _params("rg-g1"), "mode": "Incremental"}
    }
    deployments.deployments.begin_create_or_update("rg-gone", "d", body, polling=False).result()
    slow_sim.control("PUT", "/_sim/latency", {"ops": {"resources.group.delete": 0.0}})
    resources.resource_groups.begin_delete("rg-gone").result(timeout=30)
    assert not resources.resource_groups.check_existence("rg-gone")
    leftovers = [r for r in slow_sim.control("GET", "/_sim/inventory")["resources"] if "rg-gone" in r["id"]]
    assert leftovers == []
