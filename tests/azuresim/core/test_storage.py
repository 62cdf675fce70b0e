"""Storage accounts: created as the Storage RP creates them, reporting Azurite's blob endpoint and key, so
blob operations through the endpoint the account reports are real."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.storage.blob import BlobServiceClient

from tests.azuresim.core.conftest import SUB
from tests.azuresim.core.test_control_plane import raw
from tests.support.azuresim import AzureSim, arm_error
from tests.support.azurite import Azurite

pytestmark = pytest.mark.timeout(60)
API = "2023-05-01"


def _account_id(rg: str, name: str) -> str:
    return f"/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{name}"


def _create(resources: ResourceManagementClient, rid: str) -> Any:
    body = {"location": "eastus", "sku": {"name": "Standard_LRS"}, "kind": "StorageV2"}
    return resources.resources.begin_create_or_update_by_id(rid, body, api_version=API).result(timeout=30)


def test_blob_operations_through_the_reported_endpoint_and_key_are_real(
    sim: AzureSim, resources: ResourceManagementClient, azurite: Azurite, rg_name: str
) -> None:
    resources.resource_groups.create_or_update(rg_name, {"location": "eastus"})
    name = "st" + uuid.uuid4().hex[:12]
    account = _create(resources, _account_id(rg_name, name))
    assert account.properties["provisioningState"] == "Succeeded"
    endpoint = account.properties["primaryEndpoints"]["blob"]
    status, _, keys = raw(sim, "POST", _account_id(rg_name, name) + f"/listKeys?api-version={API}")
    assert status == 200
    key = keys["keys"][0]["value"]
    service = BlobServiceClient(endpoint, credential={"account_name": "devstoreaccount1", "account_key": key})
    container = service.create_container(f"c{uuid.uuid4().hex[:10]}")
    container.upload_blob("hello.txt", b"from the sim")
    direct = BlobServiceClient.from_connection_string(azurite.connection_string)
    blob = direct.get_blob_client(container.container_name, "hello.txt")
    assert blob.download_blob().readall() == b"from the sim"


def test_storage_account_names_are_validated_and_global(
    resources: ResourceManagementClient, rg_name: str
) -> None:
    resources.resource_groups.create_or_update(rg_name, {"location": "eastus"})
    resources.resource_groups.create_or_update(rg_name + "-2", {"location": "eastus"})
    name = "st" + uuid.uuid4().hex[:12]
    _create(resources, _account_id(rg_name, name))
    with pytest.raises(HttpResponseError) as info:
        _create(resources, _account_id(rg_name + "-2", name))
    assert arm_error(info.value)[0] == "StorageAccountAlreadyTaken"
    with pytest.raises(HttpResponseError) as info:
        _create(resources, _account_id(rg_name, "Bad_Name"))
    assert info.value.error is not None
    assert (info.value.error.code, info.value.error.target) == ("AccountNameInvalid", "name")


def test_a_second_put_of_an_account_answers_200_at_once(sim: AzureSim, rg_name: str) -> None:
    raw(sim, "PUT", f"/subscriptions/{SUB}/resourcegroups/{rg_name}?api-version=1", {"location": "eastus"})
    path = _account_id(rg_name, "st" + uuid.uuid4().hex[:12]) + f"?api-version={API}"
    body = {"location": "eastus", "sku": {"name": "Standard_LRS"}}
    status, headers, created = raw(sim, "PUT", path, body)
    assert (status, created) == (202, None)
    assert "Location" in headers
    assert "Azure-AsyncOperation" not in headers
    status, _, again = raw(sim, "PUT", path, body)
    assert status == 200
    assert again["sku"] == {"name": "Standard_LRS", "tier": "Standard"}
