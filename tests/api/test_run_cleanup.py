"""DELETE of a template removes what kiln created in Azure: driven by polls of its operation, after the run
in flight has ended. The in-memory store, Azure as the stateful fakes."""

from __future__ import annotations

from typing import Any

import pytest

from shared.bootstrap import Kiln
from shared.errors import PermanentAzureError
from shared.service import ApiService, Caller
from shared.store import JsonStore, TemplateRef, keys
from tests.api import bodies
from tests.api.conftest import compose
from tests.api.direct import DirectApi
from tests.fakes import SUBSCRIPTION, FakeAzure, InMemoryDocuments, arm_id

REF = TemplateRef(SUBSCRIPTION, "rg-images", "Tpl1")
STAGING = "IT_rg-images_Tpl1_0f"
TEMPLATE_ID = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-images"
    "/providers/Microsoft.VirtualMachineImages/imageTemplates/Tpl1"
)
AIB_TAGS = {"imageTemplateName": "Tpl1", "imageTemplateResourceGroupName": "rg-images"}


@pytest.fixture
def azure(fake_azure: FakeAzure) -> FakeAzure:
    return fake_azure


@pytest.fixture
def service(documents: InMemoryDocuments, azure: FakeAzure) -> ApiService:
    svc = compose(documents, azure, api_page_size=10).service
    svc.templates.put(REF, bodies.ubuntu(), api_version="2025-10-01", caller=Caller())
    return svc


def _update(run_id: str, **fields: Any) -> dict[str, Any]:
    run = {
        "subscription_id": SUBSCRIPTION,
        "resource_group": "rg-images",
        "template_name": "Tpl1",
        "run_id": run_id,
        "location": "eastus",
    }
    return {"run": run, "time": fields.pop("time", "2026-01-01T00:00:00Z"), **fields}


def _ran(service: ApiService) -> str:
    """A run that started and failed: the template has run, so Azure may hold something of it."""
    run_id = service.runs.begin(REF).run_id
    service.runs.apply(_update(run_id, run_state="Failed", finished=True, message="Run failed."))
    return run_id


def _vm_in(azure: FakeAzure, group: str, tags: dict[str, str]) -> dict[str, str]:
    nic = arm_id(group, "Microsoft.Network/networkInterfaces", "kiln-nic")
    vm = arm_id(group, "Microsoft.Compute/virtualMachines", "kiln-vm")
    azure.cloud.put(nic, {"tags": dict(tags)})
    azure.cloud.put(vm, {"tags": dict(tags), "uses": [nic]})
    return {"vm": vm, "nic": nic}


def test_delete_with_a_run_in_flight_waits_for_the_run_then_deletes_the_staging_group(
    service: ApiService, azure: FakeAzure, store: JsonStore
) -> None:
    run_id = service.runs.begin(REF).run_id
    service.runs.apply(_update(run_id, phase="staging", exact_staging_resource_group=STAGING))
    azure.resource_groups.create(name=STAGING, location="eastus", tags={"createdBy": "kiln", **AIB_TAGS})
    _vm_in(azure, STAGING, {"kiln.template": TEMPLATE_ID, "kiln.run": run_id})

    deleted = service.deletion.delete(REF)
    assert deleted.operation is not None and deleted.active_run == run_id
    op_id = deleted.operation["id"]
    for _ in range(3):  # polls while the run is still compensating change nothing in Azure
        assert service.operation(SUBSCRIPTION, op_id)["status"] == "InProgress"
    assert azure.resource_groups.exists(name=STAGING)

    service.runs.apply(
        _update(
            run_id,
            time="2026-01-01T00:01:00Z",
            run_state="Canceled",
            finished=True,
            message="The run was canceled; everything it created was cleaned up.",
        )
    )
    assert service.operation(SUBSCRIPTION, op_id)["status"] == "Succeeded"
    assert not azure.resource_groups.exists(name=STAGING)
    assert store.get(keys.template(REF)) is None
    assert store.list_all_keys(keys.children_prefix(keys.RUNS, REF)) == []


