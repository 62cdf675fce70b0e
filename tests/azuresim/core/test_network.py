"""Network resources over the generic resources client: PUT semantics, canonical ids and the deletion-order
conflicts Azure raises (NicInUse, PublicIPAddressCannotBeDeleted, InUse…CannotBeDeleted)."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.resource.deployments import DeploymentsMgmtClient
from azure.mgmt.resource.resources import ResourceManagementClient

from activities.support.deployment_template import BuildVmNames
from tests.azuresim.core.conftest import SUB, deploy_build_vm
from tests.support.azuresim import AzureSim, arm_error

pytestmark = pytest.mark.timeout(60)
API = "2024-05-01"


def _net(rg: str, kind: str, name: str) -> str:
    return f"/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Network/{kind}/{name}"


def _put(resources: ResourceManagementClient, rid: str, body: dict[str, Any]) -> Any:
    return resources.resources.begin_create_or_update_by_id(rid, body, api_version=API).result(timeout=30)


def _delete_error(resources: ResourceManagementClient, rid: str) -> str:
    with pytest.raises(HttpResponseError) as info:
        resources.resources.begin_delete_by_id(rid, api_version=API).result(timeout=30)
    assert info.value.status_code == 400
    assert info.value.error is not None
    return str(info.value.error.code)


@pytest.fixture
def build_vm(
    sim: AzureSim, resources: ResourceManagementClient, deployments: DeploymentsMgmtClient, rg_name: str
) -> BuildVmNames:
    """kiln's build VM deployment (VM, NIC, public IP, NSG, VNet, storage) in a fresh group."""
    names, _ = deploy_build_vm(sim, resources, deployments, rg_name, run_id=rg_name, secret_name="net-admin")
    return names


def test_put_of_the_same_name_returns_the_same_resource_with_canonical_casing(
    resources: ResourceManagementClient, rg_name: str
) -> None:
    resources.resource_groups.create_or_update(rg_name, {"location": "eastus"})
    lower = f"/subscriptions/{SUB}/resourcegroups/{rg_name}/providers/microsoft.network/publicipaddresses/ip1"
    first = _put(resources, lower, {"location": "eastus", "sku": {"name": "Standard"}})
    again = _put(
        resources, _net(rg_name, "publicIPAddresses", "ip1"), {"location": "eastus", "tags": {"a": "b"}}
    )
    assert first.id == _net(rg_name, "publicIPAddresses", "ip1")
    assert again.id == first.id
    assert again.properties["ipAddress"] == first.properties["ipAddress"]
    assert again.properties["provisioningState"] == "Succeeded"
    assert again.tags == {"a": "b"}


def test_deleting_a_missing_resource_answers_204_and_succeeds(
    resources: ResourceManagementClient, rg_name: str
) -> None:
    resources.resource_groups.create_or_update(rg_name, {"location": "eastus"})
    poller = resources.resources.begin_delete_by_id(
        _net(rg_name, "networkInterfaces", "none"), api_version=API
    )
    poller.result(timeout=30)
    assert poller.status() == "Succeeded"


def test_in_use_network_resources_cannot_be_deleted_until_their_users_are_gone(
    resources: ResourceManagementClient, build_vm: BuildVmNames, rg_name: str
) -> None:
    names = build_vm
    nic, pip = (
        _net(rg_name, "networkInterfaces", names.nic),
        _net(rg_name, "publicIPAddresses", names.public_ip),
    )
    nsg, vnet = (
        _net(rg_name, "networkSecurityGroups", names.nsg),
        _net(rg_name, "virtualNetworks", names.vnet),
    )
    assert _delete_error(resources, nic) == "NicInUse"
    assert _delete_error(resources, pip) == "PublicIPAddressCannotBeDeleted"
    assert _delete_error(resources, nsg) == "InUseNetworkSecurityGroupCannotBeDeleted"
    assert _delete_error(resources, f"{vnet}/subnets/{names.subnet}") == "InUseSubnetCannotBeDeleted"
    assert _delete_error(resources, vnet) == "InUseSubnetCannotBeDeleted"
    served_nic: Any = resources.resources.get_by_id(nic, api_version=API)
    vm_id = served_nic.properties["virtualMachine"]["id"]
    assert vm_id.endswith(f"/virtualMachines/{names.vm}")
    # In Azure's order: the VM (its NIC goes with it: deleteOption Delete), then the rest.
    resources.resources.begin_delete_by_id(vm_id, api_version="2024-07-01").result(timeout=30)
    assert not resources.resources.check_existence_by_id(nic, api_version=API)
    for rid in (pip, vnet, nsg):
        resources.resources.begin_delete_by_id(rid, api_version=API).result(timeout=30)
        assert not resources.resources.check_existence_by_id(rid, api_version=API)


def test_deleting_the_group_deletes_everything_inside_despite_the_conflicts(
    sim: AzureSim, resources: ResourceManagementClient, build_vm: BuildVmNames, rg_name: str
) -> None:
    before = [
        r for r in sim.control("GET", "/_sim/inventory")["resources"] if f"/{rg_name}/" in r["id"] + "/"
    ]
    assert len(before) > 8
    resources.resource_groups.begin_delete(rg_name).result(timeout=30)
    after = [r for r in sim.control("GET", "/_sim/inventory")["resources"] if f"/{rg_name}/" in r["id"] + "/"]
    assert after == []
    assert not resources.resource_groups.check_existence(rg_name)


def test_a_nic_keeps_its_public_ip_across_a_re_put_but_another_nic_cannot_take_it(
    resources: ResourceManagementClient, rg_name: str
) -> None:
    resources.resource_groups.create_or_update(rg_name, {"location": "eastus"})
    vnet = {
        "location": "eastus",
        "properties": {
            "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
            "subnets": [{"name": "s", "properties": {"addressPrefix": "10.0.0.0/24"}}],
        },
    }
    _put(resources, _net(rg_name, "virtualNetworks", "v"), vnet)
    pip = _put(resources, _net(rg_name, "publicIPAddresses", "ip"), {"location": "eastus"})
    config = {
        "name": "ipconfig1",
        "properties": {
            "subnet": {"id": _net(rg_name, "virtualNetworks", "v") + "/subnets/s"},
            "publicIPAddress": {"id": pip.id},
        },
    }
    nic = {"location": "eastus", "properties": {"ipConfigurations": [config]}}
    first = _put(resources, _net(rg_name, "networkInterfaces", "n1"), nic)
    again = _put(resources, _net(rg_name, "networkInterfaces", "n1"), nic)
    assert again.id == first.id
    assert again.properties["ipConfigurations"][0]["properties"]["privateIPAddress"] == "10.0.0.4"
    with pytest.raises(HttpResponseError) as info:
        _put(resources, _net(rg_name, "networkInterfaces", "n2"), nic)
    assert arm_error(info.value)[0] == "PublicIPAddressInUse"
