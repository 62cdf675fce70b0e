"""azuresim's RBAC through the official SDK clients: a token naming a principal, role definitions (built-in
and custom, with wildcards and notActions), assignments inherited down the scope tree, ARM's 403."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient

from azuresim.rbac import BUILT_IN, arm_action, sim_token
from tests.support.azuresim import AzureSim

pytestmark = pytest.mark.timeout(120)
SUB = "00000000-0000-0000-0000-000000000000"
ROLES = f"/subscriptions/{SUB}/providers/Microsoft.Authorization"


def _owner(sim: AzureSim) -> ResourceManagementClient:
    return sim.mgmt_client(ResourceManagementClient, SUB)


def _arm(sim: AzureSim, method: str, path: str, body: Any = None, *, token: str = "azuresim-token") -> Any:
    import requests

    resp = requests.request(
        method,
        f"{sim.base_url}{path}",
        params={"api-version": "2022-04-01"},
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        verify=sim.ca_file,
        timeout=30,
    )
    return resp


def _assign(sim: AzureSim, scope: str, principal: str, role_guid: str) -> str:
    name = str(uuid.uuid4())
    body = {
        "properties": {
            "roleDefinitionId": f"{ROLES}/roleDefinitions/{role_guid}",
            "principalId": principal,
        }
    }
    assert (
        _arm(
            sim, "PUT", f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}", body
        ).status_code
        == 201
    )
    return name


@pytest.mark.parametrize(
    ("method", "path", "action", "scope"),
    [
        (
            "GET",
            "/subscriptions/s/resourceGroups/rg",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "/subscriptions/s/resourceGroups/rg",
        ),
        (
            "GET",
            "/subscriptions/s/resourcegroups",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "/subscriptions/s",
        ),
        (
            "PUT",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i/versions/1.0.0",
            "Microsoft.Compute/galleries/images/versions/write",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i/versions/1.0.0",
        ),
        (
            "POST",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/deallocate",
            "Microsoft.Compute/virtualMachines/deallocate/action",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm",
        ),
        (
            "GET",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/images",
            "Microsoft.Compute/images/read",
            "/subscriptions/s/resourceGroups/rg",
        ),
        (
            "PUT",
            "/subscriptions/s/resourcegroups/rg/providers/Microsoft.Resources/deployments/d",
            "Microsoft.Resources/deployments/write",
            "/subscriptions/s/resourcegroups/rg/providers/Microsoft.Resources/deployments/d",
        ),
    ],
)
def test_the_action_and_scope_of_a_request_are_what_arm_checks(
    method: str, path: str, action: str, scope: str
) -> None:
    assert arm_action(method, path) == (action, scope)


def test_a_principal_may_do_what_its_roles_allow_at_a_scope_and_below(sim: AzureSim) -> None:
    owner = _owner(sim)
    owner.resource_groups.create_or_update("rg-rbac-a", {"location": "eastus"})
    owner.resource_groups.create_or_update("rg-rbac-b", {"location": "eastus"})
    principal = str(uuid.uuid4())
    token = sim_token(principal)
    reader = sim.mgmt_client(ResourceManagementClient, SUB, token=token)

    with pytest.raises(HttpResponseError) as refused:
        reader.resource_groups.get("rg-rbac-a")
    assert refused.value.status_code == 403
    assert refused.value.error.code == "AuthorizationFailed"
    assert refused.value.error.message == (
        f"The client '{principal}' with object id '{principal}' does not have authorization to perform "
        "action 'Microsoft.Resources/subscriptions/resourceGroups/read' over scope "
        f"'/subscriptions/{SUB}/resourcegroups/rg-rbac-a' or the scope is invalid. If access was recently "
        "granted, please refresh your credentials."
    )
    name = _assign(sim, f"/subscriptions/{SUB}/resourceGroups/rg-rbac-a", principal, BUILT_IN["Reader"][0])
    assert reader.resource_groups.get("rg-rbac-a").name == "rg-rbac-a"  # inherited by the group itself
    with pytest.raises(HttpResponseError):
        reader.resource_groups.get("rg-rbac-b")  # a sibling scope
    with pytest.raises(HttpResponseError) as write:
        reader.resource_groups.create_or_update("rg-rbac-a", {"location": "eastus", "tags": {"a": "b"}})
    assert "resourceGroups/write" in write.value.error.message
    group = f"/subscriptions/{SUB}/resourceGroups/rg-rbac-a"
    path = f"{group}/providers/Microsoft.Authorization/roleAssignments/{name}"
    assert _arm(sim, "DELETE", path).status_code == 200
    with pytest.raises(HttpResponseError):
        reader.resource_groups.get("rg-rbac-a")


def test_a_custom_role_with_wildcards_and_not_actions(sim: AzureSim) -> None:
    owner = _owner(sim)
    owner.resource_groups.create_or_update("rg-rbac-c", {"location": "eastus"})
    guid = str(uuid.uuid4())
    role = {
        "properties": {
            "roleName": "images but not deleting them",
            "permissions": [
                {
                    "actions": [
                        "Microsoft.Compute/images/*",
                        "Microsoft.Resources/subscriptions/resourceGroups/read",
                    ],
                    "notActions": ["Microsoft.Compute/images/delete"],
                    "dataActions": [],
                }
            ],
        }
    }
    assert _arm(sim, "PUT", f"{ROLES}/roleDefinitions/{guid}", role).status_code == 201
    assert (
        _arm(sim, "GET", f"{ROLES}/roleDefinitions/{guid}").json()["properties"]["roleName"]
        == role["properties"]["roleName"]
    )
    listed = _arm(sim, "GET", f"{ROLES}/roleDefinitions", None).json()["value"]
    assert {"Owner", "Contributor", "Reader", role["properties"]["roleName"]} <= {
        d["properties"]["roleName"] for d in listed
    }
    principal = str(uuid.uuid4())
    _assign(sim, f"/subscriptions/{SUB}", principal, guid)
    compute = sim.mgmt_client(ComputeManagementClient, SUB, token=sim_token(principal))
    assert list(compute.images.list_by_resource_group("rg-rbac-c")) == []
    with pytest.raises(HttpResponseError) as refused:
        compute.images.begin_delete("rg-rbac-c", "img").result()
    assert (
        refused.value.status_code == 403 and "Microsoft.Compute/images/delete" in refused.value.error.message
    )
    with pytest.raises(HttpResponseError) as other:
        list(compute.virtual_machines.list("rg-rbac-c"))
    assert "Microsoft.Compute/virtualMachines/read" in other.value.error.message


def test_role_assignments_are_listed_by_principal(sim: AzureSim) -> None:
    principal = str(uuid.uuid4())
    _assign(sim, f"/subscriptions/{SUB}", principal, BUILT_IN["Reader"][0])
    path = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments"
    resp = _arm(sim, "GET", path + f"?$filter=principalId eq '{principal}'")
    found = resp.json()["value"]
    assert [a["properties"]["principalId"] for a in found] == [principal]
