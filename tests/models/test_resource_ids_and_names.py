"""The resource-id parser, resource names and the staging resource group name."""

from __future__ import annotations

import pytest

from shared.errors import ValidationFailed
from shared.models import check_resource_name, staging_resource_group_name
from shared.models.resource_ids import (
    GALLERY_IMAGE,
    MANAGED_IMAGE,
    SUBNET,
    ResourceIdError,
    check_gallery_version,
    parse_resource_id,
    parse_typed_id,
)
from tests.models.builders import SUB

RG = f"/subscriptions/{SUB}/resourceGroups/rg-1"


def test_a_subnet_id_parses_into_its_parts_and_parent() -> None:
    rid = parse_typed_id(f"{RG}/providers/Microsoft.Network/virtualNetworks/v/subnets/s", SUBNET)
    assert (rid.subscription, rid.resource_group, rid.provider, rid.name) == (
        SUB,
        "rg-1",
        "Microsoft.Network",
        "s",
    )
    assert str(rid.parent()) == f"{RG}/providers/Microsoft.Network/virtualNetworks/v"


def test_fixed_words_are_case_insensitive_like_arm() -> None:
    rid = parse_typed_id(
        f"/SUBSCRIPTIONS/{SUB}/resourcegroups/rg1/PROVIDERS/microsoft.compute/IMAGES/x", MANAGED_IMAGE
    )
    assert rid.name == "x"


def test_a_resource_group_id_has_no_provider() -> None:
    rid = parse_resource_id(RG)
    assert (rid.resource_group, rid.provider, rid.types) == ("rg-1", None, ())


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("subscriptions/x", "must start with '/subscriptions/'"),
        (f"/subscriptions/{SUB}//resourceGroups/rg", "empty segment"),
        (f"{RG}/providers/Microsoft.Compute/images/x/", "empty segment"),
        ("/subscriptions/not-a-guid/resourceGroups/rg", "is not a GUID"),
        (f"/subscriptions/{SUB}/resourceGroups/bad!rg", "resource group name"),
        (f"/subscriptions/{SUB}/resourceGroups/rg.", "must not end with a period"),
        (f"{RG}/provider/Microsoft.Compute/images/x", "expected 'providers'"),
        (f"{RG}/providers/Compute/images/x", "namespace"),
        (f"{RG}/providers/Microsoft.Compute/images", "type/name pairs"),
        (f"{RG}/providers/Microsoft.Network/virtualNetworks/v/subnets/s}}", "contains the character(s) }"),
    ],
)
def test_malformed_ids_are_rejected_with_the_reason(value: str, fragment: str) -> None:
    with pytest.raises(ResourceIdError, match=None) as err:
        parse_resource_id(value)
    assert fragment in str(err.value)


@pytest.mark.parametrize(
    ("value", "kind", "fragment"),
    [
        (f"{RG}/providers/Microsoft.Compute/gallery/g/images/i", GALLERY_IMAGE, "expected 'galleries'"),
        (f"{RG}/providers/Microsoft.Compute/images/i", GALLERY_IMAGE, "expected 'galleries'"),
        (f"{RG}/providers/Microsoft.Compute/galleries/g", GALLERY_IMAGE, "the end of the id"),
        (f"{RG}/providers/Microsoft.Network/virtualNetworks/v", SUBNET, "the end of the id"),
        (f"{RG}/providers/Microsoft.Compute/images/i", SUBNET, "expected provider 'Microsoft.Network'"),
        (f"{RG}/providers/Microsoft.Compute/images/i/extra/x", MANAGED_IMAGE, "unexpected segments"),
        (f"/subscriptions/{SUB}/providers/Microsoft.Compute/images/i", MANAGED_IMAGE, "must look like"),
    ],
)
def test_an_id_of_the_wrong_kind_names_the_expected_segment(value: str, kind: object, fragment: str) -> None:
    with pytest.raises(ResourceIdError) as err:
        parse_typed_id(value, kind)  # type: ignore[arg-type]
    assert fragment in str(err.value)


@pytest.mark.parametrize(
    ("version", "latest", "ok"),
    [
        ("1.0.0", False, True),
        ("latest", True, True),
        ("latest", False, False),
        ("1.0", False, False),
        ("1.0.2147483648", False, False),
        ("01.2.3", False, True),
    ],
)
def test_gallery_versions_are_major_minor_patch(version: str, latest: bool, ok: bool) -> None:
    assert (check_gallery_version(version, allow_latest=latest) is None) is ok


@pytest.mark.parametrize("name", ["t", "my-template_1.0", "A" * 64])
def test_valid_resource_names_pass(name: str) -> None:
    assert check_resource_name(name, "imageTemplateName") == name


@pytest.mark.parametrize("name", ["", "A" * 65, "has space", "slash/name", "ünïcode"])
def test_invalid_resource_names_raise_one_detail_at_the_given_target(name: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        check_resource_name(name, "triggerName")
    assert [(d.code, d.target) for d in err.value.details] == [("InvalidResourceName", "triggerName")]


GUID = "dec33089-1cc3-4505-ae28-6661e43fac48"


def test_staging_group_name_is_aibs_shape_when_it_fits() -> None:
    assert staging_resource_group_name("aibImageRG200", "window2019VnetTemplate01", GUID) == (
        f"IT_aibImageRG200_window2019VnetTemplate01_{GUID}"
    )


@pytest.mark.parametrize(
    ("rg_len", "template_len", "kept"),
    [(80, 10, (39, 10)), (90, 64, (24, 25)), (10, 64, (10, 39)), (30, 30, (24, 25)), (30, 19, (30, 19))],
)
def test_staging_group_name_is_truncated_to_90_characters_deterministically(
    rg_len: int, template_len: int, kept: tuple[int, int]
) -> None:
    rg, template = "r" * rg_len, "t" * template_len
    name = staging_resource_group_name(rg, template, GUID)
    assert len(name) <= 90
    assert name == f"IT_{'r' * kept[0]}_{'t' * kept[1]}_{GUID}"
    assert staging_resource_group_name(rg, template, GUID) == name
