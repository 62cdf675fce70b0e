"""delete_build_vm: dependency order, in-use conflicts answered with another round, never raising."""

from __future__ import annotations

import asyncio

from activities import delete_build_vm as cleanup
from activities import deploy_vm, preflight, staging_group
from activities.support.deployment_template import BuildVmNames
from shared.errors import PermanentAzureError, TransientAzureError
from shared.models.durable import DeployInput, PreflightInput, StagingInput, UndoInput
from tests.activities.support import deployed, linux_template, resolved, run_ref, world
from tests.fakes import FakeAzure


def _left(fake: FakeAzure, group: str) -> set[str]:
    return {r["name"] for r in fake.cloud.in_group(group)}


def test_cleanup_deletes_everything_but_the_staging_group_and_its_storage_account() -> None:
    fake = world()
    run, _, plan, vm = deployed(fake, linux_template())

    out = cleanup.delete_round(UndoInput(run=run, vm=vm, staging=plan), ports=fake)

    assert out.done and out.remaining == []
    assert _left(fake, plan.resource_group) == {BuildVmNames.for_run(run.run_id).storage_account}
    assert plan.resource_group.lower() in fake.cloud.groups
    assert vm.admin_secret_name not in fake.cloud.secrets


def test_while_the_vm_is_being_deleted_nothing_it_uses_is_touched() -> None:
    fake = world()
    run, _, plan, vm = deployed(fake, linux_template())
    fake.cloud.lro_reads = 3
    names = BuildVmNames.for_run(run.run_id)

    first = cleanup.delete_round(UndoInput(run=run, vm=vm), ports=fake)

    assert not first.done and first.remaining == [vm.resource_ids[0]]
    assert {names.nic, names.public_ip, names.vnet, names.nsg} <= _left(fake, plan.resource_group)
    rounds = 1
    while not cleanup.delete_round(UndoInput(run=run, vm=vm), ports=fake).done:
        rounds += 1
        assert rounds < 10
    assert _left(fake, plan.resource_group) == {names.storage_account}


def test_a_nic_in_use_conflict_leaves_it_for_the_next_round() -> None:
    fake = world()
    run, _, plan, vm = deployed(fake, linux_template(vmProfile={}))
    names = BuildVmNames.for_run(run.run_id)
    # Azure still counts the NIC as attached for a while after the VM is gone.
    fake.cloud.resources.pop(vm.resource_ids[0].lower())
    fake.cloud.fail(
        "resources.delete", TransientAzureError("NIC in use", code="NicInUse", status=400), times=1
    )

    first = cleanup.delete_round(UndoInput(run=run, vm=vm), ports=fake)
    second = cleanup.delete_round(UndoInput(run=run, vm=vm), ports=fake)

    assert not first.done and "NicInUse" in first.message
    assert any(names.nic in r for r in first.remaining)
    assert second.done
    assert _left(fake, plan.resource_group) == {names.storage_account}


def test_the_public_ip_waits_for_the_nic_that_uses_it() -> None:
    fake = world()
    run, _, plan, vm = deployed(fake, linux_template())
    names = BuildVmNames.for_run(run.run_id)
    fake.cloud.resources.pop(vm.resource_ids[0].lower())  # the VM is gone, its NIC stays until deleted
    fake.cloud.fail(
        "resources.delete", TransientAzureError("busy", code="AnotherOperationInProgress"), times=1
    )

    first = cleanup.delete_round(UndoInput(run=run, vm=vm), ports=fake)

    # The NIC delete failed, so the public IP and the VNet it uses are refused by Azure too.
    assert not first.done
    assert {names.nic, names.public_ip, names.vnet, names.nsg} <= _left(fake, plan.resource_group)
    assert "PublicIPAddressCannotBeDeleted" in first.message
    assert cleanup.delete_round(UndoInput(run=run, vm=vm), ports=fake).done


def test_cleanup_is_idempotent_and_never_raises() -> None:
    fake = world()
    run, _, _, vm = deployed(fake, linux_template())
    assert cleanup.delete_round(UndoInput(run=run, vm=vm), ports=fake).done

    again = cleanup.delete_round(UndoInput(run=run, vm=vm), ports=fake)
    fake.cloud.fail("vms.get", PermanentAzureError("denied", code="AuthorizationFailed", status=403))
    denied = cleanup.delete_round(UndoInput(run=run, vm=vm), ports=fake)

    assert again.done
    assert not denied.done and "AuthorizationFailed" in denied.message


def test_cleanup_without_a_build_vm_is_done() -> None:
    assert cleanup.delete_round(UndoInput(run=run_ref()), ports=world()).done


def test_a_deployment_still_running_is_cancelled_before_the_vm_is_deleted() -> None:
    fake = world()
    template = linux_template()
    run = run_ref()
    source = resolved(fake, template, run)
    plan = preflight.run(PreflightInput(run=run, template=template, source=source), ports=fake).staging
    assert plan is not None
    staging_group.run(StagingInput(run=run, template=template, plan=plan), ports=fake)
    fake.cloud.lro_reads = 4  # still running when the run is cancelled (deploy_build_vm looked once)
    asyncio.run(
        deploy_vm.run(DeployInput(run=run, template=template, source=source, staging=plan), ports=fake)
    )
    names = BuildVmNames.for_run(run.run_id)

    # The undo was pushed before deploy_build_vm answered: it knows the staging group, not the VM.
    rounds = 0
    while not cleanup.delete_round(UndoInput(run=run, staging=plan), ports=fake).done:
        rounds += 1
        assert rounds < 10

    deployment = fake.deployments.get(resource_group=plan.resource_group, name=names.deployment)
    assert deployment.provisioning_state == "Canceled"
    assert names.vm not in _left(fake, plan.resource_group)
    assert _left(fake, plan.resource_group) <= {names.storage_account}
