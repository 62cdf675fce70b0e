"""Contract §1–§3 and §9 rules (envelope, identity, source, customizers): a valid and an invalid case each."""

from __future__ import annotations

import pytest

from tests.models.builders import (
    GALLERY_IMAGE,
    IDENTITY,
    MANAGED_IMAGE,
    RG,
    full_template,
    minimal_template,
)
from tests.models.helpers import Mutation, assert_rule, messages, mutated, problems
from tests.models.mutations import DIRECT_SHARED, MI, SIG, customize, distribute, drop, set_in

# (rule, valid mutation, invalid mutation, expected (code, target) of the invalid one)
RULES: list[tuple[str, Mutation, Mutation, tuple[str, str]]] = [
    (
        "location required",
        set_in("location", value="eastus"),
        drop("location"),
        ("RequiredField", "location"),
    ),
    (
        "location is an AIB region",
        set_in("location", value="Sweden Central"),
        set_in("location", value="brazilsoutheast"),
        ("UnsupportedRegion", "location"),
    ),
    ("identity required", set_in("tags", value={}), drop("identity"), ("RequiredField", "identity")),
    (
        "identity type enum",
        set_in("identity", "type", value="UserAssigned"),
        set_in("identity", "type", value="SystemAssigned"),
        ("InvalidValue", "identity.type"),
    ),
    (
        "single identity",
        set_in("identity", "userAssignedIdentities", value={IDENTITY: {}}),
        set_in("identity", "userAssignedIdentities", value={IDENTITY: {}, IDENTITY + "2": {}}),
        ("InvalidValue", "identity.userAssignedIdentities"),
    ),
    (
        "template identity is not None",
        set_in("identity", "type", value="UserAssigned"),
        set_in("identity", value={"type": "None"}),
        ("InvalidValue", "identity.type"),
    ),
    (
        "identity key is an identity id",
        set_in("tags", value={}),
        set_in(
            "identity", "userAssignedIdentities", value={f"{RG}/providers/Microsoft.Compute/images/x": {}}
        ),
        (
            "InvalidResourceId",
            f"identity.userAssignedIdentities['{RG}/providers/Microsoft.Compute/images/x']",
        ),
    ),
    (
        "source required",
        set_in("tags", value={}),
        drop("properties", "source"),
        ("RequiredField", "properties.source"),
    ),
    (
        "source type required",
        set_in("properties", "source", "type", value="PlatformImage"),
        drop("properties", "source", "type"),
        ("RequiredField", "properties.source.type"),
    ),
    (
        "source type known",
        set_in("properties", "source", "type", value="PlatformImage"),
        set_in("properties", "source", "type", value="Marketplace"),
        ("InvalidValue", "properties.source.type"),
    ),
    (
        "platform image needs a version",
        set_in("properties", "source", "version", value="22.04.202401010"),
        drop("properties", "source", "version"),
        ("RequiredField", "properties.source.version"),
    ),
    (
        "planInfo parts required",
        set_in(
            "properties",
            "source",
            "planInfo",
            value={"planName": "n", "planProduct": "p", "planPublisher": "q"},
        ),
        set_in("properties", "source", "planInfo", value={"planName": "n", "planProduct": "p"}),
        ("RequiredField", "properties.source.planInfo.planPublisher"),
    ),
    (
        "managed image source id",
        set_in("properties", "source", value={"type": "ManagedImage", "imageId": MANAGED_IMAGE}),
        set_in(
            "properties",
            "source",
            value={"type": "ManagedImage", "imageId": f"{RG}/providers/Microsoft.Compute/disks/d"},
        ),
        ("InvalidResourceId", "properties.source.imageId"),
    ),
    (
        "managed image source needs imageId",
        set_in("properties", "source", value={"type": "ManagedImage", "imageId": MANAGED_IMAGE}),
        set_in("properties", "source", value={"type": "ManagedImage"}),
        ("RequiredField", "properties.source.imageId"),
    ),
    (
        "gallery version source allows latest",
        set_in(
            "properties",
            "source",
            value={"type": "SharedImageVersion", "imageVersionId": GALLERY_IMAGE + "/versions/latest"},
        ),
        set_in(
            "properties",
            "source",
            value={"type": "SharedImageVersion", "imageVersionId": GALLERY_IMAGE + "/versions/newest"},
        ),
        ("InvalidResourceId", "properties.source.imageVersionId"),
    ),
    (
        "gallery version source needs a version",
        set_in(
            "properties",
            "source",
            value={"type": "SharedImageVersion", "imageVersionId": GALLERY_IMAGE + "/versions/1.0.0"},
        ),
        set_in("properties", "source", value={"type": "SharedImageVersion", "imageVersionId": GALLERY_IMAGE}),
        ("InvalidResourceId", "properties.source.imageVersionId"),
    ),
    (
        "direct shared gallery source",
        set_in(
            "properties",
            "source",
            value={
                "type": "SharedImageVersion",
                "imageVersionId": DIRECT_SHARED + "/versions/1.0.0",
            },
        ),
        set_in(
            "properties",
            "source",
            value={
                "type": "SharedImageVersion",
                "imageVersionId": DIRECT_SHARED,
            },
        ),
        ("InvalidResourceId", "properties.source.imageVersionId"),
    ),
    (
        "scriptUri xor inline (both)",
        customize({"type": "Shell", "inline": ["ls"]}),
        customize({"type": "Shell", "inline": ["ls"], "scriptUri": "https://x/y.sh"}),
        ("MutuallyExclusive", "properties.customize[0].inline"),
    ),
    (
        "scriptUri xor inline (neither)",
        customize({"type": "PowerShell", "scriptUri": "https://x/y.ps1"}),
        customize({"type": "PowerShell"}),
        ("RequiredField", "properties.customize[0]"),
    ),
    (
        "runAsSystem needs runElevated",
        customize({"type": "PowerShell", "inline": ["x"], "runElevated": True, "runAsSystem": True}),
        customize({"type": "PowerShell", "inline": ["x"], "runAsSystem": True}),
        ("MutuallyExclusive", "properties.customize[0].runAsSystem"),
    ),
    (
        "File needs a destination",
        customize({"type": "File", "sourceUri": "https://x/f", "destination": "/tmp/f"}),
        customize({"type": "File", "sourceUri": "https://x/f"}),
        ("RequiredField", "properties.customize[0].destination"),
    ),
    (
        "scriptUri is a URI",
        customize({"type": "Shell", "scriptUri": "https://x/y.sh"}),
        customize({"type": "Shell", "scriptUri": "y.sh"}),
        ("InvalidValue", "properties.customize[0].scriptUri"),
    ),
    (
        "scriptUri uses https",
        customize({"type": "Shell", "scriptUri": "http://acct.blob.core.windows.net/c/y.sh"}),
        customize({"type": "Shell", "scriptUri": "http://example.com/y.sh"}),
        ("InsecureUri", "properties.customize[0].scriptUri"),
    ),
    (
        "a File's sourceUri uses https",
        customize({"type": "File", "sourceUri": "https://example.com/f", "destination": "/tmp/f"}),
        customize({"type": "File", "sourceUri": "HTTP://example.com/f", "destination": "/tmp/f"}),
        ("InsecureUri", "properties.customize[0].sourceUri"),
    ),
    (
        "a validator's scriptUri uses https",
        set_in(
            "properties",
            "validate",
            value={"inVMValidations": [{"type": "Shell", "scriptUri": "https://x/v.sh"}]},
        ),
        set_in(
            "properties",
            "validate",
            value={"inVMValidations": [{"type": "Shell", "scriptUri": "http://x/v.sh"}]},
        ),
        ("InsecureUri", "properties.validate.inVMValidations[0].scriptUri"),
    ),
    (
        "sha256 is hex",
        customize({"type": "Shell", "scriptUri": "https://x/y.sh", "sha256Checksum": "0f" * 32}),
        customize({"type": "Shell", "scriptUri": "https://x/y.sh", "sha256Checksum": "abc"}),
        ("InvalidValue", "properties.customize[0].sha256Checksum"),
    ),
    (
        "restartTimeout is a duration",
        customize({"type": "WindowsRestart", "restartTimeout": "1h30m"}),
        customize({"type": "WindowsRestart", "restartTimeout": "5 minutes"}),
        ("InvalidValue", "properties.customize[0].restartTimeout"),
    ),
    (
        "updateLimit >= 0",
        customize({"type": "WindowsUpdate", "updateLimit": 0}),
        customize({"type": "WindowsUpdate", "updateLimit": -1}),
        ("OutOfRange", "properties.customize[0].updateLimit"),
    ),
    (
        "validExitCodes are integers",
        customize({"type": "PowerShell", "inline": ["x"], "validExitCodes": [0, 1]}),
        customize({"type": "PowerShell", "inline": ["x"], "validExitCodes": ["0"]}),
        ("InvalidType", "properties.customize[0].validExitCodes[0]"),
    ),
    (
        "customizer type known",
        customize({"type": "WindowsUpdate"}),
        customize({"type": "Ansible"}),
        ("InvalidValue", "properties.customize[0].type"),
    ),
    (
        "validator types are Shell/PowerShell/File",
        set_in("properties", "validate", value={"inVMValidations": [{"type": "Shell", "inline": ["true"]}]}),
        set_in("properties", "validate", value={"inVMValidations": [{"type": "WindowsRestart"}]}),
        ("InvalidValue", "properties.validate.inVMValidations[0].type"),
    ),
    (
        "validators follow scriptUri xor inline",
        set_in(
            "properties",
            "validate",
            value={"inVMValidations": [{"type": "Shell", "scriptUri": "https://x/v.sh"}]},
        ),
        set_in("properties", "validate", value={"inVMValidations": [{"type": "Shell"}]}),
        ("RequiredField", "properties.validate.inVMValidations[0]"),
    ),
]


