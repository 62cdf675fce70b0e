"""VM lifecycle through ComputeManagementClient: instance view, deallocate, generalize, restart, delete,
managed images."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from tests.azuresim.compute.conftest import vm_body
from tests.support.azuresim import AzureSim, arm_error

pytestmark = pytest.mark.timeout(60)


def codes(view: Any) -> list[str]:
    return [s.code for s in view.statuses]


def test_created_vm_runs_with_a_ready_agent_and_an_attached_os_disk(
    compute: Any, rg: str, make_vm: Any
) -> None:
    vm = make_vm("vm1")
    assert vm.provisioning_state == "Succeeded"
    assert vm.storage_profile.image_reference.exact_version == "24.04.202411030"
    assert vm.os_profile.admin_password is None
    view = compute.virtual_machines.get(rg, "vm1", expand="instanceView").instance_view
    assert codes(view) == ["ProvisioningState/succeeded", "PowerState/running"]
    assert view.vm_agent.statuses[0].display_status == "Ready"
    disk = compute.disks.get(rg, vm.storage_profile.os_disk.name)
    assert disk.managed_by == vm.id
    assert disk.disk_state == "Attached"
    assert disk.hyper_v_generation == "V2"


def test_unknown_platform_image_is_rejected_naming_the_urn(compute: Any, rg: str) -> None:
    image = {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "1.2.3"}
    with pytest.raises(ResourceNotFoundError) as err:
        compute.virtual_machines.begin_create_or_update(rg, "bad", vm_body(image)).result()
    assert arm_error(err.value)[0] == "PlatformImageNotFound"
    assert "Canonical:ubuntu-24_04-lts:server:1.2.3" in arm_error(err.value)[1]


def test_generalize_requires_a_stopped_vm_then_marks_os_state(compute: Any, rg: str, make_vm: Any) -> None:
    make_vm("vm1")
    with pytest.raises(ResourceExistsError) as err:
        compute.virtual_machines.generalize(rg, "vm1")
    assert arm_error(err.value)[0] == "OperationNotAllowed"
    assert "running" in arm_error(err.value)[1]
    compute.virtual_machines.begin_deallocate(rg, "vm1").result()
    compute.virtual_machines.generalize(rg, "vm1")
    view = compute.virtual_machines.instance_view(rg, "vm1")
    assert codes(view) == ["ProvisioningState/succeeded", "OSState/generalized", "PowerState/deallocated"]
    assert view.vm_agent is None


def test_image_from_a_vm_needs_it_generalized(compute: Any, rg: str, make_vm: Any) -> None:
    vm = make_vm("vm1")
    body = {"location": "eastus", "properties": {"sourceVirtualMachine": {"id": vm.id}}}
    with pytest.raises(ResourceExistsError) as err:
        compute.images.begin_create_or_update(rg, "img", body).result()
    assert arm_error(err.value)[1] == (
        "The operation 'Create Image' requires the Virtual Machine 'vm1' to be Generalized."
    )
    compute.virtual_machines.begin_deallocate(rg, "vm1").result()
    compute.virtual_machines.generalize(rg, "vm1")
    image = compute.images.begin_create_or_update(rg, "img", body).result()
    assert image.provisioning_state == "Succeeded"
    assert image.hyper_v_generation == "V2"
    assert image.storage_profile.os_disk.os_state == "Generalized"
    compute.images.begin_delete(rg, "img").result()
    with pytest.raises(ResourceNotFoundError):
        compute.images.get(rg, "img")


def test_restart_leaves_the_agent_not_ready_for_a_while(
    sim: AzureSim, compute: Any, rg: str, make_vm: Any
) -> None:
    make_vm("vm1")
    sim.control(
        "PUT", "/_sim/latency", {"scale": 1.0, "ops": {"compute.vm.agent": 1.0, "compute.vm.restart": 0}}
    )
    try:
        compute.virtual_machines.begin_restart(rg, "vm1").result()
        view = compute.virtual_machines.instance_view(rg, "vm1")
        assert "PowerState/running" in codes(view)
        assert view.vm_agent.statuses[0].display_status == "Not Ready"
        deadline = time.monotonic() + 10
        while view.vm_agent.statuses[0].display_status != "Ready" and time.monotonic() < deadline:
            time.sleep(0.1)
            view = compute.virtual_machines.instance_view(rg, "vm1")
        assert view.vm_agent.statuses[0].display_status == "Ready"
    finally:
        sim.control("PUT", "/_sim/latency", {"scale": 0.0})


def test_os_disk_survives_vm_delete_unless_delete_option_says_delete(
    compute: Any, rg: str, make_vm: Any
) -> None:
    kept = make_vm("keep")
    gone = make_vm("gone", image=None)
    with pytest.raises(ResourceExistsError) as err:
        compute.disks.begin_delete(rg, kept.storage_profile.os_disk.name).result()
    assert arm_error(err.value)[0] == "OperationNotAllowed"
    compute.virtual_machines.begin_delete(rg, "keep").result()
    disk = compute.disks.get(rg, kept.storage_profile.os_disk.name)
    assert disk.disk_state == "Unattached" and disk.managed_by is None
    compute.disks.begin_delete(rg, disk.name).result()
    assert gone.storage_profile.os_disk.delete_option == "Detach"


def test_os_disk_with_delete_option_delete_goes_with_the_vm(compute: Any, rg: str) -> None:
    body = vm_body()
    body["properties"]["storageProfile"]["osDisk"]["deleteOption"] = "Delete"
    vm = compute.virtual_machines.begin_create_or_update(rg, "vm1", body).result()
    compute.virtual_machines.begin_delete(rg, "vm1").result()
    with pytest.raises(ResourceNotFoundError):
        compute.disks.get(rg, vm.storage_profile.os_disk.name)
    with pytest.raises(ResourceNotFoundError):
        compute.virtual_machines.get(rg, "vm1")


def test_disk_access_gives_a_sas_to_a_real_page_blob(
    sim: AzureSim, compute: Any, rg: str, make_vm: Any
) -> None:
    vm = make_vm("vm1")
    name = vm.storage_profile.os_disk.name
    with pytest.raises(HttpResponseError):
        compute.disks.begin_grant_access(rg, name, {"access": "Read", "durationInSeconds": 600}).result()
    compute.virtual_machines.begin_deallocate(rg, "vm1").result()
    access = compute.disks.begin_grant_access(rg, name, {"access": "Read", "durationInSeconds": 600}).result()
    head = requests.head(access.access_sas, timeout=10)
    assert head.status_code == 200
    assert head.headers["x-ms-blob-type"] == "PageBlob"
    assert int(head.headers["Content-Length"]) == 4 * 1024**2 + 512  # a stand-in, not 30 GiB
    assert head.headers["x-ms-meta-disksizegb"] == "30"
    assert compute.disks.get(rg, name).disk_state == "ActiveSAS"
    compute.virtual_machines.begin_delete(rg, "vm1").result()
    with pytest.raises(ResourceExistsError) as err:
        compute.disks.begin_delete(rg, name).result()
    assert "active SAS" in arm_error(err.value)[1]
    compute.disks.begin_revoke_access(rg, name).result()
    assert requests.head(access.access_sas, timeout=10).status_code == 404
    compute.disks.begin_delete(rg, name).result()


def test_a_stopped_vm_can_be_generalized_and_then_never_started(compute: Any, rg: str, make_vm: Any) -> None:
    make_vm("vm1")
    compute.virtual_machines.begin_power_off(rg, "vm1").result()
    assert "PowerState/stopped" in codes(compute.virtual_machines.instance_view(rg, "vm1"))
    compute.virtual_machines.begin_start(rg, "vm1").result()
    assert "PowerState/running" in codes(compute.virtual_machines.instance_view(rg, "vm1"))
    compute.virtual_machines.begin_power_off(rg, "vm1").result()
    compute.virtual_machines.generalize(rg, "vm1")
    with pytest.raises(ResourceExistsError) as err:
        compute.virtual_machines.begin_start(rg, "vm1").result()
    assert (
        arm_error(err.value)[1] == "Operation 'start' is not allowed on VM 'vm1' since the VM is generalized."
    )


def test_trusted_launch_needs_a_gen2_image(compute: Any, rg: str) -> None:
    gen1 = {
        "publisher": "MicrosoftWindowsServer",
        "offer": "WindowsServer",
        "sku": "2022-datacenter",
        "version": "latest",
    }
    body = vm_body(
        gen1,
        securityProfile={
            "securityType": "TrustedLaunch",
            "uefiSettings": {"secureBootEnabled": True, "vTpmEnabled": True},
        },
    )
    with pytest.raises(HttpResponseError) as err:
        compute.virtual_machines.begin_create_or_update(rg, "tl", body).result()
    assert err.value.status_code == 400
    assert err.value.error is not None and err.value.error.target == "securityProfile.securityType"
    body["properties"]["storageProfile"]["imageReference"]["sku"] = "2022-datacenter-g2"
    vm = compute.virtual_machines.begin_create_or_update(rg, "tl", body).result()
    assert (
        compute.disks.get(rg, vm.storage_profile.os_disk.name).security_profile.security_type
        == "TrustedLaunch"
    )
