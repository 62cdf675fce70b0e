"""Resource groups through ResourceManagementClient over HTTPS against azuresim."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.resource.resources import ResourceManagementClient

from tests.azuresim.core.conftest import SUB
from tests.support.azuresim import arm_error

pytestmark = pytest.mark.timeout(60)


def test_create_answers_201_then_200_with_the_same_canonical_id(
    resources: ResourceManagementClient, rg_name: str
) -> None:
    first = resources.resource_groups.create_or_update(rg_name, {"location": "East US", "tags": {"a": "1"}})
    again = resources.resource_groups.create_or_update(
        rg_name.upper(), {"location": "eastus", "tags": {"b": "2"}}
    )
    assert first.id == f"/subscriptions/{SUB}/resourceGroups/{rg_name}"
    assert again.id == first.id
    assert first.location == "eastus"
    assert again.tags == {"b": "2"}
    props = resources.resource_groups.get(rg_name).properties
    assert props is not None
    assert props.provisioning_state == "Succeeded"


def test_check_existence_is_true_only_for_existing_groups(
    resources: ResourceManagementClient, rg_name: str
) -> None:
    assert resources.resource_groups.check_existence(rg_name) is False
    resources.resource_groups.create_or_update(rg_name, {"location": "eastus"})
    assert resources.resource_groups.check_existence(rg_name) is True


def test_get_of_a_missing_group_is_resource_group_not_found(resources: ResourceManagementClient) -> None:
    with pytest.raises(ResourceNotFoundError) as info:
        resources.resource_groups.get("rg-does-not-exist")
    assert arm_error(info.value)[0] == "ResourceGroupNotFound"


def test_delete_is_a_long_running_operation_that_removes_the_group(
    resources: ResourceManagementClient, rg_name: str
) -> None:
    resources.resource_groups.create_or_update(rg_name, {"location": "eastus"})
    poller = resources.resource_groups.begin_delete(rg_name)
    poller.result(timeout=30)
    assert poller.status() == "Succeeded"
    assert resources.resource_groups.check_existence(rg_name) is False


def test_list_filters_groups_by_tag_name_and_value(resources: ResourceManagementClient, rg_name: str) -> None:
    resources.resource_groups.create_or_update(
        rg_name + "-a", {"location": "eastus", "tags": {"kiln": rg_name}}
    )
    resources.resource_groups.create_or_update(
        rg_name + "-b", {"location": "eastus", "tags": {"kiln": "other"}}
    )
    resources.resource_groups.create_or_update(rg_name + "-c", {"location": "eastus"})
    by_value = [
        g.name
        for g in resources.resource_groups.list(filter=f"tagName eq 'kiln' and tagValue eq '{rg_name}'")
    ]
    by_name = {g.name for g in resources.resource_groups.list(filter="tagName eq 'kiln'")}
    assert by_value == [rg_name + "-a"]
    assert {rg_name + "-a", rg_name + "-b"} <= by_name
    assert rg_name + "-c" not in by_name