@pytest.mark.parametrize(("rule", "valid", "invalid", "expected"), RULES, ids=[r[0] for r in RULES])
def test_rule_accepts_the_valid_case_and_reports_the_invalid_one(
    rule: str, valid: Mutation, invalid: Mutation, expected: tuple[str, str]
) -> None:
    assert_rule(valid, invalid, expected)


def test_case_mismatch_in_a_field_name_suggests_the_right_spelling() -> None:
    body = mutated(minimal_template(), set_in("properties", "vmprofile", value={}))
    assert "use 'vmProfile'" in messages(body)["properties.vmprofile"]


def test_typo_in_a_field_name_suggests_the_closest_field() -> None:
    body = minimal_template()
    body["properties"]["distribute"][0]["aritfactTags"] = {}
    assert "did you mean 'artifactTags'" in messages(body)["properties.distribute[0].aritfactTags"]


def test_case_mismatch_in_an_enum_value_names_the_right_value() -> None:
    body = mutated(
        minimal_template(), set_in("properties", "errorHandling", value={"onCustomizerError": "Abort"})
    )
    assert "use 'abort'" in messages(body)["properties.errorHandling.onCustomizerError"]


def test_the_gallery_typo_of_the_official_example_is_explained() -> None:
    body = mutated(
        minimal_template(),
        distribute({**SIG, "galleryImageId": GALLERY_IMAGE.replace("galleries", "gallery")}),
    )
    message = messages(body)["properties.distribute[0].galleryImageId"]
    assert "expected 'galleries'" in message and "found 'gallery'" in message


