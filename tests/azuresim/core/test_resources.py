"""Generic resources by id, lists with $filter, and tags at scope through ResourceManagementClient."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.resource.resources import ResourceManagementClient

from tests.azuresim.core.conftest import SUB
from tests.support.azuresim import arm_error

pytestmark = pytest.mark.timeout(60)
API = "2024-05-01"


def _nsg(rg: str, name: str) -> str:
    return (
        f"/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Network/networkSecurityGroups/{name}"
    )


def _make(resources: ResourceManagementClient, rid: str, tags: dict[str, str]) -> Any:
    body = {"location": "eastus", "tags": tags}
    return resources.resources.begin_create_or_update_by_id(rid, body, api_version=API).result(timeout=30)


def test_resources_are_listed_by_group_and_by_subscription_with_tag_filters(
    resources: ResourceManagementClient, rg_name: str
) -> None:
    resources.resource_groups.create_or_update(rg_name, {"location": "eastus"})
    _make(resources, _nsg(rg_name, "a"), {"kiln-run": rg_name})
    _make(resources, _nsg(rg_name, "b"), {"kiln-run": "other"})
    _make(resources, _nsg(rg_name, "c"), {})
    in_group = sorted(str(r.name) for r in resources.resources.list_by_resource_group(rg_name))
    assert in_group == ["a", "b", "c"]
    by_tag = resources.resources.list(filter=f"tagName eq 'kiln-run' and tagValue eq '{rg_name}'")
    assert [r.id for r in by_tag] == [_nsg(rg_name, "a")]
    by_name = {
        r.id for r in resources.resources.list_by_resource_group(rg_name, filter="tagName eq 'kiln-run'")
    }
    assert by_name == {_nsg(rg_name, "a"), _nsg(rg_name, "b")}
    by_type = resources.resources.list_by_resource_group(
        rg_name, filter="resourceType eq 'Microsoft.Network/networkSecurityGroups' and name eq 'c'"
    )
    assert [r.name for r in by_type] == ["c"]


def test_listing_a_missing_group_is_resource_group_not_found(resources: ResourceManagementClient) -> None:
    with pytest.raises(ResourceNotFoundError) as info:
        list(resources.resources.list_by_resource_group("rg-nowhere"))
    assert arm_error(info.value)[0] == "ResourceGroupNotFound"


def test_generic_resources_of_unserved_types_are_stored_read_and_deleted_by_id(
    resources: ResourceManagementClient, rg_name: str
) -> None:
    resources.resource_groups.create_or_update(rg_name, {"location": "eastus"})
    rid = f"/subscriptions/{SUB}/resourceGroups/{rg_name}/providers/Microsoft.Insights/components/app1"
    created: Any = resources.resources.begin_create_or_update_by_id(
        rid, {"location": "East US", "properties": {"Application_Type": "web"}}, api_version="2020-02-02"
    ).result(timeout=30)
    assert created.id == rid
    assert created.location == "eastus"
    assert resources.resources.check_existence_by_id(rid, api_version="2020-02-02")
    served: Any = resources.resources.get_by_id(rid, api_version="2020-02-02")
    assert served.properties["Application_Type"] == "web"
    resources.resources.begin_delete_by_id(rid, api_version="2020-02-02").result(timeout=30)
    with pytest.raises(ResourceNotFoundError) as info:
        resources.resources.get_by_id(rid, api_version="2020-02-02")
    assert arm_error(info.value)[0] == "ResourceNotFound"


def test_tags_at_scope_are_read_replaced_and_merged(
    resources: ResourceManagementClient, rg_name: str
) -> None:
    resources.resource_groups.create_or_update(rg_name, {"location": "eastus", "tags": {"a": "1"}})
    scope = _make(resources, _nsg(rg_name, "t"), {"a": "1"}).id
    assert resources.tags.get_at_scope(scope).properties.tags == {"a": "1"}
    # azure-mgmt-resource 26 models tag writes as long-running operations; ARM answers them at once.
    resources.tags.begin_create_or_update_at_scope(scope, {"properties": {"tags": {"b": "2"}}}).result()
    merge = {"operation": "Merge", "properties": {"tags": {"c": "3"}}}
    merged = resources.tags.begin_update_at_scope(scope, merge).result()
    assert merged.properties.tags == {"b": "2", "c": "3"}
    served: Any = resources.resources.get_by_id(scope, api_version=API)
    assert served.tags == {"b": "2", "c": "3"}
    group_scope = f"/subscriptions/{SUB}/resourceGroups/{rg_name}"
    delete = {"operation": "Delete", "properties": {"tags": {"a": "1"}}}
    resources.tags.begin_update_at_scope(group_scope, delete).result()
    assert resources.resource_groups.get(rg_name).tags == {}


def test_user_assigned_identities_keep_their_principal_and_role_assignments_list_by_scope(
    resources: ResourceManagementClient, rg_name: str
) -> None:
    resources.resource_groups.create_or_update(rg_name, {"location": "eastus"})
    group = f"/subscriptions/{SUB}/resourceGroups/{rg_name}"
    uai = f"{group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/builder"
    api = "2023-01-31"
    first: Any = resources.resources.begin_create_or_update_by_id(
        uai, {"location": "eastus"}, api_version=api
    ).result()
    again: Any = resources.resources.begin_create_or_update_by_id(
        uai, {"location": "eastus"}, api_version=api
    ).result()
    assert again.properties["principalId"] == first.properties["principalId"]
    assignment = (
        f"{group}/providers/Microsoft.Authorization/roleAssignments/{'1' * 8}-0000-0000-0000-000000000000"
    )
    role = {
        "properties": {"roleDefinitionId": "/providers/x/roleDefinitions/contributor", "principalId": "p1"}
    }
    resources.resources.begin_create_or_update_by_id(assignment, role, api_version="2022-04-01").result()
    served: Any = resources.resources.get_by_id(assignment, api_version="2022-04-01")
    assert served.properties["scope"] == group
    assert served.type == "Microsoft.Authorization/roleAssignments"
