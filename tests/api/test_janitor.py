"""The janitor service operation over the stateful fakes and the in-memory store: what it sweeps, what it
keeps, in which order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared import naming
from shared.models.build import BuildVm, RunRef, RunStatusUpdate
from shared.service import ApiService, Caller
from shared.service.janitor import Janitor, SweepReport
from shared.store import TemplateRef
from tests.api import bodies
from tests.api.conftest import compose
from tests.fakes import SUBSCRIPTION, FakeAzure, InMemoryDocuments, arm_id

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
REF = TemplateRef(SUBSCRIPTION, "rg-images", "Tpl1")
GONE = TemplateRef(SUBSCRIPTION, "rg-images", "deleted-template")
STAGING = "IT_rg-images_Tpl1_x"


def _template_id(ref: TemplateRef) -> str:
    return (
        f"/subscriptions/{ref.subscription}/resourceGroups/{ref.resource_group}"
        f"/providers/Microsoft.VirtualMachineImages/imageTemplates/{ref.name}"
    )


@pytest.fixture
def service(documents: InMemoryDocuments) -> ApiService:
    svc = compose(documents, api_page_size=10).service
    svc.templates.put(REF, bodies.ubuntu(), api_version="2025-10-01", caller=Caller())
    return svc


def _finish(service: ApiService, run_id: str, state: str, message: str) -> None:
    run = {
        "subscription_id": REF.subscription,
        "resource_group": REF.resource_group,
        "template_name": REF.name,
        "run_id": run_id,
        "location": "eastus",
    }
    service.runs.apply(
        {"run": run, "time": "2026-06-01T10:00:00Z", "run_state": state, "message": message, "finished": True}
    )


def _sweep(azure: FakeAzure, service: ApiService) -> SweepReport:
    """One sweep of the janitor service operation over ``azure`` and the service's store."""
    return Janitor(azure, service.store).sweep(now=NOW)


def _build_set(azure: FakeAzure, run_id: str, template: TemplateRef, *, expires: str) -> dict[str, str]:
    """A build VM with NIC, public IP, NSG, VNet and OS disk, each using the next, all tagged for the run."""
    tags = {naming.RUN_TAG: run_id, naming.TEMPLATE_TAG: _template_id(template), naming.EXPIRES_TAG: expires}
    short = naming.short_run(run_id)
    ids = {
        "vnet": arm_id(STAGING, "Microsoft.Network/virtualNetworks", f"vnet{short}"),
        "nsg": arm_id(STAGING, "Microsoft.Network/networkSecurityGroups", f"nsg{short}"),
        "pip": arm_id(STAGING, "Microsoft.Network/publicIPAddresses", f"pip{short}"),
        "nic": arm_id(STAGING, "Microsoft.Network/networkInterfaces", f"nic{short}"),
        "disk": arm_id(STAGING, "Microsoft.Compute/disks", f"disk{short}"),
        "vm": arm_id(STAGING, "Microsoft.Compute/virtualMachines", f"vm{short}"),
        "storage": arm_id(STAGING, "Microsoft.Storage/storageAccounts", f"st{short}"),
    }
    uses: dict[str, list[str]] = {  # as kiln deploys them: the build subnet references the NSG
        "nic": [ids["pip"], ids["vnet"] + "/subnets/s"],
        "vnet": [ids["nsg"]],
        "vm": [ids["nic"], ids["disk"]],
    }
    for key, rid in ids.items():
        azure.cloud.put(rid, {"tags": dict(tags), "uses": uses.get(key, []), "location": "eastus"})
    return ids


def _exists(azure: FakeAzure, rid: str) -> bool:
    return azure.cloud.find(rid) is not None


def test_the_janitor_sweeps_finished_expired_and_orphaned_runs_and_keeps_the_rest(
    service: ApiService,
) -> None:
    azure = FakeAzure()
    azure.resource_groups.create(
        name=STAGING,
        location="eastus",
        tags={
            "createdBy": "kiln",
            "imageTemplateName": REF.name,
            "imageTemplateResourceGroupName": REF.resource_group,
        },
    )
    finished = service.runs.begin(REF).run_id
    _finish(service, finished, "Succeeded", "Run succeeded.")
    kept = service.runs.begin(REF).run_id
    _kept(service, kept)
    live = service.runs.begin(REF).run_id
    later, past = "2026-06-01T14:00:00Z", "2026-06-01T11:00:00Z"
    sets = {
        "finished": _build_set(azure, finished, REF, expires=later),
        "kept": _build_set(azure, kept, REF, expires=past),
        "live": _build_set(azure, live, REF, expires=later),
        "expired": _build_set(
            azure,
            f"{naming.template_key(REF.subscription, REF.resource_group, REF.name)}-run-00099",
            REF,
            expires=past,
        ),
        "orphan": _build_set(azure, "tdeadbeef-run-00001", GONE, expires=later),
    }
    output = arm_id(STAGING, "Microsoft.Compute/images", "golden")
    azure.cloud.put(output, {"tags": {naming.RUN_TAG: finished, naming.TEMPLATE_TAG: _template_id(REF)}})
    azure.resource_groups.create(
        name="IT_rg-images_deleted-template_y",
        location="eastus",
        tags={
            "createdBy": "kiln",
            "imageTemplateName": GONE.name,
            "imageTemplateResourceGroupName": GONE.resource_group,
        },
    )
    run_group = "kiln-run-group"
    azure.resource_groups.create(
        name=run_group,
        location="eastus",
        tags={naming.RUN_TAG: finished, naming.TEMPLATE_TAG: _template_id(REF)},
    )

    report = _sweep(azure, service)

    for name in ("finished", "expired"):
        ids = sets[name]
        assert [k for k, rid in ids.items() if _exists(azure, rid)] == ["storage"], name
    assert not any(_exists(azure, rid) for rid in sets["orphan"].values())
    assert all(_exists(azure, rid) for rid in sets["live"].values())
    assert all(_exists(azure, rid) for rid in sets["kept"].values())
    assert _exists(azure, output)  # a run's output is never a build resource
    assert sorted(report.groups_deleted) == sorted(["IT_rg-images_deleted-template_y", run_group])
    assert azure.resource_groups.exists(name=STAGING)
    assert report.skipped == {}
    _assert_dependency_order(azure.cloud.calls, sets["finished"])


