"""Template deployments through DeploymentsMgmtClient: resources created in dependsOn order through their
providers, expressions evaluated, validation and per-resource failures reported as Azure reports them."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.resource.deployments import DeploymentsMgmtClient
from azure.mgmt.resource.resources import ResourceManagementClient

from tests.azuresim.core.conftest import SUB, deploy_build_vm
from tests.support.azuresim import AzureSim, arm_error
from tests.support.azurite import Azurite

pytestmark = pytest.mark.timeout(60)
NET_API = "2024-05-01"

NETWORK_TEMPLATE: dict[str, Any] = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "parameters": {"prefix": {"type": "string", "defaultValue": "net"}, "space": {"type": "string"}},
    "variables": {"vnetName": "[concat(parameters('prefix'), '-vnet')]"},
    "resources": [
        {
            "type": "Microsoft.Network/virtualNetworks",
            "apiVersion": NET_API,
            "name": "[variables('vnetName')]",
            "location": "[resourceGroup().location]",
            "properties": {
                "addressSpace": {"addressPrefixes": ["[parameters('space')]"]},
                "subnets": [{"name": "default", "properties": {"addressPrefix": "10.1.0.0/24"}}],
            },
        },
        {
            "type": "Microsoft.Network/networkInterfaces",
            "apiVersion": NET_API,
            "name": "[concat(parameters('prefix'), '-nic')]",
            "location": "[resourceGroup().location]",
            "dependsOn": ["[resourceId('Microsoft.Network/virtualNetworks', variables('vnetName'))]"],
            "properties": {
                "ipConfigurations": [
                    {
                        "name": "ipconfig1",
                        "properties": {
                            "subnet": {
                                "id": "[resourceId('Microsoft.Network/virtualNetworks/subnets', "
                                "variables('vnetName'), 'default')]"
                            }
                        },
                    }
                ]
            },
        },
        {
            "type": "Microsoft.Storage/storageAccounts",
            "apiVersion": "2023-05-01",
            "name": "[toLower(concat(parameters('prefix'), 'store1'))]",
            "location": "[resourceGroup().location]",
            "sku": {"name": "Standard_LRS"},
            "kind": "StorageV2",
        },
    ],
    "outputs": {
        "nicIp": {
            "type": "string",
            "value": "[reference(concat(parameters('prefix'), '-nic')).ipConfigurations[0].properties"
            ".privateIPAddress]",
        }
    },
}


def _params(rg_name: str, space: str = "10.1.0.0/16") -> dict[str, Any]:
    # Storage account names are global, as in Azure: every test uses its own prefix.
    return {"prefix": {"value": "n" + rg_name.rsplit("-", 1)[1]}, "space": {"value": space}}


def _deploy(deployments: DeploymentsMgmtClient, rg: str, name: str, template: Any, parameters: Any) -> Any:
    body: Any = {"properties": {"mode": "Incremental", "template": template, "parameters": parameters}}
    return deployments.deployments.begin_create_or_update(rg, name, body).result(timeout=30)


def test_template_creates_network_and_storage_with_expressions_evaluated(
    resources: ResourceManagementClient, deployments: DeploymentsMgmtClient, azurite: Azurite, rg_name: str
) -> None:
    resources.resource_groups.create_or_update(rg_name, {"location": "westeurope"})
    params = _params(rg_name)
    p = params["prefix"]["value"]
    result = _deploy(deployments, rg_name, "net", NETWORK_TEMPLATE, params)
    assert result.properties.provisioning_state == "Succeeded"
    assert result.properties.outputs["nicIp"]["value"] == "10.1.0.4"
    listed = {(r.type, r.name) for r in resources.resources.list_by_resource_group(rg_name)}
    assert listed == {
        ("Microsoft.Network/virtualNetworks", f"{p}-vnet"),
        ("Microsoft.Network/networkInterfaces", f"{p}-nic"),
        ("Microsoft.Storage/storageAccounts", f"{p}store1"),
    }
    base = f"/subscriptions/{SUB}/resourceGroups/{rg_name}/providers"
    vnet_id = f"{base}/Microsoft.Network/virtualNetworks/{p}-vnet"
    vnet: Any = resources.resources.get_by_id(vnet_id, api_version=NET_API)
    assert vnet.location == "westeurope"
    assert vnet.properties["subnets"][0]["id"] == f"{vnet_id}/subnets/default"
    account_id = f"{base}/Microsoft.Storage/storageAccounts/{p}store1"
    account: Any = resources.resources.get_by_id(account_id, api_version="2023-05-01")
    assert account.properties["primaryEndpoints"]["blob"] == azurite.blob_endpoint + "/"
    ops: Any = list(deployments.deployment_operations.list(rg_name, "net"))
    names = sorted(o.properties.target_resource.resource_name for o in ops)
    assert names == [f"{p}-nic", f"{p}-vnet", f"{p}store1"]
    assert {o.properties.provisioning_state for o in ops} == {"Succeeded"}


def test_deploying_the_same_template_again_keeps_the_same_resources(
    resources: ResourceManagementClient, deployments: DeploymentsMgmtClient, rg_name: str
) -> None:
    resources.resource_groups.create_or_update(rg_name, {"location": "eastus"})
    params = _params(rg_name)
    first = _deploy(deployments, rg_name, "net", NETWORK_TEMPLATE, params)
    second = _deploy(deployments, rg_name, "net", NETWORK_TEMPLATE, params)
    ids = sorted(r.id for r in first.properties.output_resources)
    assert sorted(r.id for r in second.properties.output_resources) == ids
    assert len(list(resources.resources.list_by_resource_group(rg_name))) == 3
    assert second.properties.outputs["nicIp"]["value"] == "10.1.0.4"


def test_a_failing_resource_fails_the_deployment_with_its_error_in_the_details(
    resources: ResourceManagementClient, deployments: DeploymentsMgmtClient, rg_name: str
) -> None:
    resources.resource_groups.create_or_update(rg_name, {"location": "eastus"})
    with pytest.raises(HttpResponseError) as info:
        _deploy(deployments, rg_name, "bad", NETWORK_TEMPLATE, _params(rg_name, "10.9.0.0/16"))
    assert info.value.error is not None
    assert info.value.error.code == "DeploymentFailed"
    assert info.value.error.details[0].code == "NetcfgSubnetRangeOutsideVnet"
    deployment: Any = deployments.deployments.get(rg_name, "bad")
    assert deployment.properties.provisioning_state == "Failed"
    states = {
        o.properties.target_resource.resource_name: o.properties.provisioning_state
        for o in list[Any](deployments.deployment_operations.list(rg_name, "bad"))
    }
    # The NIC depends on the failed VNet and is never attempted; the storage account is independent.
    p = _params(rg_name)["prefix"]["value"]
    assert states[f"{p}-vnet"] == "Failed"
    assert f"{p}-nic" not in states


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda t, p: p.pop("space"), "'space'"),
        (lambda t, p: p.update(extra={"value": 1}), "'extra'"),
        (lambda t, p: t["resources"][1]["dependsOn"].append("nowhere"), "'nowhere' is not defined"),
        (lambda t, p: t["variables"].update(vnetName="[unknownFn()]"), "unknownFn"),
        (lambda t, p: t["resources"][0]["dependsOn"].__class__, None),
    ],
    ids=["missing-parameter", "unknown-parameter", "unknown-dependency", "unknown-function", "control"],
)
def test_invalid_templates_are_rejected_synchronously_with_invalid_template(
    resources: ResourceManagementClient,
    deployments: DeploymentsMgmtClient,
    rg_name: str,
    mutate: Any,
    fragment: str | None,
) -> None:
    resources.resource_groups.create_or_update(rg_name, {"location": "eastus"})
    template = copy.deepcopy(NETWORK_TEMPLATE)
    template["resources"][0].setdefault("dependsOn", [])
    params = _params(rg_name)
    mutate(template, params)
    if fragment is None:
        assert (
            _deploy(deployments, rg_name, "v", template, params).properties.provisioning_state == "Succeeded"
        )
        return
    with pytest.raises(HttpResponseError) as info:
        _deploy(deployments, rg_name, "v", template, params)
    assert info.value.status_code == 400
    code, message = arm_error(info.value)
    assert code == "InvalidTemplate"
    assert fragment in message


def test_circular_dependencies_are_invalid_templates(
    resources: ResourceManagementClient, deployments: DeploymentsMgmtClient, rg_name: str
) -> None:
    resources.resource_groups.create_or_update(rg_name, {"location": "eastus"})
    template = copy.deepcopy(NETWORK_TEMPLATE)
    template["resources"][0]["dependsOn"] = ["[concat(parameters('prefix'), '-nic')]"]
    with pytest.raises(HttpResponseError) as info:
        _deploy(deployments, rg_name, "c", template, _params(rg_name))
    assert info.value.error is not None
    assert "Circular dependency" in str(info.value.error.message)


def test_deploying_into_a_missing_group_is_resource_group_not_found(
    deployments: DeploymentsMgmtClient,
) -> None:
    with pytest.raises(ResourceNotFoundError) as info:
        _deploy(deployments, "rg-missing-xyz", "d", NETWORK_TEMPLATE, _params("rg-missing"))
    assert arm_error(info.value)[0] == "ResourceGroupNotFound"


def test_kiln_build_vm_template_creates_the_vm_its_network_disk_and_storage(
    sim: AzureSim, resources: ResourceManagementClient, deployments: DeploymentsMgmtClient, rg_name: str
) -> None:
    names, result = deploy_build_vm(
        sim,
        resources,
        deployments,
        rg_name,
        run_id="run-0001-abc",
        secret_name="build-admin",
        tags={"kiln-run": "run-0001-abc"},
    )
    group_id = f"/subscriptions/{SUB}/resourceGroups/{rg_name}"
    vm_id = f"{group_id}/providers/Microsoft.Compute/virtualMachines/{names.vm}"
    assert result.properties.outputs["vmId"]["value"] == vm_id
    assert "value" not in result.properties.parameters["adminPassword"]
    vm: Any = resources.resources.get_by_id(vm_id, api_version="2024-07-01")
    assert vm.properties["osProfile"]["adminUsername"] == "kilnadmin"
    assert "adminPassword" not in vm.properties["osProfile"]
    assert vm.properties["storageProfile"]["osDisk"]["name"] == names.os_disk
    assert vm.properties["provisioningState"] == "Succeeded"
    inventory = {(r["type"], r["name"]): r for r in sim.control("GET", "/_sim/inventory")["resources"]}
    for key in [
        ("Microsoft.Compute/disks", names.os_disk),
        ("Microsoft.Network/networkInterfaces", names.nic),
        ("Microsoft.Network/publicIPAddresses", names.public_ip),
        ("Microsoft.Network/networkSecurityGroups", names.nsg),
        ("Microsoft.Network/virtualNetworks/subnets", names.subnet),
        ("Microsoft.Storage/storageAccounts", names.storage_account),
    ]:
        assert key in inventory, key
    assert inventory[("Microsoft.Network/networkInterfaces", names.nic)]["tags"] == {
        "kiln-run": "run-0001-abc"
    }


def test_deleting_a_deployment_removes_the_record_but_keeps_its_resources(
    resources: ResourceManagementClient, deployments: DeploymentsMgmtClient, rg_name: str
) -> None:
    resources.resource_groups.create_or_update(rg_name, {"location": "eastus"})
    _deploy(deployments, rg_name, "gone", NETWORK_TEMPLATE, _params(rg_name))
    assert [d.name for d in deployments.deployments.list_by_resource_group(rg_name)] == ["gone"]
    deployments.deployments.begin_delete(rg_name, "gone").result(timeout=30)
    with pytest.raises(ResourceNotFoundError) as info:
        deployments.deployments.get(rg_name, "gone")
    assert arm_error(info.value)[0] == "DeploymentNotFound"
    assert len(list(resources.resources.list_by_resource_group(rg_name))) == 3


def test_validate_reports_the_resources_a_template_would_create(
    resources: ResourceManagementClient, deployments: DeploymentsMgmtClient, rg_name: str
) -> None:
    resources.resource_groups.create_or_update(rg_name, {"location": "eastus"})
    body: Any = {
        "properties": {"mode": "Incremental", "template": NETWORK_TEMPLATE, "parameters": _params(rg_name)}
    }
    result: Any = deployments.deployments.begin_validate(rg_name, "v", body).result(timeout=30)
    assert len(result.properties.validated_resources) == 3
    assert list(resources.resources.list_by_resource_group(rg_name)) == []
