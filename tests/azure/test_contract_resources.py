"""Port-level contract: resource groups, generic resources and the build-VM deployment, on every backend."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from functools import partial

import pytest

from activities.support.deployment_template import (
    BuildVmNames,
    BuildVmSpec,
    ImageReference,
    KeyVaultSecretRef,
    build_vm_deployment,
    build_vm_parameters,
)
from shared.errors import AzureNotFound, PermanentAzureError, TransientAzureError
from shared.models.azure import DeploymentState
from tests.azure.backends import Backend, poll

pytestmark = pytest.mark.timeout(120)

VAULT_ID = os.environ.get(
    "KILN_CONTRACT_VAULT_ID",
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/kiln/providers/Microsoft.KeyVault/vaults/kv",
)


def build_spec(backend: Backend, run_id: str, **changes: object) -> BuildVmSpec:
    spec = BuildVmSpec(
        run_id=run_id,
        location=backend.location,
        os_type="Linux",
        vm_size="Standard_D2ds_v4",
        image_reference=ImageReference(
            publisher="Canonical", offer="ubuntu-24_04-lts", sku="server", version="24.04.202411030"
        ),
        admin_password=KeyVaultSecretRef(vault_id=VAULT_ID, secret_name="kiln-contract-admin"),
        tags={"kiln.run": run_id},
    )
    return spec.model_copy(update=changes)


def deploy(backend: Backend, group: str, spec: BuildVmSpec) -> DeploymentState:
    names = BuildVmNames.for_run(spec.run_id)
    backend.ports.secrets.set(name=spec.admin_password.secret_name, value=f"Kiln-{uuid.uuid4()}!")
    deployments = backend.ports.deployments
    deployments.begin_deploy(
        resource_group=group,
        name=names.deployment,
        template=build_vm_deployment(spec),
        parameters=build_vm_parameters(spec),
    )
    state: DeploymentState = poll(
        lambda: deployments.get(resource_group=group, name=names.deployment),
        lambda s: s.terminal,
        timeout=300,
    )
    return state


def test_resource_group_is_created_with_tags_and_found_by_tag(backend: Backend) -> None:
    group = backend.new_group()
    run = uuid.uuid4().hex
    backend.ports.resource_groups.create(name=group, location=backend.location, tags={"kiln.run": run})

    found = backend.ports.resource_groups.list_by_tag(tag_name="kiln.run", tag_value=run)

    assert [g.name for g in found] == [group]
    assert found[0].tags == {"kiln.run": run}
    assert backend.ports.resource_groups.exists(name=group)


def test_recreating_a_resource_group_with_the_same_name_returns_the_same_group(backend: Backend) -> None:
    group = backend.new_group()
    first = backend.ports.resource_groups.get(name=group)

    again = backend.ports.resource_groups.create(
        name=group, location=backend.location, tags={"kiln.contract": "1"}
    )

    assert again.id == first.id
    assert (
        len(
            [
                g
                for g in backend.ports.resource_groups.list_by_tag(tag_name="kiln.contract")
                if g.id == first.id
            ]
        )
        == 1
    )


def test_deleting_things_that_do_not_exist_succeeds(backend: Backend) -> None:
    group = backend.new_group()
    missing = f"kiln-missing-{uuid.uuid4().hex[:8]}"
    nic_id = (
        backend.ports.resource_groups.get(name=group).id
        + f"/providers/Microsoft.Network/networkInterfaces/{missing}"
    )

    backend.ports.resource_groups.begin_delete(name=missing)
    backend.ports.resources.begin_delete_by_id(resource_id=nic_id)
    backend.ports.virtual_machines.begin_delete(resource_group=group, name=missing)
    backend.ports.managed_images.begin_delete(resource_group=group, name=missing)

    assert not backend.ports.resource_groups.exists(name=missing)
    with pytest.raises(AzureNotFound):
        backend.ports.resources.get_by_id(resource_id=nic_id)


def test_a_deployment_whose_secret_is_missing_is_refused_as_permanent(backend: Backend) -> None:
    group = backend.new_group()
    spec = build_spec(backend, uuid.uuid4().hex)
    missing = spec.admin_password.model_copy(update={"secret_name": f"kiln-missing-{uuid.uuid4().hex[:8]}"})
    spec = spec.model_copy(update={"admin_password": missing})

    with pytest.raises(PermanentAzureError) as refused:
        backend.ports.deployments.begin_deploy(
            resource_group=group,
            name="kiln-build-x",
            template=build_vm_deployment(spec),
            parameters=build_vm_parameters(spec),
        )

    assert refused.value.code == "KeyVaultParameterReferenceSecretRetrieveFailed"
    assert missing.secret_name in refused.value.message


def test_reading_a_missing_group_raises_not_found(backend: Backend) -> None:
    with pytest.raises(AzureNotFound):
        backend.ports.resource_groups.get(name=f"kiln-missing-{uuid.uuid4().hex[:8]}")


def test_build_vm_deployment_completes_and_creates_vm_network_and_storage_tagged(backend: Backend) -> None:
    group = backend.new_group()
    run = uuid.uuid4().hex
    names = BuildVmNames.for_run(run)

    state = deploy(backend, group, build_spec(backend, run))

    assert state.provisioning_state == "Succeeded", state.error
    tagged = backend.ports.resources.list_by_tag(tag_name="kiln.run", tag_value=run, resource_group=group)
    by_name = {r.name: r.type.lower() for r in tagged}
    assert by_name[names.vm] == "microsoft.compute/virtualmachines"
    assert by_name[names.nic] == "microsoft.network/networkinterfaces"
    assert by_name[names.public_ip] == "microsoft.network/publicipaddresses"
    assert by_name[names.vnet] == "microsoft.network/virtualnetworks"
    assert by_name[names.nsg] == "microsoft.network/networksecuritygroups"
    # The staging account outlives the run: it never carries the run's tag (the janitor sweeps by it).
    assert names.storage_account not in by_name
    in_group = {r.name: r for r in backend.ports.resources.list_in_group(resource_group=group)}
    assert in_group[names.storage_account].type.lower() == "microsoft.storage/storageaccounts"
    vm = backend.ports.virtual_machines.get(resource_group=group, name=names.vm)
    assert vm.provisioning_state == "Succeeded"
    assert vm.power_state == "running"


def test_redeploying_the_same_run_returns_the_same_resources(backend: Backend) -> None:
    group = backend.new_group()
    run = uuid.uuid4().hex
    spec = build_spec(backend, run)
    deploy(backend, group, spec)
    before = sorted(r.id for r in backend.ports.resources.list_by_tag(tag_name="kiln.run", tag_value=run))

    state = deploy(backend, group, spec)

    after = sorted(r.id for r in backend.ports.resources.list_by_tag(tag_name="kiln.run", tag_value=run))
    assert state.provisioning_state == "Succeeded", state.error
    assert after == before


def test_deletes_out_of_dependency_order_are_refused_as_transient_until_the_user_is_gone(
    backend: Backend,
) -> None:
    group = backend.new_group()
    run = uuid.uuid4().hex
    names = BuildVmNames.for_run(run)
    deploy(backend, group, build_spec(backend, run))
    rg_id = backend.ports.resource_groups.get(name=group).id
    nic = f"{rg_id}/providers/Microsoft.Network/networkInterfaces/{names.nic}"
    public_ip = f"{rg_id}/providers/Microsoft.Network/publicIPAddresses/{names.public_ip}"
    nsg = f"{rg_id}/providers/Microsoft.Network/networkSecurityGroups/{names.nsg}"

    with pytest.raises(TransientAzureError) as nic_in_use:
        backend.ports.resources.begin_delete_by_id(resource_id=nic)
    with pytest.raises(TransientAzureError) as ip_in_use:
        backend.ports.resources.begin_delete_by_id(resource_id=public_ip)

    assert nic_in_use.value.code == "NicInUse"
    assert ip_in_use.value.code == "PublicIPAddressCannotBeDeleted"
    vms = backend.ports.virtual_machines
    vms.begin_delete(resource_group=group, name=names.vm)
    poll(lambda: _gone(lambda: vms.get(resource_group=group, name=names.vm)), bool)
    for resource_id in (
        nic,
        public_ip,
        f"{rg_id}/providers/Microsoft.Network/virtualNetworks/{names.vnet}",
        nsg,
    ):
        backend.ports.resources.begin_delete_by_id(resource_id=resource_id)
        poll(partial(_gone, partial(backend.ports.resources.get_by_id, resource_id=resource_id)), bool)
    remaining = {
        r.type.lower() for r in backend.ports.resources.list_by_tag(tag_name="kiln.run", tag_value=run)
    }
    assert remaining == set()  # the staging account carries no run tag and stays
    left = {r.type.lower() for r in backend.ports.resources.list_in_group(resource_group=group)}
    assert "microsoft.storage/storageaccounts" in left


def test_deleting_the_staging_group_removes_everything_in_it(backend: Backend) -> None:
    group = backend.new_group()
    run = uuid.uuid4().hex
    deploy(backend, group, build_spec(backend, run))

    backend.ports.resource_groups.begin_delete(name=group)

    poll(lambda: not backend.ports.resource_groups.exists(name=group), bool, timeout=300)
    assert backend.ports.resources.list_by_tag(tag_name="kiln.run", tag_value=run) == []


def _gone(read: Callable[[], object]) -> bool:
    try:
        read()
    except AzureNotFound:
        return True
    return False


def test_deployment_operations_name_each_resource_the_deployment_created(backend: Backend) -> None:
    group = backend.new_group()
    spec = build_spec(backend, uuid.uuid4().hex)
    names = BuildVmNames.for_run(spec.run_id)
    deploy(backend, group, spec)

    operations = backend.ports.deployments.list_operations(resource_group=group, name=names.deployment)

    by_type = {(o.resource_type or "").lower(): o for o in operations if o.resource_id}
    vm = by_type["microsoft.compute/virtualmachines"]
    assert (vm.resource_id or "").endswith(f"/virtualMachines/{names.vm}")
    assert vm.provisioning_state == "Succeeded" and vm.error is None
    assert "microsoft.storage/storageaccounts" in by_type


def test_a_started_deployment_is_seen_in_progress_then_completes(backend: Backend) -> None:
    group = backend.new_group()
    spec = build_spec(backend, uuid.uuid4().hex)
    names = BuildVmNames.for_run(spec.run_id)
    backend.ports.secrets.set(name=spec.admin_password.secret_name, value=f"Kiln-{uuid.uuid4()}!")
    backend.slow_down()
    seen: list[str] = []

    deployment_id = backend.ports.deployments.begin_deploy(
        resource_group=group,
        name=names.deployment,
        template=build_vm_deployment(spec),
        parameters=build_vm_parameters(spec),
    )

    def read() -> DeploymentState:
        state: DeploymentState = backend.ports.deployments.get(resource_group=group, name=names.deployment)
        seen.append(state.provisioning_state)
        return state

    final = poll(read, lambda s: s.terminal, timeout=300)
    assert final.id.lower() == deployment_id.lower()
    assert seen[0] not in ("Succeeded", "Failed", "Canceled")
    assert final.provisioning_state == "Succeeded"
    assert final.outputs["vmName"] == names.vm