def _assert_dependency_order(calls: list[str], ids: dict[str, str]) -> None:
    position = {key: calls.index(f"resources.delete {rid}") for key, rid in ids.items() if key != "storage"}
    assert (
        position["vm"]
        < position["nic"]
        < position["pip"]
        < position["vnet"]
        < position["nsg"]
        < position["disk"]
    )


def test_a_delete_azure_refuses_is_reported_and_left_for_the_next_sweep(service: ApiService) -> None:
    azure = FakeAzure()
    azure.resource_groups.create(name=STAGING, location="eastus", tags={})
    run_id = service.runs.begin(REF).run_id
    _finish(service, run_id, "Failed", "Run failed.")
    ids = _build_set(azure, run_id, REF, expires="2026-06-01T14:00:00Z")
    from shared.errors import TransientAzureError

    azure.cloud.fail("resources.delete", TransientAzureError("throttled", code="TooManyRequests"))
    first = _sweep(azure, service)
    assert "TooManyRequests" in first.skipped[ids["vm"]]
    # Everything the VM still uses was refused as in use, and nothing was forced.
    assert "in use" in first.skipped[ids["nic"]] and "in use" in first.skipped[ids["disk"]]
    assert all(_exists(azure, rid) for rid in ids.values())
    second = _sweep(azure, service)
    assert second.skipped == {}
    assert [k for k, rid in ids.items() if _exists(azure, rid)] == ["storage"]


def _kept(service: ApiService, run_id: str) -> None:
    """A run that ended Failed keeping its build VM, said by the explicit field, not by its message."""
    run = RunRef(
        subscription_id=REF.subscription,
        resource_group=REF.resource_group,
        template_name=REF.name,
        run_id=run_id,
        location="eastus",
    )
    vm = BuildVm(
        resource_group=STAGING,
        vm_name="vmx",
        deployment_name="d",
        storage_account="s",
        admin_secret_name="kiln-admin-x",
    )
    update = RunStatusUpdate(
        run=run,
        time="2026-06-01T10:00:00Z",
        run_state="Failed",
        message="Run failed during customize: exit code 1.",
        finished=True,
        kept_vm=vm,
    )
    service.records.apply(update)


def test_a_build_vm_kept_by_the_explicit_field_is_never_swept_whatever_the_message_says(
    service: ApiService,
) -> None:
    azure = FakeAzure()
    azure.resource_groups.create(name=STAGING, location="eastus", tags={})
    kept = service.runs.begin(REF).run_id
    _kept(service, kept)
    ids = _build_set(azure, kept, REF, expires="2026-06-01T11:00:00Z")  # expired too

    report = _sweep(azure, service)

    assert all(_exists(azure, rid) for rid in ids.values())
    assert report.deleted == []
    props = service.runs.get(REF, kept)["properties"]
    assert props["keptBuildVm"] == {
        "resourceGroup": STAGING,
        "vmName": "vmx",
        "adminSecretName": "kiln-admin-x",
    }


def test_a_staging_account_tagged_only_with_its_template_stays_while_the_template_lives(
    service: ApiService,
) -> None:
    azure = FakeAzure()
    azure.resource_groups.create(name="byo", location="eastus", tags={"usedBy": "kiln"})
    ours = arm_id("byo", "Microsoft.Storage/storageAccounts", "kilnlive")
    gone = arm_id("byo", "Microsoft.Storage/storageAccounts", "kilngone")
    azure.cloud.put(ours, {"tags": {naming.TEMPLATE_TAG: _template_id(REF)}, "location": "eastus"})
    azure.cloud.put(gone, {"tags": {naming.TEMPLATE_TAG: _template_id(GONE)}, "location": "eastus"})
    finished = service.runs.begin(REF).run_id
    _finish(service, finished, "Succeeded", "Run succeeded.")

    report = _sweep(azure, service)

    assert _exists(azure, ours)
    assert not _exists(azure, gone) and report.deleted == [gone]
    assert azure.resource_groups.exists(name="byo")
