"""generalize, then distribute (start, one look at a time, a region asked again) and undo_distribute."""

from __future__ import annotations

from typing import Any

from activities import distribute, vm_power
from activities.support import gallery
from activities.support.deployment_template import BuildVmNames
from shared import naming
from shared.errors import PermanentAzureError
from shared.models.azure import ImageVersionSpec
from shared.models.build import (
    BuildVm,
    DistributeStarted,
    DistributeTarget,
    ResolvedSource,
    RunRef,
    TargetResult,
)
from shared.models.durable import DistributeInput, RegionState, UndoInput
from tests.activities.support import (
    GALLERY,
    MANAGED_IMAGE,
    RG,
    UBUNTU_DEF,
    deployed,
    linux_template,
    poll,
    world,
)
from tests.fakes import FakeAzure, arm_id
from tests.fakes.images import FakeGalleries


def generalized(fake: FakeAzure) -> tuple[RunRef, ResolvedSource, BuildVm]:
    run, source, _, vm = deployed(fake, linux_template())
    assert not vm_power.deallocate(vm, ports=fake).done
    poll(vm_power.deallocate, vm, fake)
    assert vm_power.generalize(vm, ports=fake).error is None
    return run, source, vm


def _target(spec: dict[str, Any], index: int = 0) -> DistributeTarget:
    return DistributeTarget(index=index, type=spec["type"], run_output_name=spec["runOutputName"], spec=spec)


def _distribute(
    fake: FakeAzure, run: RunRef, source: ResolvedSource, vm: BuildVm, spec: dict[str, Any]
) -> tuple[DistributeStarted, TargetResult]:
    target = _target(spec)
    inp = DistributeInput(run=run, vm=vm, source=source, target=target)
    started = distribute.start(inp, ports=fake)
    assert started.error is None, started.error
    done = poll(distribute.check, inp.model_copy(update={"started": started}), fake)
    assert done.result is not None
    return started, done.result


def _seed_version(fake: FakeAzure, version: str) -> None:
    vm_id = arm_id(RG, "Microsoft.Compute/virtualMachines", f"seed-{version}")
    fake.cloud.put(vm_id, {"generalized": True})
    spec = ImageVersionSpec(location="westus2", source_vm_id=vm_id)
    fake.galleries.begin_create_version(
        resource_group=RG, gallery=GALLERY, image="ubuntu", version=version, spec=spec
    )


def test_generalize_refuses_nothing_once_the_vm_is_deallocated() -> None:
    fake = world()
    _, _, vm = generalized(fake)

    state = fake.cloud.get(vm.resource_ids[0])
    assert state["power_state"] == "deallocated" and state["generalized"] is True


def test_a_managed_image_is_captured_with_its_artifact_tags_and_marked_as_this_runs_output() -> None:
    fake = world()
    run, source, vm = generalized(fake)
    spec = {
        "type": "ManagedImage",
        "imageId": MANAGED_IMAGE,
        "location": "westus2",
        "runOutputName": "mi",
        "artifactTags": {"release": "1"},
    }

    _, result = _distribute(fake, run, source, vm, spec)

    assert result.succeeded and result.artifact_id == MANAGED_IMAGE
    image = fake.cloud.get(MANAGED_IMAGE)
    # kiln.outputOfRun, never kiln.run: the janitor sweeps kiln.run, and must not sweep a build's output
    provenance = {naming.OUTPUT_RUN_TAG: run.run_id, naming.OUTPUT_TEMPLATE_TAG: run.template_name}
    assert image["tags"] == {"release": "1", **provenance}
    assert image["hyper_v_generation"] == "V2"


def test_latest_versioning_publishes_the_next_patch_within_major() -> None:
    assert gallery.next_latest(["0.1.1", "0.1.2", "1.2.0", "2.1.0"], -1) == "2.1.1"
    assert gallery.next_latest(["0.1.1", "0.1.2", "1.2.0", "2.1.0"], 2) == "2.1.1"
    assert gallery.next_latest(["0.1.1", "0.1.2", "1.2.0", "2.1.0"], 1) == "1.2.1"
    assert gallery.next_latest(["0.1.1", "0.1.2", "1.2.0", "2.1.0"], 0) == "0.1.3"
    assert gallery.next_latest(["1.0.9", "1.0.10"], -1) == "1.0.11"
    assert gallery.next_latest([], -1) == "1.0.0"


