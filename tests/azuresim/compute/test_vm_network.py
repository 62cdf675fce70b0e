"""A VM holds its NIC while it exists; once the VM is deleted the NIC can be deleted (or goes with the VM when
its deleteOption says Delete)."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.resource.deployments import DeploymentsMgmtClient
from azure.mgmt.resource.resources import ResourceManagementClient

from tests.azuresim.compute.conftest import SUB, vm_body
from tests.support.azuresim import AzureSim

pytestmark = pytest.mark.timeout(60)
NET_API = "2024-05-01"
SUBNET = "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'vnet', 'default')]"
TEMPLATE = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "resources": [
        {
            "type": "Microsoft.Network/virtualNetworks",
            "apiVersion": NET_API,
            "name": "vnet",
            "location": "eastus",
            "properties": {
                "addressSpace": {"addressPrefixes": ["10.9.0.0/16"]},
                "subnets": [{"name": "default", "properties": {"addressPrefix": "10.9.0.0/24"}}],
            },
        },
        *[
            {
                "type": "Microsoft.Network/networkInterfaces",
                "apiVersion": NET_API,
                "name": nic,
                "location": "eastus",
                "dependsOn": ["[resourceId('Microsoft.Network/virtualNetworks', 'vnet')]"],
                "properties": {
                    "ipConfigurations": [
                        {
                            "name": "ipconfig1",
                            "properties": {"subnet": {"id": SUBNET}},
                        }
                    ]
                },
            }
            for nic in ("nic-keep", "nic-delete")
        ],
    ],
}


@pytest.fixture
def resources(sim: AzureSim) -> Any:
    return sim.mgmt_client(ResourceManagementClient, SUB)


def nic_id(rg: str, name: str) -> str:
    return f"/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Network/networkInterfaces/{name}"


def test_nic_is_in_use_until_the_vm_is_deleted(sim: AzureSim, compute: Any, resources: Any, rg: str) -> None:
    deployments = sim.mgmt_client(DeploymentsMgmtClient, SUB)
    body = {"properties": {"mode": "Incremental", "template": TEMPLATE}}
    deployments.deployments.begin_create_or_update(rg, "net", body).result()  # type: ignore[call-overload]
    nics = [
        {"id": nic_id(rg, "nic-keep"), "properties": {"primary": True, "deleteOption": "Detach"}},
        {"id": nic_id(rg, "nic-delete"), "properties": {"primary": False, "deleteOption": "Delete"}},
    ]
    vm = compute.virtual_machines.begin_create_or_update(
        rg, "vm1", vm_body(networkProfile={"networkInterfaces": nics})
    ).result()
    nic = resources.resources.get_by_id(nic_id(rg, "nic-keep"), api_version=NET_API)
    assert nic.properties["virtualMachine"]["id"] == vm.id
    with pytest.raises(HttpResponseError) as err:
        resources.resources.begin_delete_by_id(nic_id(rg, "nic-keep"), api_version=NET_API).result()
    assert err.value.error is not None and err.value.error.code == "NicInUse"
    compute.virtual_machines.begin_delete(rg, "vm1").result()
    kept = resources.resources.get_by_id(nic_id(rg, "nic-keep"), api_version=NET_API)
    assert "virtualMachine" not in kept.properties
    assert not resources.resources.check_existence_by_id(nic_id(rg, "nic-delete"), api_version=NET_API)
    resources.resources.begin_delete_by_id(nic_id(rg, "nic-keep"), api_version=NET_API).result()
