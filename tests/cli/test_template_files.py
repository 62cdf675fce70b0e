"""Finding templates in their wrappers and reading template files (no validator involved)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cli.template_files import TemplateFileError, find_templates, parse_template_text, read_template_file
from tests.cli.template_docs import TEMPLATE_TYPE, body, deployment


def test_a_raw_resource_body_is_one_template_at_the_root() -> None:
    [found] = find_templates(body())
    assert (found.kind, found.path, found.wrapper, found.api_version) == (
        "template",
        "",
        "resource",
        "2025-10-01",
    )
    assert found.body == body()
    assert found.problems == []


def test_a_deployment_template_yields_each_image_template_with_its_own_path() -> None:
    doc = deployment(
        [
            {
                "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
                "apiVersion": "2018-11-30",
                "name": "id",
            },
            {
                "type": TEMPLATE_TYPE,
                "apiVersion": "2024-02-01",
                "name": "first",
                "dependsOn": ["x"],
                **body(),
            },
            {"type": TEMPLATE_TYPE.lower(), "apiVersion": "2022-07-01", "name": "second", **body("westus")},
        ]
    )
    first, second = find_templates(doc)
    assert (first.path, first.name, first.api_version) == ("resources[1]", "first", "2024-02-01")
    assert (second.path, second.name, second.api_version) == ("resources[2]", "second", "2022-07-01")
    assert first.body == body() and second.body["location"] == "westus"
    assert first.wrapper == "deploymentTemplate" and first.problems == []


def test_nested_resources_and_nested_deployments_are_searched() -> None:
    inner = deployment([{"type": TEMPLATE_TYPE, "apiVersion": "2025-10-01", "name": "inner", **body()}])
    doc = deployment(
        [
            {
                "type": TEMPLATE_TYPE,
                "apiVersion": "2025-10-01",
                "name": "parent",
                **body(),
                "resources": [
                    {
                        "type": "triggers",
                        "apiVersion": "2025-10-01",
                        "name": "source",
                        "properties": {"kind": "SourceImage"},
                    }
                ],
            },
            {"type": "Microsoft.Resources/deployments", "name": "nested", "properties": {"template": inner}},
        ]
    )
    found = find_templates(doc)
    assert [(f.kind, f.path) for f in found] == [
        ("template", "resources[0]"),
        ("trigger", "resources[0].resources[0]"),
        ("template", "resources[1].properties.template.resources[0]"),
    ]
    assert "resources" not in found[0].body
    assert found[1].body == {"properties": {"kind": "SourceImage"}}


def test_a_deployment_template_without_an_image_template_names_what_it_holds() -> None:
    doc = deployment([{"type": "Microsoft.Compute/galleries", "apiVersion": "2022-03-03", "name": "g"}])
    with pytest.raises(TemplateFileError) as caught:
        find_templates(doc)
    assert caught.value.code == "NoTemplateFound"
    assert "Microsoft.Compute/galleries" in caught.value.message


def test_the_legacy_provider_only_type_and_deployment_fields_in_a_raw_body_are_precise_errors() -> None:
    raw = {
        "type": "Microsoft.VirtualMachineImages",
        "apiVersion": "2019-05-01-preview",
        "dependsOn": [],
        **body(),
    }
    [found] = find_templates(raw)
    assert [(p.code, p.target) for p in found.problems] == [
        ("LegacyField", "type"),
        ("LegacyField", "apiVersion"),
        ("UnknownField", "dependsOn"),
    ]
    assert "Microsoft.VirtualMachineImages/imageTemplates" in found.problems[0].message
    assert found.body == body()
    assert "2019-05-01-preview" in found.notes[0]


def test_the_legacy_type_inside_a_deployment_template_is_found_and_reported() -> None:
    doc = deployment(
        [{"type": "Microsoft.VirtualMachineImages", "apiVersion": "2019-05-01-preview", **body()}]
    )
    [found] = find_templates(doc)
    assert [(p.code, p.target) for p in found.problems] == [("LegacyField", "type")]


def rest_example(request: dict[str, Any] | None, responses: dict[str, Any], **params: Any) -> dict[str, Any]:
    parameters = {"api-version": "2025-10-01", "imageTemplateName": "myImageTemplate", **params}
    if request is not None:
        parameters["parameters"] = request
    return {"parameters": parameters, "responses": responses}


def test_a_rest_example_yields_its_request_body() -> None:
    [found] = find_templates(
        rest_example(body(), {"200": {"body": {"type": TEMPLATE_TYPE, **body("westus")}}})
    )
    assert (found.kind, found.path, found.wrapper, found.name) == (
        "template",
        "parameters.parameters",
        "restExample",
        "myImageTemplate",
    )
    assert found.body == body()


def test_a_list_example_yields_every_template_in_its_responses() -> None:
    items = [{"type": TEMPLATE_TYPE, "name": f"t{i}", **body()} for i in range(2)]
    found = find_templates(rest_example(None, {"200": {"body": {"value": items, "nextLink": "x"}}}))
    assert [(f.path, f.name) for f in found] == [
        ("responses.200.body.value[0]", "t0"),
        ("responses.200.body.value[1]", "t1"),
    ]


def test_a_run_outputs_example_holds_no_template() -> None:
    outputs = [{"type": "Microsoft.VirtualMachineImages/imageTemplates/runOutputs", "name": "o"}]
    with pytest.raises(TemplateFileError) as caught:
        find_templates(rest_example(None, {"200": {"body": {"value": outputs}}}))
    assert caught.value.code == "NoTemplateFound"
    assert "runOutputs" in caught.value.message


def test_trigger_and_patch_request_bodies_are_recognised() -> None:
    [trigger] = find_templates(
        rest_example({"properties": {"kind": "SourceImage"}}, {}, triggerName="source")
    )
    assert trigger.kind == "trigger"
    patch = {"properties": {"vmProfile": {"vmSize": "Standard_D4s_v5"}}, "tags": {"a": "b"}}
    [update] = find_templates(rest_example(patch, {}))
    assert update.kind == "update"


def test_a_trigger_body_on_its_own_is_a_trigger() -> None:
    [found] = find_templates({"properties": {"kind": "SourceImage"}})
    assert (found.kind, found.path) == ("trigger", "")


def test_a_json_list_of_bodies_yields_each_with_its_index() -> None:
    found = find_templates([body(), body("westus")])
    assert [f.path for f in found] == ["[0]", "[1]"]


def test_text_that_is_not_json_is_an_invalid_json_error_with_a_position() -> None:
    with pytest.raises(TemplateFileError) as caught:
        parse_template_text('{"location": "eastus",\n "identity": }')
    assert caught.value.code == "InvalidJson"
    assert "line 2" in caught.value.message


def test_comments_and_trailing_commas_reach_the_finder() -> None:
    text = "// nightly\n" + json.dumps(body(), indent=2)[:-1] + ",\n}"
    [found] = parse_template_text(text)
    assert found.body == body()


def test_a_scalar_file_holds_no_template() -> None:
    with pytest.raises(TemplateFileError, match="Expected a JSON object"):
        find_templates("just a string")


def test_bicep_symbolic_resources_are_searched_by_name() -> None:
    doc = deployment([])
    doc["languageVersion"] = "2.0"
    doc["resources"] = {"nightly": {"type": TEMPLATE_TYPE, "apiVersion": "2025-10-01", "name": "n", **body()}}
    [found] = find_templates(doc)
    assert (found.path, found.name) == ("resources.nightly", "n")


def test_a_copy_loop_is_noted_and_one_instance_validated() -> None:
    resource = {
        "type": TEMPLATE_TYPE,
        "apiVersion": "2025-10-01",
        "copy": {"name": "c", "count": 2},
        **body(),
    }
    [found] = find_templates(deployment([resource]))
    assert "copy" not in found.body
    assert any("copy loop" in note for note in found.notes)


def test_a_deployment_parameters_file_is_named_as_such() -> None:
    doc = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {"region": {"value": "eastus"}},
    }
    with pytest.raises(TemplateFileError, match="parameters file"):
        find_templates(doc)


def test_utf16_files_with_a_byte_order_mark_are_read(tmp_path: Path) -> None:
    path = tmp_path / "ps.json"
    path.write_bytes(json.dumps(body()).encode("utf-16"))  # what Windows PowerShell's `>` writes
    [found] = read_template_file(path)
    assert found.body == body()


def test_a_file_that_is_not_text_is_invalid_json(tmp_path: Path) -> None:
    path = tmp_path / "image.json"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\xfd")
    with pytest.raises(TemplateFileError) as caught:
        read_template_file(path)
    assert caught.value.code == "InvalidJson"
