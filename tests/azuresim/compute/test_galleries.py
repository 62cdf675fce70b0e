"""Galleries, image definitions and image versions through ComputeManagementClient, including replication
progressing region by region and a region failed by a fault rule."""

from __future__ import annotations

import time
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError

from tests.azuresim.compute.conftest import vm_body
from tests.support.azuresim import AzureSim, arm_error

pytestmark = pytest.mark.timeout(60)
DEFINITION: dict[str, Any] = {
    "location": "eastus",
    "properties": {
        "osType": "Linux",
        "osState": "Generalized",
        "hyperVGeneration": "V2",
        "identifier": {"publisher": "contoso", "offer": "kiln", "sku": "ubuntu"},
        "features": [{"name": "SecurityType", "value": "TrustedLaunchSupported"}],
    },
}


@pytest.fixture
def definition(compute: Any, rg: str) -> Any:
    compute.galleries.begin_create_or_update(rg, "gal", {"location": "eastus"}).result()
    return compute.gallery_images.begin_create_or_update(rg, "gal", "ubuntu", DEFINITION).result()


@pytest.fixture
def generalized_vm(compute: Any, rg: str, make_vm: Any) -> Any:
    vm = make_vm("src")
    compute.virtual_machines.begin_deallocate(rg, "src").result()
    compute.virtual_machines.generalize(rg, "src")
    return vm


@pytest.fixture(autouse=True)
def clean_control(sim: AzureSim) -> Any:
    yield
    sim.control("DELETE", "/_sim/faults")
    sim.control("PUT", "/_sim/latency", {"scale": 0.0})


def version_body(source_id: str, *regions: str) -> dict[str, Any]:
    return {
        "location": "eastus",
        "properties": {
            "publishingProfile": {
                "targetRegions": [{"name": r, "regionalReplicaCount": 2} for r in regions],
                "replicaCount": 1,
                "excludeFromLatest": True,
                "replicationMode": "Shallow",
            },
            "storageProfile": {"source": {"virtualMachineId": source_id}},
        },
    }


def test_definition_requires_its_fields_and_gen2_for_trusted_launch(compute: Any, rg: str) -> None:
    compute.galleries.begin_create_or_update(rg, "gal", {"location": "eastus"}).result()
    missing = {"location": "eastus", "properties": {**DEFINITION["properties"], "osType": None}}
    with pytest.raises(HttpResponseError) as err:
        compute.gallery_images.begin_create_or_update(rg, "gal", "bad", missing).result()
    assert err.value.status_code == 400
    assert arm_error(err.value)[0] == "InvalidParameter"
    assert err.value.error is not None and err.value.error.target == "galleryImage.properties.osType"
    gen1 = {"location": "eastus", "properties": {**DEFINITION["properties"], "hyperVGeneration": "V1"}}
    with pytest.raises(HttpResponseError) as err:
        compute.gallery_images.begin_create_or_update(rg, "gal", "bad", gen1).result()
    assert "HyperVGeneration V2" in arm_error(err.value)[1]


def test_definition_keeps_generation_features_and_identifier(compute: Any, rg: str, definition: Any) -> None:
    got = compute.gallery_images.get(rg, "gal", "ubuntu")
    assert got.hyper_v_generation == "V2" and got.os_state == "Generalized"
    assert got.features[0].value == "TrustedLaunchSupported"
    assert got.identifier.sku == "ubuntu"
    assert [d.name for d in compute.gallery_images.list_by_gallery(rg, "gal")] == ["ubuntu"]


