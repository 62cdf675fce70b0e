"""Port-level contract: the build VM's lifecycle, Run Commands, capture, galleries and Marketplace."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from activities.support.deployment_template import BuildVmNames
from shared.errors import AzureNotFound, PermanentAzureError
from shared.models.azure import ImageDefinitionSpec, ImageVersionSpec, RunCommandSpec, TargetRegion, VmState
from tests.azure.backends import Backend, poll
from tests.azure.test_contract_resources import build_spec, deploy

pytestmark = pytest.mark.timeout(180)


@dataclass
class BuildVm:
    group: str
    names: BuildVmNames
    id: str


def build_vm(backend: Backend) -> BuildVm:
    group = backend.new_group()
    spec = build_spec(backend, uuid.uuid4().hex)
    state = deploy(backend, group, spec)
    assert state.provisioning_state == "Succeeded", state.error
    return BuildVm(group, BuildVmNames.for_run(spec.run_id), str(state.outputs["vmId"]))


def deallocate_and_generalize(backend: Backend, vm: BuildVm) -> None:
    vms = backend.ports.virtual_machines
    vms.begin_deallocate(resource_group=vm.group, name=vm.names.vm)
    poll(lambda: vms.get(resource_group=vm.group, name=vm.names.vm), lambda s: s.power_state == "deallocated")
    vms.generalize(resource_group=vm.group, name=vm.names.vm)


def test_generalizing_a_running_vm_is_refused_as_permanent(backend: Backend) -> None:
    vm = build_vm(backend)

    with pytest.raises(PermanentAzureError) as refused:
        backend.ports.virtual_machines.generalize(resource_group=vm.group, name=vm.names.vm)

    assert refused.value.status == 409


def test_a_deallocated_generalized_vm_is_captured_as_a_managed_image(backend: Backend) -> None:
    vm = build_vm(backend)
    deallocate_and_generalize(backend, vm)
    images = backend.ports.managed_images

    image_id = images.begin_create_from_vm(
        resource_group=vm.group,
        name="kiln-image",
        location=backend.location,
        source_vm_id=vm.id,
        tags={"a": "b"},
        hyper_v_generation="V2",
    )

    image = poll(
        lambda: images.get(resource_group=vm.group, name="kiln-image"),
        lambda i: i.provisioning_state != "Creating",
    )
    assert image.provisioning_state == "Succeeded"
    assert image.id.lower() == image_id.lower()
    assert (image.source_vm_id or "").lower() == vm.id.lower()
    assert image.hyper_v_generation == "V2"


def test_restart_returns_once_accepted_and_the_vm_comes_back_running(backend: Backend) -> None:
    vm = build_vm(backend)
    vms = backend.ports.virtual_machines

    vms.begin_restart(resource_group=vm.group, name=vm.names.vm)

    def back(state: VmState) -> bool:
        return (
            state.provisioning_state == "Succeeded"
            and state.power_state == "running"
            and bool(state.vm_agent_ready)
        )

    assert back(poll(lambda: vms.get(resource_group=vm.group, name=vm.names.vm), back))


def _log_blobs(backend: Backend, vm: BuildVm, tag: str) -> tuple[object, str, str]:
    blobs = backend.ports.blobs(account_url=backend.blob_account_url(vm.names.storage_account))
    container = f"packerlogs-{uuid.uuid4().hex[:8]}"
    blobs.ensure_container(container=container)
    # Azure writes Run Command output only through a SAS URL (or the VM's identity).
    urls = []
    for name in (f"{tag}.out.log", f"{tag}.err.log"):
        blobs.create_append_blob(container=container, name=name)
        urls.append(blobs.writable_url(container=container, name=name, valid_seconds=3600))
    return blobs, urls[0], urls[1]


@pytest.mark.parametrize("exit_code", [0, 3])
def test_run_command_runs_async_and_reports_exit_code_and_output(backend: Backend, exit_code: int) -> None:
    vm = build_vm(backend)
    marker = f"kiln-{uuid.uuid4().hex[:8]}"
    backend.script_outcome(pattern=marker, exit_code=exit_code, stdout=f"{marker} done\n", stderr="")
    blobs, out, err = _log_blobs(backend, vm, "customizer-0")
    spec = RunCommandSpec(
        script=f"echo {marker}\n", output_blob_uri=out, error_blob_uri=err, location=backend.location
    )
    commands = backend.ports.run_commands

    commands.begin_create(resource_group=vm.group, vm_name=vm.names.vm, name="customizer-0", spec=spec)

    state = poll(
        lambda: commands.get(resource_group=vm.group, vm_name=vm.names.vm, name="customizer-0"),
        lambda s: s.terminal,
    )
    assert state.exit_code == exit_code
    assert state.execution_state == ("Succeeded" if exit_code == 0 else "Failed")
    container, name = out.split("?", 1)[0].rsplit("/", 2)[-2:]
    assert marker.encode() in blobs.download(container=container, name=name)  # type: ignore[attr-defined]
    commands.begin_delete(resource_group=vm.group, vm_name=vm.names.vm, name="customizer-0")
    commands.begin_delete(resource_group=vm.group, vm_name=vm.names.vm, name="customizer-0")
    poll(lambda: _missing(backend, vm), bool)


def _missing(backend: Backend, vm: BuildVm) -> bool:
    try:
        backend.ports.run_commands.get(resource_group=vm.group, vm_name=vm.names.vm, name="customizer-0")
    except AzureNotFound:
        return True
    return False


def test_gallery_version_replicates_region_by_region_until_completed(backend: Backend) -> None:
    vm = build_vm(backend)
    deallocate_and_generalize(backend, vm)
    galleries = backend.ports.galleries
    galleries.create_gallery(resource_group=vm.group, name="kilngallery", location=backend.location, tags={})
    definition = galleries.create_image_definition(
        resource_group=vm.group,
        gallery="kilngallery",
        name="ubuntu",
        spec=ImageDefinitionSpec(
            location=backend.location,
            os_type="Linux",
            hyper_v_generation="V2",
            publisher="kiln",
            offer="ubuntu",
            sku="24",
            features={"SecurityType": "TrustedLaunchSupported"},
        ),
    )
    assert definition.features["SecurityType"] == "TrustedLaunchSupported"
    regions = [TargetRegion(name=backend.location), TargetRegion(name="northeurope", replica_count=2)]
    spec = ImageVersionSpec(
        location=backend.location, source_vm_id=vm.id, target_regions=regions, exclude_from_latest=True
    )

    version_id = galleries.begin_create_version(
        resource_group=vm.group, gallery="kilngallery", image="ubuntu", version="1.0.0", spec=spec
    )

    def read() -> object:
        return galleries.get_version(
            resource_group=vm.group, gallery="kilngallery", image="ubuntu", version="1.0.0"
        )

    final = poll(read, lambda v: v.terminal)  # type: ignore[attr-defined]
    assert final.id.lower() == version_id.lower()  # type: ignore[attr-defined]
    assert final.provisioning_state == "Succeeded"  # type: ignore[attr-defined]
    assert final.exclude_from_latest  # type: ignore[attr-defined]
    assert {(r.region.replace(" ", "").lower(), r.state) for r in final.regions} == {  # type: ignore[attr-defined]
        (backend.location, "Completed"),
        ("northeurope", "Completed"),
    }
    listed = galleries.list_versions(resource_group=vm.group, gallery="kilngallery", image="ubuntu")
    assert [v.name for v in listed] == ["1.0.0"]


def test_marketplace_lists_versions_ascending_and_resolves_latest(backend: Backend) -> None:
    market = backend.ports.marketplace
    where = {
        "location": backend.location,
        "publisher": "Canonical",
        "offer": "ubuntu-24_04-lts",
        "sku": "server",
    }

    versions = market.list_versions(**where)
    latest = market.get_version(**where, version="latest")

    assert versions and latest.version == versions[-1]
    assert latest.hyper_v_generation == "V2"
    assert latest.features.get("SecurityType") == "TrustedLaunchSupported"
    assert latest.plan is None


def test_marketplace_image_with_a_purchase_plan_reports_it(backend: Backend) -> None:
    where = {"location": backend.location, "publisher": "RedHat", "offer": "rhel-byos", "sku": "rhel-lvm9"}

    image = backend.ports.marketplace.get_version(**where, version="latest")

    assert image.plan is not None
    assert image.plan.product == "rhel-byos"


def test_unknown_marketplace_image_is_not_found(backend: Backend) -> None:
    with pytest.raises(AzureNotFound):
        backend.ports.marketplace.list_versions(
            location=backend.location, publisher="nope", offer="nope", sku="nope"
        )


def test_os_disk_read_access_is_granted_as_a_sas_then_revoked(backend: Backend) -> None:
    vm = build_vm(backend)
    deallocate_and_generalize(backend, vm)
    state = backend.ports.virtual_machines.get(resource_group=vm.group, name=vm.names.vm)
    assert state.os_disk_id is not None
    disk = state.os_disk_id.rsplit("/", 1)[-1]

    sas = backend.ports.disks.grant_access(resource_group=vm.group, name=disk, duration_seconds=3600)
    backend.ports.disks.revoke_access(resource_group=vm.group, name=disk)
    backend.ports.disks.revoke_access(resource_group=vm.group, name=disk)

    # Copying the VHD itself is left to the blob contract: the disk is a 30 GiB page blob (sparse in Azure,
    # but Azurite's in-memory store cannot copy it).
    assert sas.startswith(("https://", "http://")) and "?" in sas and disk in sas


def test_a_region_that_fails_to_replicate_is_reported_and_fails_the_version(backend: Backend) -> None:
    vm = build_vm(backend)
    deallocate_and_generalize(backend, vm)
    galleries = backend.ports.galleries
    galleries.create_gallery(resource_group=vm.group, name="kilngallery", location=backend.location, tags={})
    definition = ImageDefinitionSpec(
        location=backend.location, os_type="Linux", publisher="kiln", offer="ubuntu", sku="24"
    )
    galleries.create_image_definition(
        resource_group=vm.group, gallery="kilngallery", name="u", spec=definition
    )
    backend.fail_replication("eastus")
    regions = [TargetRegion(name=backend.location), TargetRegion(name="eastus")]
    spec = ImageVersionSpec(location=backend.location, source_vm_id=vm.id, target_regions=regions)

    galleries.begin_create_version(
        resource_group=vm.group, gallery="kilngallery", image="u", version="2.0.0", spec=spec
    )

    final = poll(
        lambda: galleries.get_version(
            resource_group=vm.group, gallery="kilngallery", image="u", version="2.0.0"
        ),
        lambda v: v.terminal,
    )
    states = {r.region.replace(" ", "").lower(): r.state for r in final.regions}
    assert final.provisioning_state == "Failed"
    assert states["eastus"] == "Failed"