def test_a_gallery_target_with_latest_versioning_replicates_to_every_region() -> None:
    fake = world()
    for version in ("1.0.0", "1.0.1"):
        _seed_version(fake, version)
    run, source, vm = generalized(fake)
    spec = {
        "type": "SharedImage",
        "galleryImageId": UBUNTU_DEF,
        "runOutputName": "sig",
        "targetRegions": [{"name": "eastus", "replicaCount": 2, "storageAccountType": "Standard_ZRS"}],
        "excludeFromLatest": True,
        "artifactTags": {"release": "1"},
    }

    started, result = _distribute(fake, run, source, vm, spec)

    assert started.version == "1.0.2"
    assert started.regions == ["westus2", "eastus"]  # the gallery's own region is always a target
    assert result.succeeded and result.regions == {"westus2": "Completed", "eastus": "Completed"}
    stored = fake.cloud.get(result.artifact_id or "")
    assert stored["spec"].exclude_from_latest is True
    assert stored["spec"].target_regions[1].replica_count == 2
    assert stored["spec"].target_regions[1].storage_account_type == "Standard_ZRS"
    assert stored["tags"]["release"] == "1" and naming.RUN_TAG not in stored["tags"]


def test_starting_a_gallery_target_twice_reuses_the_version_it_chose() -> None:
    fake = world()
    run, source, vm = generalized(fake)
    target = _target({"type": "SharedImage", "galleryImageId": UBUNTU_DEF, "runOutputName": "sig"})
    inp = DistributeInput(run=run, vm=vm, source=source, target=target)

    first = distribute.start(inp, ports=fake)
    second = distribute.start(inp, ports=fake)

    assert first == second and first.version == "1.0.0"
    versions = fake.galleries.list_versions(resource_group=RG, gallery=GALLERY, image="ubuntu")
    assert [v.name for v in versions] == ["1.0.0"]


def test_source_versioning_uses_the_source_version_and_explicit_versions_are_kept() -> None:
    fake = world()
    run, source, vm = generalized(fake)
    by_source = {
        "type": "SharedImage",
        "galleryImageId": UBUNTU_DEF,
        "runOutputName": "src",
        "versioning": {"scheme": "Source"},
    }
    explicit = {
        "type": "SharedImage",
        "galleryImageId": f"{UBUNTU_DEF}/versions/3.2.1",
        "runOutputName": "exp",
    }

    a, _ = _distribute(fake, run, source, vm, by_source)
    b, _ = _distribute(fake, run, source, vm, explicit)

    assert a.version == "24.4.202411030"  # 24.04.202411030 as a gallery version
    assert b.version == "3.2.1"


def test_source_versioning_of_a_managed_image_source_fails_clearly() -> None:
    source = ResolvedSource(type="ManagedImage", image_id=MANAGED_IMAGE, vm_size="x")

    assert gallery.from_source(source) is None


def test_a_failed_region_is_reported_and_can_be_retried() -> None:
    fake = world()
    run, source, vm = generalized(fake)
    fake.galleries.failing_regions.add("eastus")
    target = _target(
        {
            "type": "SharedImage",
            "galleryImageId": UBUNTU_DEF,
            "runOutputName": "sig",
            "replicationRegions": ["westus2", "eastus"],
        }
    )
    inp = DistributeInput(run=run, vm=vm, source=source, target=target)
    started = distribute.start(inp, ports=fake)
    probe = inp.model_copy(update={"started": started})

    failed = poll(distribute.check, probe, fake)  # done early: a region failed that was not asked again
    fake.galleries.failing_regions.clear()
    again = probe.model_copy(update={"retry_regions": ["eastus"], "retried": ["eastus"]})
    retried = distribute.retry_regions(again, started, fake)
    healed = poll(distribute.check, probe.model_copy(update={"retried": ["eastus"]}), fake)

    assert {r.region: r.state for r in failed.regions}["eastus"] == "Failed" and not failed.succeeded
    assert failed.error is None or "eastus" in failed.error.message
    assert retried.state == "Replicating"
    assert healed.succeeded and healed.result is not None and healed.result.regions["eastus"] == "Completed"