def test_version_replicates_to_every_region_in_parallel(
    sim: AzureSim, compute: Any, rg: str, definition: Any, generalized_vm: Any
) -> None:
    sim.control(
        "PUT",
        "/_sim/latency",
        {
            "scale": 1.0,
            "ops": {
                "arm.request": 0,
                "gallery.capture": 0.3,
                "gallery.replicate": 0.6,
                "compute.galleryversion.put": 0,
            },
        },
    )
    body = version_body(generalized_vm.id, "westus", "eastus", "northeurope")
    poller = compute.gallery_image_versions.begin_create_or_update(rg, "gal", "ubuntu", "1.0.0", body)
    snapshots = []
    while not poller.done():
        version = compute.gallery_image_versions.get(rg, "gal", "ubuntu", "1.0.0", expand="ReplicationStatus")
        snapshots.append([(s.region, s.state) for s in version.replication_status.summary])
        time.sleep(0.05)
    final = poller.result()
    assert final.provisioning_state == "Succeeded"
    assert snapshots[0][0] == ("eastus", "Replicating")  # the home region is listed first
    assert [("eastus", "Replicating"), ("westus", "Replicating"), ("northeurope", "Replicating")] in snapshots
    status = compute.gallery_image_versions.get(rg, "gal", "ubuntu", "1.0.0", expand="ReplicationStatus")
    assert status.replication_status.aggregated_state == "Completed"
    assert {s.progress for s in status.replication_status.summary} == {100}
    profile = final.publishing_profile
    assert [t.regional_replica_count for t in profile.target_regions] == [2, 2, 2]
    assert profile.exclude_from_latest is True and profile.replication_mode == "Shallow"
    assert final.storage_profile.source.virtual_machine_id == generalized_vm.id


def test_a_fault_rule_fails_one_regions_replication(
    sim: AzureSim, compute: Any, rg: str, definition: Any, generalized_vm: Any
) -> None:
    sim.control("POST", "/_sim/faults", {"method": "PUT", "path": "/_replication/westus$", "status": 500})
    body = version_body(generalized_vm.id, "eastus", "westus")
    with pytest.raises(HttpResponseError) as err:
        compute.gallery_image_versions.begin_create_or_update(rg, "gal", "ubuntu", "1.0.1", body).result()
    assert "westus" in arm_error(err.value)[1]
    version = compute.gallery_image_versions.get(rg, "gal", "ubuntu", "1.0.1", expand="ReplicationStatus")
    assert version.provisioning_state == "Failed"
    summary = {s.region: (s.state, s.progress) for s in version.replication_status.summary}
    assert summary == {"eastus": ("Completed", 100), "westus": ("Failed", 50)}
    assert version.replication_status.aggregated_state == "Failed"


def test_putting_a_version_again_replicates_its_failed_region_again(
    sim: AzureSim, compute: Any, rg: str, definition: Any, generalized_vm: Any
) -> None:
    rule = {"method": "PUT", "path": "/_replication/westus$", "status": 500, "times": 1}
    sim.control("POST", "/_sim/faults", rule)
    body = version_body(generalized_vm.id, "eastus", "westus")
    with pytest.raises(HttpResponseError):
        compute.gallery_image_versions.begin_create_or_update(rg, "gal", "ubuntu", "1.0.2", body).result()

    again = compute.gallery_image_versions.begin_create_or_update(rg, "gal", "ubuntu", "1.0.2", body).result()

    assert again.provisioning_state == "Succeeded"
    version = compute.gallery_image_versions.get(rg, "gal", "ubuntu", "1.0.2", expand="ReplicationStatus")
    assert {s.region: s.state for s in version.replication_status.summary} == {
        "eastus": "Completed",
        "westus": "Completed",
    }


def test_adding_a_target_region_replicates_only_the_new_region(
    sim: AzureSim, compute: Any, rg: str, definition: Any, generalized_vm: Any
) -> None:
    ops = {"arm.request": 0, "gallery.capture": 0.1, "gallery.replicate": 0.3}
    sim.control("PUT", "/_sim/latency", {"scale": 1.0, "ops": ops})
    first = version_body(generalized_vm.id, "eastus")
    compute.gallery_image_versions.begin_create_or_update(rg, "gal", "ubuntu", "1.0.3", first).result()

    second = version_body(generalized_vm.id, "eastus", "westus")
    poller = compute.gallery_image_versions.begin_create_or_update(rg, "gal", "ubuntu", "1.0.3", second)
    version = compute.gallery_image_versions.get(rg, "gal", "ubuntu", "1.0.3", expand="ReplicationStatus")
    states = {s.region: s.state for s in version.replication_status.summary}
    poller.result()

    assert states == {"eastus": "Completed", "westus": "Replicating"}


