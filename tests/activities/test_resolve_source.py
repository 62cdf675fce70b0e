"""resolve_source: exact versions, generation, OS and security type from the image, plans, vmSize defaults."""

from __future__ import annotations

from typing import Any

from activities import resolve_source
from shared.models.azure import ImageVersionSpec
from shared.models.durable import ResolveSourceInput, ResolveSourceOutput
from tests.activities.support import GALLERY, RG, linux_template, run_ref, world
from tests.fakes import FakeAzure, arm_id


def _resolve(fake: FakeAzure, template: dict[str, Any]) -> ResolveSourceOutput:
    return resolve_source.run(ResolveSourceInput(run=run_ref(), template=template), ports=fake)


def test_marketplace_latest_resolves_to_the_highest_version_by_numeric_parts() -> None:
    fake = world()
    fake.marketplace.add("Contoso", "app", "1", ["1.9.0", "1.10.0", "1.2.0"], "V1")
    template = linux_template(
        source={
            "type": "PlatformImage",
            "publisher": "Contoso",
            "offer": "app",
            "sku": "1",
            "version": "latest",
        }
    )

    out = _resolve(fake, template)

    assert out.error is None
    assert out.source is not None
    assert (out.source.version, out.source.exact_version) == ("1.10.0", "1.10.0")
    assert out.source.hyper_v_generation == "V1"
    assert out.source.vm_size == "Standard_D1_v2"


def test_generation_two_source_gets_the_gen2_default_vm_size_and_its_security_type() -> None:
    out = _resolve(world(), linux_template())

    assert out.source is not None
    assert out.source.exact_version == "24.04.202411030"
    assert out.source.vm_size == "Standard_D2ds_v4"
    assert out.source.security_type == "TrustedLaunchSupported"
    assert out.source.os_type == "Linux"


def test_a_given_vm_size_and_os_disk_size_are_kept() -> None:
    out = _resolve(world(), linux_template(vmProfile={"vmSize": "Standard_D4s_v5", "osDiskSizeGB": 64}))

    assert out.source is not None
    assert (out.source.vm_size, out.source.os_disk_size_gb) == ("Standard_D4s_v5", 64)


def test_a_plan_image_without_plan_info_fails_and_says_which_plan_to_set() -> None:
    template = linux_template(
        source={
            "type": "PlatformImage",
            "publisher": "RedHat",
            "offer": "rhel-byos",
            "sku": "rhel-lvm9",
            "version": "latest",
        }
    )

    out = _resolve(world(), template)

    assert out.error is not None
    assert out.error.code == "PlanRequired" and out.error.phase == "resolve"
    assert "rhel-lvm9" in out.error.message


def test_plan_info_must_match_the_image_plan() -> None:
    source = {
        "type": "PlatformImage",
        "publisher": "RedHat",
        "offer": "rhel-byos",
        "sku": "rhel-lvm9",
        "version": "9.4.2024061418",
    }
    good = {
        **source,
        "planInfo": {"planName": "rhel-lvm9", "planProduct": "rhel-byos", "planPublisher": "redhat"},
    }
    bad = {
        **source,
        "planInfo": {"planName": "rhel-lvm8", "planProduct": "rhel-byos", "planPublisher": "redhat"},
    }

    ok = _resolve(world(), linux_template(source=good))
    wrong = _resolve(world(), linux_template(source=bad))

    assert ok.source is not None and ok.source.plan == {
        "name": "rhel-lvm9",
        "product": "rhel-byos",
        "publisher": "redhat",
    }
    assert wrong.error is not None and wrong.error.code == "PlanMismatch"


def test_a_missing_marketplace_image_is_a_phase_error_naming_it() -> None:
    template = linux_template(
        source={"type": "PlatformImage", "publisher": "Nobody", "offer": "x", "sku": "y", "version": "latest"}
    )

    out = _resolve(world(), template)

    assert out.error is not None and out.error.phase == "resolve"
    assert (out.error.code, out.error.target) == ("SourceImageNotFound", "properties.source")
    assert out.error.message.startswith(
        f"The Marketplace image Nobody:x:y:latest was not found in {run_ref().location}: no image Nobody:x:y "
        "(publisher:offer:sku) is offered there"
    )


