"""The exact words of common problems: the CLI and the REST API show them, so they are pinned here."""

from __future__ import annotations

from shared.errors import ValidationFailed
from shared.models import validate_template
from tests.models.builders import GALLERY_IMAGE, SUB, minimal_template

REPLACE = "replace it with the real value"
LEGACY_TYPE = (
    "'platformImage' is the old spelling; use 'PlatformImage' "
    "(type values are case-sensitive since api-version 2020-02-14)"
)
GALLERY_TYPO = (
    "is not a valid gallery image definition resource id: expected 'galleries' after 'Microsoft.Compute' but "
    "found 'gallery'; a gallery image definition id looks like "
    "/subscriptions/{subscriptionId}/resourceGroups/{rg}/providers/Microsoft.Compute/galleries/{gallery}/images/{image}"
)


def test_common_problems_read_exactly_like_this_in_document_order() -> None:
    body = minimal_template()
    body["location"] = "<region>"
    body["properties"]["source"]["type"] = "platformImage"
    body["properties"]["customize"] = [
        {"type": "Shell", "scriptUri": "https://example.com/a.sh", "inline": ["ls"]},
        {"type": "Ansible"},
    ]
    body["properties"]["distribute"].append(
        {
            "type": "SharedImage",
            "galleryImageId": GALLERY_IMAGE.replace("galleries", "gallery"),
            "runOutputName": "MI",
        }
    )
    body["properties"]["buildTimeoutInMinutes"] = 3
    body["properties"]["vmprofile"] = {}
    body["properties"]["errorHandling"] = {"onCustomizerError": "Abort"}
    try:
        validate_template(body)
    except ValidationFailed as err:
        got = [(d.code, d.target, d.message) for d in err.details]
    else:
        raise AssertionError("the body is invalid")
    bad_gallery = GALLERY_IMAGE.replace("galleries", "gallery")
    assert got == [
        (
            "UnresolvedPlaceholder",
            "location",
            "'<region>' contains the unresolved placeholder '<region>'; " + REPLACE,
        ),
        ("LegacyField", "properties.source.type", LEGACY_TYPE),
        ("InvalidResourceId", "properties.distribute[1].galleryImageId", f"'{bad_gallery}' " + GALLERY_TYPO),
        (
            "InvalidValue",
            "properties.distribute[1].runOutputName",
            "runOutputName 'MI' is already used by properties.distribute[0]",
        ),
        (
            "MutuallyExclusive",
            "properties.customize[0].inline",
            "give either 'scriptUri' or 'inline', not both",
        ),
        (
            "InvalidValue",
            "properties.customize[1].type",
            "'Ansible' is not a valid type; expected one of Shell, "
            "PowerShell, File, WindowsRestart, WindowsUpdate (case-sensitive)",
        ),
        (
            "OutOfRange",
            "properties.buildTimeoutInMinutes",
            "must be between 6 and 960 minutes (0 or omitted means 240); got 3",
        ),
        (
            "UnknownField",
            "properties.vmprofile",
            "'vmprofile' is not a field of properties; field names are case-sensitive: use 'vmProfile'",
        ),
        (
            "InvalidValue",
            "properties.errorHandling.onCustomizerError",
            "must be one of 'cleanup' or 'abort' (case-sensitive); got 'Abort'; use 'abort'",
        ),
    ]
    assert SUB in bad_gallery


def test_the_envelope_message_lists_every_problem_and_points_to_the_reference() -> None:
    body = minimal_template()
    body["location"] = "mars"
    body["properties"]["buildTimeoutInMinutes"] = 1000
    try:
        validate_template(body)
    except ValidationFailed as err:
        arm = err.to_arm()["error"]
    assert arm["code"] == "ValidationFailed"
    assert arm["message"].startswith(
        "Validation failed with 2 problem(s): 'location': 'mars' is not a region"
    )
    assert arm["message"].endswith(
        "Please review http://aka.ms/azvmimagebuildertmplref for details on fields requirements in the "
        "Image Builder Template."
    )
    assert [d["target"] for d in arm["details"]] == ["location", "properties.buildTimeoutInMinutes"]