def test_in_a_pre_existing_group_only_the_templates_tagged_resources_go_in_dependency_order(
    service: ApiService, azure: FakeAzure, store: JsonStore
) -> None:
    azure.resource_groups.create(name="byo-staging", location="eastus", tags={"usedBy": "kiln", **AIB_TAGS})
    ours = _vm_in(azure, "byo-staging", {"kiln.template": TEMPLATE_ID})
    theirs = arm_id("byo-staging", "Microsoft.Storage/storageAccounts", "keepme")
    azure.cloud.put(theirs, {"tags": {"owner": "someone"}})
    _ran(service)

    operation = service.deletion.delete(REF).operation
    assert operation is not None and operation["status"] == "Succeeded"
    assert azure.cloud.find(ours["vm"]) is None and azure.cloud.find(ours["nic"]) is None
    assert azure.cloud.find(theirs) is not None and azure.resource_groups.exists(name="byo-staging")
    calls = azure.cloud.calls
    assert calls.index(f"resources.delete {ours['vm']}") < calls.index(f"resources.delete {ours['nic']}")
    assert store.get(keys.template(REF)) is None


def test_a_permanent_azure_failure_fails_the_delete_and_leaves_the_template_deletable(
    service: ApiService, azure: FakeAzure
) -> None:
    azure.resource_groups.create(name=STAGING, location="eastus", tags={"createdBy": "kiln", **AIB_TAGS})
    _ran(service)
    locked = PermanentAzureError("The group is locked.", code="ScopeLocked")
    azure.cloud.fail("resource_groups.delete", locked)
    first = service.deletion.delete(REF).operation
    assert first is not None and first["status"] == "Failed"
    assert first["error"]["code"] == "ScopeLocked"
    template = service.templates.get(REF, api_version="2025-10-01")["properties"]
    assert template["provisioningState"] == "Failed"
    second = service.deletion.delete(REF).operation
    assert second is not None and second["status"] == "Succeeded"
    assert not azure.resource_groups.exists(name=STAGING)


def test_a_template_that_never_ran_is_deleted_without_calling_azure(
    service: ApiService, azure: FakeAzure
) -> None:
    operation = service.deletion.delete(REF).operation
    assert operation is not None and operation["status"] == "Succeeded"
    assert azure.cloud.calls == []


def test_delete_through_the_api_settles_a_run_whose_orchestration_is_gone(api: DirectApi, kiln: Kiln) -> None:
    path = bodies.template_path("t1")
    assert api.put(path, bodies.ubuntu()).status == 201
    ref = TemplateRef(bodies.SUB, bodies.RG, "t1")
    run_id = kiln.service.runs.begin(ref).run_id  # reserved, but no orchestration was ever started
    reply = api.delete(path)
    assert reply.status == 202
    status = api.get(reply.headers["Azure-AsyncOperation"].removeprefix("https://kiln.test").split("?")[0])
    assert status.json["status"] == "Succeeded"
    assert api.get(path).status == 404
    assert "-run-00001-" in run_id


def test_delete_removes_the_staging_account_from_a_pre_existing_group_though_it_has_no_run_tag(
    service: ApiService, azure: FakeAzure
) -> None:
    from activities.deploy_vm import staging_account_tags
    from shared import naming
    from shared.models import validate_template
    from shared.models.build import RunRef

    run_id = _ran(service)
    run = RunRef(
        subscription_id=SUBSCRIPTION,
        resource_group="rg-images",
        template_name="Tpl1",
        run_id=run_id,
        location="eastus",
    )
    tags = staging_account_tags(run, validate_template(bodies.ubuntu()), created=False)
    assert naming.RUN_TAG not in tags and naming.EXPIRES_TAG not in tags
    azure.resource_groups.create(name="byo-staging", location="eastus", tags={"usedBy": "kiln", **AIB_TAGS})
    account = arm_id(
        "byo-staging", "Microsoft.Storage/storageAccounts", naming.staging_account_of_run(run_id)
    )
    azure.cloud.put(account, {"tags": tags})

    operation = service.deletion.delete(REF).operation

    assert operation is not None and operation["status"] == "Succeeded"
    assert azure.cloud.find(account) is None
    assert azure.resource_groups.exists(name="byo-staging")
