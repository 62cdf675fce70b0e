"""The official REST examples of 2025-10-01 (fixtures): what they get, and that they validate once fixed."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from shared.models import (
    ImageTemplate,
    template_to_wire,
    validate_template,
    validate_template_update,
    validate_trigger,
)
from tests.models.builders import SUB
from tests.models.helpers import problems
from tests.support.fixtures import aib_fixtures

REST_SPECS = "Azure_azure-rest-api-specs"
PREFIX = (
    "specification__imagebuilder__resource-manager__Microsoft.VirtualMachineImages__ImageBuilder__"
    "stable__2025-10-01__examples__"
)


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((aib_fixtures(REST_SPECS) / f"{PREFIX}{name}.json").read_text())
    return data


def filled(body: Any) -> Any:
    """The example with its documented placeholders and typos replaced by real values."""
    text = json.dumps(body).replace("{subscription-id}", SUB).replace('"1_location"', '"westus"')
    text = text.replace("/Microsoft.Compute/gallery/", "/Microsoft.Compute/galleries/")
    return json.loads(text)


@pytest.mark.parametrize("name", ["CreateImageTemplateLinux", "CreateImageTemplateWindows"])
def test_create_examples_get_exactly_their_placeholders_and_the_bad_location_reported(name: str) -> None:
    body = example(name)["parameters"]["parameters"]
    assert problems(body) == [
        ("UnresolvedPlaceholder", "properties.distribute[0].imageId"),
        ("InvalidValue", "properties.distribute[0].location"),
        ("UnresolvedPlaceholder", "properties.vmProfile.vnetConfig.subnetId"),
    ]


@pytest.mark.parametrize("name", ["CreateImageTemplateLinux", "CreateImageTemplateWindows"])
def test_create_examples_validate_once_filled_in_and_match_the_documented_response(name: str) -> None:
    data = example(name)
    t = validate_template(
        filled(data["parameters"]["parameters"]), name=data["parameters"]["imageTemplateName"]
    )
    response = filled(data["responses"]["201"]["body"])
    # The documented response omits the tags it was sent; everything else reads back the same.
    from_response = validate_template(response)
    assert (from_response.properties, from_response.identity) == (t.properties, t.identity)
    wire = template_to_wire(t)
    assert ImageTemplate.model_validate(wire) == t
    assert wire["location"] == response["location"]
    assert wire["properties"]["source"] == response["properties"]["source"]


def test_get_and_list_examples_validate_once_filled_in() -> None:
    bodies = [example("GetImageTemplate")["responses"]["200"]["body"]]
    bodies += example("ListImageTemplatesByRg")["responses"]["200"]["body"]["value"]
    for body in bodies:
        assert problems(filled(body)) == []


def test_the_list_example_gallery_typo_is_rejected() -> None:
    body = example("ListImageTemplatesByRg")["responses"]["200"]["body"]["value"][1]
    body = json.loads(json.dumps(body).replace("{subscription-id}", SUB).replace('"1_location"', '"westus"'))
    assert problems(body) == [("InvalidResourceId", "properties.distribute[1].galleryImageId")]


def test_trigger_example_validates() -> None:
    data = example("CreateSourceImageTrigger")
    assert validate_trigger(data["parameters"]["parameters"]).properties.kind == "SourceImage"
    assert validate_trigger(data["responses"]["201"]["body"]).properties.status is None


def test_vm_profile_update_example_reports_its_placeholders_then_validates_when_filled() -> None:
    body = example("UpdateImageTemplateVmProfile")["parameters"]["parameters"]
    fixed = json.loads(
        re.sub(r"\{updated_vmsize\}", "Standard_D4s_v5", json.dumps(filled(body))).replace(
            "{updated_aci_subnet}",
            f"/subscriptions/{SUB}/resourceGroups/myResourceGroup/providers/"
            "Microsoft.Network/virtualNetworks/vnetname/subnets/build",
        )
    )
    update = validate_template_update(fixed)
    assert update.properties is not None and update.properties.vmProfile is not None
    assert update.properties.vmProfile.osDiskSizeGB == 127
