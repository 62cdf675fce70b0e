"""Trigger compatibility of a template, and the security-type rules the build applies."""

from __future__ import annotations

from typing import Any

import pytest

from shared.models import security_type_problems, source_trigger_problems, validate_template
from tests.models.builders import GALLERY_IMAGE, RG, minimal_template

OTHER_DEF = f"{RG}/providers/Microsoft.Compute/galleries/gallery1/images/other"


def template_with(source: dict[str, Any], *targets: dict[str, Any]) -> Any:
    body = minimal_template()
    body["properties"]["source"] = source
    body["properties"]["distribute"] += list(targets)
    return validate_template(body)


def sig(gallery_image_id: str) -> dict[str, Any]:
    return {"type": "SharedImage", "galleryImageId": gallery_image_id, "runOutputName": "sig"}


def test_a_latest_platform_image_template_can_have_a_trigger() -> None:
    assert (
        source_trigger_problems(template_with(minimal_template()["properties"]["source"], sig(OTHER_DEF)))
        == []
    )


@pytest.mark.parametrize(
    ("source", "targets", "target"),
    [
        (
            {"type": "PlatformImage", "publisher": "p", "offer": "o", "sku": "s", "version": "1.0.0"},
            [],
            "properties.source.version",
        ),
        (
            {"type": "SharedImageVersion", "imageVersionId": GALLERY_IMAGE + "/versions/1.0.0"},
            [],
            "properties.source.imageVersionId",
        ),
        (
            {"type": "ManagedImage", "imageId": f"{RG}/providers/Microsoft.Compute/images/x"},
            [],
            "properties.source.type",
        ),
        (
            {"type": "SharedImageVersion", "imageVersionId": GALLERY_IMAGE + "/versions/latest"},
            [sig(GALLERY_IMAGE)],
            "properties.distribute[1].galleryImageId",
        ),
        (
            {"type": "SharedImageVersion", "imageVersionId": GALLERY_IMAGE + "/versions/latest"},
            [sig(OTHER_DEF + "/versions/1.0.0")],
            "properties.distribute[1].galleryImageId",
        ),
    ],
)
def test_templates_that_cannot_have_a_source_image_trigger_say_why(
    source: dict[str, Any], targets: list[dict[str, Any]], target: str
) -> None:
    assert [d.target for d in source_trigger_problems(template_with(source, *targets))] == [target]


@pytest.mark.parametrize(
    ("source", "targets", "ok"),
    [
        (None, {"sig": None}, True),
        ("TrustedLaunchSupported", {"sig": "TrustedLaunchSupported"}, True),
        ("ConfidentialVMSupported", {"sig": "ConfidentialVMSupported"}, True),
        ("TrustedLaunch", {}, False),
        ("ConfidentialVM", {}, False),
        ("TrustedLaunchSupported", {"sig": None}, False),
        (None, {"sig": "TrustedLaunchSupported"}, False),
    ],
)
def test_security_types_follow_the_documented_source_and_target_rules(
    source: str | None, targets: dict[str, str | None], ok: bool
) -> None:
    found = security_type_problems(source, targets)
    assert (found == []) is ok
    assert all(d.code == "UnsupportedSecurityType" for d in found)