def test_a_vhd_is_copied_to_the_staging_account_and_disk_access_revoked() -> None:
    fake = world()
    run, source, vm = generalized(fake)
    disk = BuildVmNames.for_run(run.run_id).os_disk
    fake.cloud.blobs[f"https://md-fake.blob.core.windows.net/{disk}/abcd"] = bytearray(b"VHD-BYTES")

    started, result = _distribute(fake, run, source, vm, {"type": "VHD", "runOutputName": "vhd"})

    expected = f"{fake.storage_account_url(vm.storage_account)}/vhds/{naming.vhd_blob(run.run_id, 'vhd')}"
    assert result.succeeded and result.artifact_uri == expected == started.artifact_uri
    assert fake.cloud.blobs[expected] == b"VHD-BYTES"
    assert fake.cloud.get(arm_id(vm.resource_group, "Microsoft.Compute/disks", disk))["access_sas"] is None


def test_a_vhd_goes_to_the_given_uri() -> None:
    fake = world()
    run, source, vm = generalized(fake)
    uri = "https://mine.blob.core.windows.net/images/golden.vhd"

    _, result = _distribute(fake, run, source, vm, {"type": "VHD", "runOutputName": "vhd", "uri": uri})

    disk = BuildVmNames.for_run(run.run_id).os_disk
    assert result.artifact_uri == uri
    assert fake.cloud.blobs[uri] == fake.cloud.blobs[f"https://md-fake.blob.core.windows.net/{disk}/abcd"]


def test_a_failed_vhd_copy_is_a_failed_target_and_access_is_revoked() -> None:
    fake = world()
    run, source, vm = generalized(fake)
    target = _target({"type": "VHD", "runOutputName": "vhd"})
    inp = DistributeInput(run=run, vm=vm, source=source, target=target)
    started = distribute.start(inp, ports=fake)
    account = fake.storage_account_url(vm.storage_account)
    fake.blobs(account_url=account).copies[started.artifact_uri or ""]["source"] = None  # the source vanished
    out = poll(distribute.check, inp.model_copy(update={"started": started}), fake)

    assert not out.succeeded and out.error is not None and out.error.code == "VhdCopyFailed"
    disk = BuildVmNames.for_run(run.run_id).os_disk
    assert fake.cloud.get(arm_id(vm.resource_group, "Microsoft.Compute/disks", disk))["access_sas"] is None


def test_undo_deletes_partial_outputs_but_never_a_version_it_did_not_create() -> None:
    fake = world()
    _seed_version(fake, "9.9.9")
    run, source, vm = generalized(fake)
    spec = {"type": "SharedImage", "galleryImageId": UBUNTU_DEF, "runOutputName": "sig"}
    started, _ = _distribute(fake, run, source, vm, spec)
    foreign = DistributeStarted(artifact_id=f"{UBUNTU_DEF}/versions/9.9.9", version="9.9.9")

    ours = distribute.undo_round(UndoInput(run=run, vm=vm, target=_target(spec), started=started), ports=fake)
    theirs = distribute.undo_round(
        UndoInput(run=run, vm=vm, target=_target(spec), started=foreign), ports=fake
    )
    again = distribute.undo_round(
        UndoInput(run=run, vm=vm, target=_target(spec), started=started), ports=fake
    )

    names = [v.name for v in fake.galleries.list_versions(resource_group=RG, gallery=GALLERY, image="ubuntu")]
    assert ours.done and theirs.done and again.done
    assert names == ["9.9.9"]


def test_undo_of_a_managed_image_deletes_it() -> None:
    fake = world()
    run, source, vm = generalized(fake)
    spec = {"type": "ManagedImage", "imageId": MANAGED_IMAGE, "location": "westus2", "runOutputName": "mi"}
    started, _ = _distribute(fake, run, source, vm, spec)

    out = distribute.undo_round(UndoInput(run=run, vm=vm, target=_target(spec), started=started), ports=fake)

    assert out.done and fake.cloud.find(MANAGED_IMAGE) is None