def test_a_missing_marketplace_version_names_the_image_the_location_and_the_newest_versions() -> None:
    fake = world()
    fake.marketplace.add("Contoso", "app", "1", [f"1.{i}.0" for i in range(8)], "V1")
    template = linux_template(
        source={
            "type": "PlatformImage",
            "publisher": "Contoso",
            "offer": "app",
            "sku": "1",
            "version": "2.0.0",
        }
    )

    out = _resolve(fake, template)

    assert out.error is not None and out.error.code == "SourceImageNotFound"
    assert out.error.message == (
        f"The Marketplace image Contoso:app:1:2.0.0 was not found in {run_ref().location}: version "
        "'2.0.0' does not exist; Contoso:app:1 has 1.7.0, 1.6.0, 1.5.0, 1.4.0, 1.3.0 and 3 older there "
        "(or use 'latest')."
    )


def test_a_trusted_launch_source_is_rejected() -> None:
    fake = world()
    fake.marketplace.add("Contoso", "tl", "1", ["1.0.0"], "V2", features={"SecurityType": "TrustedLaunch"})
    template = linux_template(
        source={
            "type": "PlatformImage",
            "publisher": "Contoso",
            "offer": "tl",
            "sku": "1",
            "version": "latest",
        }
    )

    out = _resolve(fake, template)

    assert out.error is not None and out.error.code == "UnsupportedSecurityType"


def _publish(fake: FakeAzure, image: str, version: str, *, exclude: bool = False) -> None:
    vm_id = arm_id(RG, "Microsoft.Compute/virtualMachines", "seed")
    fake.cloud.put(vm_id, {"generalized": True, "tags": {}})
    spec = ImageVersionSpec(location="westus2", source_vm_id=vm_id, exclude_from_latest=exclude)
    fake.galleries.begin_create_version(
        resource_group=RG, gallery=GALLERY, image=image, version=version, spec=spec
    )
    for _ in range(3):
        fake.galleries.get_version(resource_group=RG, gallery=GALLERY, image=image, version=version)


def test_gallery_latest_is_the_highest_version_not_excluded_from_latest() -> None:
    fake = world()
    for version, exclude in [("1.0.9", False), ("1.0.10", False), ("2.0.0", True)]:
        _publish(fake, "ubuntu", version, exclude=exclude)
    latest = arm_id(RG, "Microsoft.Compute/galleries/images/versions", GALLERY, "ubuntu", "latest")

    out = _resolve(fake, linux_template(source={"type": "SharedImageVersion", "imageVersionId": latest}))

    assert out.source is not None
    assert out.source.version == "1.0.10"
    assert out.source.exact_version == arm_id(
        RG, "Microsoft.Compute/galleries/images/versions", GALLERY, "ubuntu", "1.0.10"
    )
    assert out.source.security_type == "TrustedLaunchSupported"


def test_a_managed_image_source_takes_os_and_generation_from_the_image() -> None:
    fake = world()
    image_id = arm_id(RG, "Microsoft.Compute/images", "base")
    fake.cloud.put(
        image_id,
        {
            "location": "westus2",
            "source_vm_id": None,
            "pending": 0,
            "provisioning_state": "Succeeded",
            "os_type": "Windows",
            "hyper_v_generation": "V2",
        },
    )

    out = _resolve(fake, linux_template(source={"type": "ManagedImage", "imageId": image_id}))

    assert out.source is not None
    assert (out.source.type, out.source.image_id, out.source.os_type) == ("ManagedImage", image_id, "Windows")
    assert out.source.vm_size == "Standard_D2ds_v4"


def test_a_source_in_another_subscription_is_refused() -> None:
    other = "/subscriptions/99999999-9999-9999-9999-999999999999/resourceGroups/rg1"
    other += "/providers/Microsoft.Compute/images/x"

    out = _resolve(world(), linux_template(source={"type": "ManagedImage", "imageId": other}))

    assert out.error is not None and out.error.code == "CrossSubscriptionNotSupported"
    assert out.error.target == "properties.source.imageId"
