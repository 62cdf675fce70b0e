"""preflight: every rule, all problems in one error, and the staging plan it hands on."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from activities import preflight, staging_group
from shared.azure.fetcher import HttpsFetcher
from shared.models.azure import ImageVersionSpec
from shared.models.durable import PreflightInput, PreflightOutput
from tests.activities.support import (
    GALLERY,
    IDENTITY,
    RG,
    UBUNTU_DEF,
    VM_IDENTITY,
    WINDOWS_DEF,
    linux_template,
    resolved,
    run_ref,
    world,
)
from tests.fakes import SUBSCRIPTION, FakeAzure, arm_id


def _check(fake: FakeAzure, template: dict[str, Any]) -> PreflightOutput:
    run = run_ref()
    return preflight.run(
        PreflightInput(run=run, template=template, source=resolved(fake, template, run)), ports=fake
    )


def _targets(out: PreflightOutput) -> dict[str, str]:
    assert out.error is not None
    return {d["target"]: d["code"] for d in out.error.details}


def _gallery(image_id: str, name: str = "sig", **extra: Any) -> dict[str, Any]:
    return {"type": "SharedImage", "galleryImageId": image_id, "runOutputName": name, **extra}


def test_a_clean_template_gets_the_default_staging_group_kiln_creates() -> None:
    out = _check(world(), linux_template())

    assert out.error is None and out.staging is not None
    assert out.staging.create is True
    assert out.staging.resource_group == staging_group.default_staging_group(run_ref())
    assert out.staging.resource_group.startswith(f"IT_{RG}_tpl_")


def test_the_default_staging_group_name_is_the_same_for_every_run_of_a_template() -> None:
    assert staging_group.default_staging_group(run_ref(1)) == staging_group.default_staging_group(run_ref(7))
    assert staging_group.default_staging_group(run_ref(1)) != staging_group.default_staging_group(
        run_ref(1, "other")
    )


def test_missing_template_and_vm_identities_are_both_reported() -> None:
    fake = world()
    fake.cloud.resources.pop(IDENTITY.lower())
    fake.cloud.resources.pop(VM_IDENTITY.lower())

    out = _check(fake, linux_template(vmProfile={"userAssignedIdentities": [VM_IDENTITY]}))

    assert _targets(out) == {
        "identity.userAssignedIdentities": "IdentityNotFound",
        "properties.vmProfile.userAssignedIdentities": "IdentityNotFound",
    }
    assert out.error is not None and out.error.code == "PreflightFailed" and out.error.phase == "preflight"


def test_gallery_destinations_must_exist_and_match_the_source() -> None:
    missing = arm_id(RG, "Microsoft.Compute/galleries/images", GALLERY, "nope")
    template = linux_template(distribute=[_gallery(missing, "a"), _gallery(WINDOWS_DEF, "b")])

    out = _check(world(), template)

    codes = [d["code"] for d in out.error.details] if out.error else []
    assert "ImageDefinitionNotFound" in codes
    assert "OsTypeMismatch" in codes
    # The Ubuntu source is TrustedLaunchSupported, the Windows definition is not.
    assert "UnsupportedSecurityType" in codes


def test_a_generation_mismatch_is_reported() -> None:
    fake = world()
    fake.marketplace.add(
        "Contoso", "gen1", "1", ["1.0.0"], "V1", features={"SecurityType": "TrustedLaunchSupported"}
    )
    source = {
        "type": "PlatformImage",
        "publisher": "Contoso",
        "offer": "gen1",
        "sku": "1",
        "version": "latest",
    }

    out = _check(fake, linux_template(source=source, distribute=[_gallery(UBUNTU_DEF)]))

    assert _targets(out) == {"properties.distribute[0].galleryImageId": "HyperVGenerationMismatch"}


def test_an_explicit_gallery_version_that_exists_is_refused() -> None:
    fake = world()
    vm_id = arm_id(RG, "Microsoft.Compute/virtualMachines", "old")
    fake.cloud.put(vm_id, {"generalized": True})
    spec = ImageVersionSpec(location="westus2", source_vm_id=vm_id)
    fake.galleries.begin_create_version(
        resource_group=RG, gallery=GALLERY, image="ubuntu", version="1.0.0", spec=spec
    )

    taken = _check(fake, linux_template(distribute=[_gallery(f"{UBUNTU_DEF}/versions/1.0.0")]))
    free = _check(fake, linux_template(distribute=[_gallery(f"{UBUNTU_DEF}/versions/1.0.1")]))

    assert _targets(taken) == {"properties.distribute[0].galleryImageId": "ImageVersionExists"}
    assert free.error is None


def test_a_managed_image_destination_group_must_exist() -> None:
    image = arm_id("missing-rg", "Microsoft.Compute/images", "x")
    template = linux_template(
        distribute=[{"type": "ManagedImage", "imageId": image, "location": "westus2", "runOutputName": "mi"}]
    )

    assert _targets(_check(world(), template)) == {
        "properties.distribute[0].imageId": "ResourceGroupNotFound"
    }


def test_destinations_in_another_subscription_are_refused() -> None:
    other = (
        "/subscriptions/99999999-9999-9999-9999-999999999999/resourceGroups/rg1/providers/Microsoft.Compute"
    )
    template = linux_template(
        distribute=[
            _gallery(f"{other}/galleries/g/images/ubuntu"),
            {
                "type": "ManagedImage",
                "imageId": f"{other}/images/x",
                "location": "westus2",
                "runOutputName": "mi",
            },
        ]
    )

    assert _targets(_check(world(), template)) == {
        "properties.distribute[0].galleryImageId": "CrossSubscriptionNotSupported",
        "properties.distribute[1].imageId": "CrossSubscriptionNotSupported",
    }


def test_script_uris_must_use_https_unless_they_are_azure_storage_urls() -> None:
    fake = world()
    fake.cloud.blobs["http://acct.blob.core.windows.net/c/b.sh"] = bytearray(b"true")
    template = linux_template(
        customize=[
            {"type": "Shell", "scriptUri": "http://example.com/a.sh"},
            {"type": "Shell", "scriptUri": "http://acct.blob.core.windows.net/c/b.sh"},
            {"type": "File", "sourceUri": "http://example.com/f", "destination": "/tmp/f"},
        ]
    )

    assert _targets(_check(fake, template)) == {
        "properties.customize[0].scriptUri": "InsecureUri",
        "properties.customize[2].sourceUri": "InsecureUri",
    }


def test_scripts_must_be_reachable_and_match_their_checksum_before_anything_is_created() -> None:
    fake = world()
    fake.fetcher.pages["https://example.com/a.sh"] = b"echo a"
    template = linux_template(
        customize=[
            {"type": "Shell", "scriptUri": "https://example.com/a.sh", "sha256Checksum": "0" * 64},
            {"type": "Shell", "scriptUri": "https://example.com/gone.sh"},
        ]
    )

    out = _check(fake, template)

    assert _targets(out) == {
        "properties.customize[0].sha256Checksum": "ChecksumMismatch",
        "properties.customize[1].scriptUri": "ArtifactUnreachable",
    }
    assert not [g for g in fake.cloud.groups if g.startswith("it_")]


def test_linux_file_steps_may_only_write_under_tmp() -> None:
    fake = world()
    fake.fetcher.pages["https://example.com/f"] = b"file"
    template = linux_template(
        customize=[
            {"type": "File", "sourceUri": "https://example.com/f", "destination": "/tmp/ok"},
            {"type": "File", "sourceUri": "https://example.com/f", "destination": "/etc/motd"},
        ],
        validate={
            "inVMValidations": [
                {"type": "File", "sourceUri": "https://example.com/f", "destination": "/opt/x"}
            ]
        },
    )

    assert _targets(_check(fake, template)) == {
        "properties.customize[1].destination": "InvalidDestination",
        "properties.validate.inVMValidations[0].destination": "InvalidDestination",
    }


def _staging_id(name: str) -> str:
    return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{name}"


def test_a_given_missing_staging_group_is_planned_for_creation() -> None:
    out = _check(world(), linux_template(stagingResourceGroup=_staging_id("my-staging")))

    assert out.staging is not None
    assert (out.staging.resource_group, out.staging.create) == ("my-staging", True)


def test_a_given_existing_staging_group_must_be_empty_in_region_and_unused() -> None:
    fake = world()
    fake.resource_groups.create(
        name="busy",
        location="eastus",
        tags={"imageTemplateName": "someone-else", "imageTemplateResourceGroupName": "rg9"},
    )
    fake.cloud.put(arm_id("busy", "Microsoft.Storage/storageAccounts", "theirs"), {"location": "eastus"})

    out = _check(fake, linux_template(stagingResourceGroup=_staging_id("busy")))

    assert out.error is not None
    messages = " ".join(
        d["message"] for d in out.error.details if d["target"] == "properties.stagingResourceGroup"
    )
    assert "eastus" in messages and "someone-else" in messages and "theirs" in messages
    assert len(out.error.details) == 3


def test_a_given_existing_empty_staging_group_is_used_not_created() -> None:
    fake = world()
    fake.resource_groups.create(name="mine", location="westus2", tags={"owner": "me"})

    out = _check(fake, linux_template(stagingResourceGroup=_staging_id("mine")))

    assert out.error is None and out.staging is not None
    assert (out.staging.resource_group, out.staging.create) == ("mine", False)


def test_every_problem_is_reported_in_one_error() -> None:
    fake = world()
    fake.cloud.resources.pop(IDENTITY.lower())
    fake.fetcher.pages["https://example.com/a.sh"] = b"echo a"
    template = linux_template(
        customize=[{"type": "Shell", "scriptUri": "http://example.com/a.sh"}],
        distribute=[_gallery(WINDOWS_DEF)],
    )

    out = _check(fake, template)

    assert out.error is not None
    assert len(out.error.details) >= 4
    assert out.error.message.startswith(f"Preflight found {len(out.error.details)} problem(s)")


# -- the template's identity, the plan's terms, the vCPU quota (issue 12) -------------------------------
def test_the_identitys_missing_permissions_are_each_named_with_action_and_scope() -> None:
    fake = world()
    principal = "principal-" + IDENTITY.rsplit("/", 1)[-1]
    fake.access.restrict(principal)
    definition = UBUNTU_DEF
    template = linux_template(
        distribute=[_gallery(definition)],
        customize=[
            {
                "type": "Shell",
                "name": "from-storage",
                "scriptUri": "https://artifacts.blob.core.windows.net/scripts/setup.sh",
            }
        ],
        vmProfile={"userAssignedIdentities": [VM_IDENTITY]},
    )
    fake.blobs(account_url="https://artifacts.blob.core.windows.net").ensure_container(container="scripts")
    fake.blobs(account_url="https://artifacts.blob.core.windows.net").upload(
        container="scripts", name="setup.sh", data=b"echo hi"
    )

    out = _check(fake, template)
    assert out.error is not None
    found = {
        (d["target"], d["action"], d["scope"])
        for d in out.error.details
        if d["code"] == "AuthorizationFailed"
    }
    assert found == {
        (
            "properties.distribute[0].galleryImageId",
            "Microsoft.Compute/galleries/images/versions/write",
            definition,
        ),
        (
            "properties.customize[0].scriptUri",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
            "storage:artifacts/scripts",
        ),
        (
            "properties.vmProfile.userAssignedIdentities",
            "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action",
            VM_IDENTITY,
        ),
    }
    assert all(IDENTITY in d["message"] for d in out.error.details if d["code"] == "AuthorizationFailed")

    # Granted at the resource group (inherited below), with a wildcard: preflight passes.
    fake.access.grant(
        principal,
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}",
        [
            "Microsoft.Compute/galleries/images/versions/*",
            "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action",
        ],
    )
    fake.access.grant(
        principal,
        "storage:artifacts",
        [],
        ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"],
    )
    assert _check(fake, template).error is None


def test_a_vhd_uri_needs_the_identitys_blob_write_and_storage_artifacts_are_read_as_the_identity() -> None:
    fake = world()
    principal = "principal-" + IDENTITY.rsplit("/", 1)[-1]
    fake.access.restrict(principal)
    vhd = {"type": "VHD", "runOutputName": "disk", "uri": "https://exports.blob.core.windows.net/vhds/a.vhd"}

    out = _check(fake, linux_template(distribute=[vhd]))

    assert out.error is not None
    assert [(d["target"], d["action"], d["scope"]) for d in out.error.details] == [
        (
            "properties.distribute[0].uri",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
            "storage:exports/vhds",
        )
    ]
    assert fake.acted_as == [IDENTITY]  # the artifact reads went through the identity's ports


def test_an_identity_the_function_app_does_not_hold_is_named_before_its_roles() -> None:
    fake = world()
    fake.not_held.add(IDENTITY)

    out = _check(fake, linux_template())

    assert out.error is not None
    assert [(d["code"], d["target"]) for d in out.error.details] == [
        ("IdentityNotHeld", "identity.userAssignedIdentities")
    ]
    assert IDENTITY in out.error.details[0]["message"]
    assert "KILN_TEMPLATE_IDENTITY_IDS" in out.error.details[0]["message"]


def test_unaccepted_marketplace_terms_and_a_full_vcpu_quota_are_reported() -> None:
    fake = world()
    template = linux_template(
        source={
            "type": "PlatformImage",
            "publisher": "Canonical",
            "offer": "ubuntu-24_04-lts",
            "sku": "server",
            "version": "latest",
        }
    )
    run = run_ref()
    source = resolved(fake, template, run).model_copy(
        update={"plan": {"name": "rhel-lvm88", "product": "rhel-byos", "publisher": "redhat"}}
    )
    fake.limits.refused_terms.add("redhat/rhel-byos/rhel-lvm88")
    fake.limits.free_vcpus[run.location] = 1
    out = preflight.run(PreflightInput(run=run, template=template, source=source), ports=fake)
    assert out.error is not None
    by_code = {d["code"]: d for d in out.error.details}
    assert (
        "az vm image terms accept --publisher redhat --offer rhel-byos --plan rhel-lvm88"
        in (by_code["MarketplaceTermsNotAccepted"]["message"])
    )
    quota = by_code["QuotaExceeded"]
    assert quota["target"] == "properties.vmProfile.vmSize"
    assert (
        f"needs 2 vCPUs but only 1 of the regional vCPU quota are free in {run.location}" in quota["message"]
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_script_is_the_templates_problem_named_in_plain_words_after_three_tries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(preflight, "RETRY_SECONDS", 0.0)
    fake = world()
    fake.fetcher = HttpsFetcher(timeout=5, allowed_hosts=["127.0.0.1"])  # type: ignore[assignment]
    refused = f"https://127.0.0.1:{_free_port()}/setup.sh"
    template = linux_template(
        customize=[
            {
                "type": "Shell",
                "name": "tools",
                "scriptUri": "https://kiln-no-such-host.invalid/t.sh?sig=SECRET",
            },
            {"type": "Shell", "name": "setup", "scriptUri": refused},
        ]
    )

    out = _check(fake, template)

    assert out.error is not None and out.error.code == "PreflightFailed"
    messages = {d["target"]: (d["code"], d["message"]) for d in out.error.details}
    assert messages == {
        "properties.customize[0].scriptUri": (
            "ArtifactUnreachable",
            "customize step 0 'tools' could not download "
            "'https://kiln-no-such-host.invalid/t.sh?sig=REDACTED' (3 tries): "
            "could not resolve host 'kiln-no-such-host.invalid'",
        ),
        "properties.customize[1].scriptUri": (
            "ArtifactUnreachable",
            f"customize step 1 'setup' could not download '{refused}' (3 tries): connection refused",
        ),
    }


def test_a_missing_script_is_http_404_at_once() -> None:
    fake = world()
    template = linux_template(customize=[{"type": "Shell", "scriptUri": "https://example.com/gone.sh"}])

    out = _check(fake, template)

    assert out.error is not None
    [detail] = out.error.details
    assert detail["message"] == "customize step 0 could not download 'https://example.com/gone.sh': HTTP 404"
    assert [c for c in fake.cloud.calls if c.startswith("fetcher.fetch")] == [
        "fetcher.fetch https://example.com/gone.sh"
    ]