def test_undo_pushed_before_the_start_finds_this_runs_version_and_image_by_their_tags() -> None:
    fake = world()
    _seed_version(fake, "9.9.9")
    run, source, vm = generalized(fake)
    sig = {"type": "SharedImage", "galleryImageId": UBUNTU_DEF, "runOutputName": "sig"}
    image = {"type": "ManagedImage", "imageId": MANAGED_IMAGE, "location": "westus2", "runOutputName": "mi"}
    _distribute(fake, run, source, vm, sig)
    _distribute(fake, run, source, vm, image)

    out_sig = distribute.undo_round(UndoInput(run=run, vm=vm, target=_target(sig)), ports=fake)
    out_image = distribute.undo_round(UndoInput(run=run, vm=vm, target=_target(image, 1)), ports=fake)

    names = [v.name for v in fake.galleries.list_versions(resource_group=RG, gallery=GALLERY, image="ubuntu")]
    assert out_sig.done and out_image.done
    assert names == ["9.9.9"]
    assert fake.cloud.find(MANAGED_IMAGE) is None


def test_undo_without_a_start_leaves_an_image_another_run_made() -> None:
    fake = world()
    run, source, vm = generalized(fake)
    image = {"type": "ManagedImage", "imageId": MANAGED_IMAGE, "location": "westus2", "runOutputName": "mi"}
    _distribute(fake, run, source, vm, image)
    other = run.model_copy(update={"run_id": run.run_id + "-other"})

    out = distribute.undo_round(UndoInput(run=other, vm=vm, target=_target(image)), ports=fake)

    assert out.done and fake.cloud.find(MANAGED_IMAGE) is not None


class _MayNotDeleteVersions(FakeGalleries):
    """The galleries as a template identity holding AIB's documented image-creation role sees them: it may
    write a version but not delete one (the role has no ``versions/delete``)."""

    def begin_delete_version(self, **kwargs: Any) -> None:
        raise PermanentAzureError(
            "The client may not perform action 'Microsoft.Compute/galleries/images/versions/delete'.",
            code="AuthorizationFailed",
            status=403,
        )


def test_a_partial_version_the_identity_may_not_delete_is_deleted_with_kilns_own_identity() -> None:
    fake = world()
    identity = FakeAzure(fake.cloud)
    identity.galleries = _MayNotDeleteVersions(fake.cloud)
    fake.acting_as = lambda _id: identity  # type: ignore[method-assign]
    run, source, vm = generalized(fake)
    spec = {"type": "SharedImage", "galleryImageId": UBUNTU_DEF, "runOutputName": "sig"}
    started, _ = _distribute(fake, run, source, vm, spec)
    target = _target(spec).model_copy(update={"identity": "/subscriptions/x/identities/id-image-builder"})

    undone = distribute.undo_round(UndoInput(run=run, vm=vm, target=target, started=started), ports=fake)

    assert undone.done, undone.message
    assert fake.galleries.list_versions(resource_group=RG, gallery=GALLERY, image="ubuntu") == []


def test_region_progress_reaches_the_run_document_in_steps_of_ten_percent() -> None:
    def regions(*states: tuple[str, int | None]) -> list[RegionState]:
        return [RegionState(region=f"r{i}", state=s, progress=p) for i, (s, p) in enumerate(states)]

    last = regions(("Replicating", 12), ("Queued", None))
    worth = distribute._worth_reporting

    assert not worth(last, regions(("Replicating", 19), ("Queued", None)))  # a few points: no write
    assert worth(last, regions(("Replicating", 20), ("Queued", None)))  # a boundary crossed
    assert worth(last, regions(("Replicating", 12), ("Replicating", 0)))  # a state changed
    assert worth(last, regions(("Replicating", 12)))  # a region went
    assert worth(regions(("Replicating", 99)), regions(("Replicating", 100)))
    assert worth([], regions(("Queued", None)))