def test_existing_version_accepts_the_same_source_but_not_another(
    compute: Any, rg: str, definition: Any, generalized_vm: Any, make_vm: Any
) -> None:
    body = version_body(generalized_vm.id, "eastus")
    compute.gallery_image_versions.begin_create_or_update(rg, "gal", "ubuntu", "2.0.0", body).result()
    again = compute.gallery_image_versions.begin_create_or_update(rg, "gal", "ubuntu", "2.0.0", body).result()
    assert again.provisioning_state == "Succeeded"
    other = make_vm("other")
    compute.virtual_machines.begin_deallocate(rg, "other").result()
    compute.virtual_machines.generalize(rg, "other")
    with pytest.raises(ResourceExistsError) as err:
        compute.gallery_image_versions.begin_create_or_update(
            rg, "gal", "ubuntu", "2.0.0", version_body(other.id, "eastus")
        ).result()
    assert arm_error(err.value)[0] == "PropertyChangeNotAllowed"


def test_version_source_must_be_generalized_and_of_the_same_generation(
    compute: Any, rg: str, definition: Any, make_vm: Any
) -> None:
    running = make_vm("running")
    with pytest.raises(ResourceExistsError):
        compute.gallery_image_versions.begin_create_or_update(
            rg, "gal", "ubuntu", "1.0.0", version_body(running.id)
        ).result()
    gen1 = make_vm(
        "gen1",
        image={
            "publisher": "Canonical",
            "offer": "ubuntu-24_04-lts",
            "sku": "server-gen1",
            "version": "latest",
        },
    )
    compute.virtual_machines.begin_deallocate(rg, "gen1").result()
    compute.virtual_machines.generalize(rg, "gen1")
    with pytest.raises(HttpResponseError) as err:
        compute.gallery_image_versions.begin_create_or_update(
            rg, "gal", "ubuntu", "1.0.0", version_body(gen1.id)
        ).result()
    assert err.value.status_code == 400 and "HyperVGeneration 'V1'" in arm_error(err.value)[1]
    with pytest.raises(HttpResponseError) as err:
        compute.gallery_image_versions.begin_create_or_update(
            rg, "gal", "ubuntu", "latest", version_body(gen1.id)
        ).result()
    assert err.value.status_code == 400


def test_versions_list_delete_and_nested_resources_block_deletes(
    compute: Any, rg: str, definition: Any, generalized_vm: Any
) -> None:
    for name in ("1.0.0", "1.1.0"):
        body = version_body(generalized_vm.id, "eastus")
        compute.gallery_image_versions.begin_create_or_update(rg, "gal", "ubuntu", name, body).result()
    listed = sorted(v.name for v in compute.gallery_image_versions.list_by_gallery_image(rg, "gal", "ubuntu"))
    assert listed == ["1.0.0", "1.1.0"]
    with pytest.raises(HttpResponseError) as err:
        compute.gallery_images.begin_delete(rg, "gal", "ubuntu").result()
    assert err.value.status_code == 409
    for name in listed:
        compute.gallery_image_versions.begin_delete(rg, "gal", "ubuntu", name).result()
    compute.gallery_images.begin_delete(rg, "gal", "ubuntu").result()
    compute.galleries.begin_delete(rg, "gal").result()
    assert list(compute.galleries.list_by_resource_group(rg)) == []


def test_version_from_a_managed_image_then_a_vm_from_the_version(
    compute: Any, rg: str, definition: Any, generalized_vm: Any
) -> None:
    image_body = {"location": "eastus", "properties": {"sourceVirtualMachine": {"id": generalized_vm.id}}}
    image = compute.images.begin_create_or_update(rg, "img", image_body).result()
    body = version_body(image.id, "eastus")
    body["properties"]["storageProfile"] = {"source": {"id": image.id}}
    version = compute.gallery_image_versions.begin_create_or_update(
        rg, "gal", "ubuntu", "3.0.0", body
    ).result()
    assert version.storage_profile.source.id == image.id
    assert version.storage_profile.os_disk_image.size_in_gb == 30
    vm = compute.virtual_machines.begin_create_or_update(
        rg, "fromgallery", vm_body({"id": version.id})
    ).result()
    assert compute.disks.get(rg, vm.storage_profile.os_disk.name).hyper_v_generation == "V2"


def test_target_regions_must_include_the_versions_own_region(
    compute: Any, rg: str, definition: Any, generalized_vm: Any
) -> None:
    with pytest.raises(HttpResponseError) as err:
        compute.gallery_image_versions.begin_create_or_update(
            rg, "gal", "ubuntu", "4.0.0", version_body(generalized_vm.id, "westus")
        ).result()
    assert err.value.error is not None
    assert err.value.error.target == "galleryImageVersion.properties.publishingProfile.targetRegions"