def test_five_distinct_problems_give_five_details_with_their_targets() -> None:
    body = full_template()
    body["location"] = "mars"
    body["properties"]["customize"][0]["scriptUri"] = "https://example.com/x.sh"
    body["properties"]["customize"][2]["runElevated"] = False
    body["properties"]["distribute"][1]["runOutputName"] = "mi"
    body["properties"]["vmProfile"]["osDiskSizeGB"] = "big"
    assert sorted(problems(body)) == sorted(
        [
            ("UnsupportedRegion", "location"),
            ("MutuallyExclusive", "properties.customize[0].inline"),
            ("MutuallyExclusive", "properties.customize[2].runAsSystem"),
            ("InvalidValue", "properties.distribute[1].runOutputName"),
            ("InvalidType", "properties.vmProfile.osDiskSizeGB"),
        ]
    )


def test_the_full_template_is_valid() -> None:
    assert problems(full_template()) == []


def test_a_template_needs_at_least_one_distribution_target() -> None:
    assert problems(mutated(minimal_template(), distribute())) == [("InvalidValue", "properties.distribute")]


def test_a_field_of_another_distributor_type_is_unknown_without_a_bogus_case_hint() -> None:
    body = mutated(minimal_template(), distribute({**MI, "versioning": {"scheme": "Latest"}}))
    assert problems(body) == [("UnknownField", "properties.distribute[0].versioning")]
    assert "case-sensitive" not in messages(body)["properties.distribute[0].versioning"]


def test_legacy_lower_case_versioning_scheme_names_the_current_value() -> None:
    body = mutated(minimal_template(), distribute({**SIG, "versioning": {"scheme": "latest"}}))
    assert problems(body) == [("LegacyField", "properties.distribute[0].versioning.scheme")]
    assert "'Latest'" in messages(body)["properties.distribute[0].versioning.scheme"]


def test_null_counts_as_missing_for_a_required_platform_image_field() -> None:
    body = mutated(minimal_template(), set_in("properties", "source", "sku", value=None))
    assert problems(body) == [("RequiredField", "properties.source.sku")]
