"""Parameters, variables and ``--param`` values in template files, and the api version a template gets."""

from __future__ import annotations

from cli.template_files import find_templates
from tests.cli.template_docs import TEMPLATE_TYPE, body, deployment, nested


def test_parameters_resolve_from_plain_default_values_and_variables_from_plain_values() -> None:
    resource = {
        "type": TEMPLATE_TYPE,
        "apiVersion": "[parameters('apiVersion')]",
        "name": "[parameters('name')]",
        **body("[parameters('Location')]"),
    }
    resource["properties"]["distribute"] = "[variables('targets')]"
    resource["tags"] = {"[variables('tagName')]": "[parameters('owner')]"}
    doc = deployment(
        [resource],
        parameters={
            "location": {"type": "string", "defaultValue": "westeurope"},
            "apiVersion": {"type": "string", "defaultValue": "2024-02-01"},
            "name": {"type": "string", "defaultValue": "nightly"},
            "owner": {"type": "string", "defaultValue": "[resourceGroup().tags.owner]"},
        },
        variables={"targets": [{"type": "VHD", "runOutputName": "vhd"}], "tagName": "team"},
    )
    [found] = find_templates(doc)
    assert found.body["location"] == "westeurope"
    assert found.api_version == "2024-02-01" and found.name == "nightly"
    assert found.body["properties"]["distribute"] == [{"type": "VHD", "runOutputName": "vhd"}]
    # an expression default is never evaluated: the reference stays for the validator to report
    assert found.body["tags"] == {"team": "[parameters('owner')]"}


def test_expression_variables_and_functions_stay_unresolved() -> None:
    resource = {
        "type": TEMPLATE_TYPE,
        "apiVersion": "2025-10-01",
        "name": "t",
        **body("[resourceGroup().location]"),
    }
    resource["properties"]["source"]["sku"] = "[variables('sku')]"
    doc = deployment([resource], variables={"sku": "[concat('20', '22')]"})
    [found] = find_templates(doc)
    assert found.body["location"] == "[resourceGroup().location]"
    assert found.body["properties"]["source"]["sku"] == "[variables('sku')]"


def test_unresolved_api_version_falls_back_to_the_latest_with_a_note() -> None:
    doc = deployment(
        [{"type": TEMPLATE_TYPE, "apiVersion": "[parameters('api-version')]", **body()}],
        parameters={"api-version": {"type": "string"}},
    )
    [found] = find_templates(doc)
    assert found.api_version == "2025-10-01" and found.name is None
    assert "unresolved" in found.notes[0]
    [given] = find_templates(doc, params={"api-version": "2022-07-01"})
    assert given.api_version == "2022-07-01" and given.notes == []


def test_an_unsupported_api_version_is_validated_against_the_latest_with_a_note() -> None:
    doc = deployment([{"type": TEMPLATE_TYPE, "apiVersion": "2020-02-14", **body()}])
    [found] = find_templates(doc)
    assert found.api_version == "2025-10-01"
    assert found.declared_api_version == "2020-02-14"
    assert "'2020-02-14' is not one kiln validates" in found.notes[0]


def test_params_replace_whole_values_tokens_inside_strings_and_object_keys() -> None:
    raw = body("<region>")
    raw["properties"]["distribute"][0]["uri"] = (
        "https://<account>.blob.core.windows.net/vhds/[parameters('vhd')].vhd"
    )
    params = {
        "region": "westus2",
        "identityId": "/subscriptions/x/id",
        "runOutputName": "out",
        "account": "st1",
        "vhd": "image",
    }
    [found] = find_templates(raw, params=params)
    assert found.body["location"] == "westus2"
    assert found.body["identity"]["userAssignedIdentities"] == {"/subscriptions/x/id": {}}
    assert found.body["properties"]["distribute"][0] == {
        "type": "VHD",
        "runOutputName": "out",
        "uri": "https://st1.blob.core.windows.net/vhds/image.vhd",
    }


def test_unknown_angle_tokens_are_left_alone() -> None:
    raw = body("<region>")
    raw["properties"]["customize"] = [{"type": "Shell", "inline": ["echo <html> > /tmp/x"]}]
    [found] = find_templates(raw, params={"x": "y"})
    assert found.body["location"] == "<region>"
    assert found.body["properties"]["customize"][0]["inline"] == ["echo <html> > /tmp/x"]


def test_params_take_precedence_over_default_values_and_follow_the_declared_type() -> None:
    resource = {"type": TEMPLATE_TYPE, "apiVersion": "2025-10-01", **body("[parameters('location')]")}
    resource["properties"]["buildTimeoutInMinutes"] = "[parameters('timeout')]"
    resource["properties"]["distribute"] = "[parameters('targets')]"
    doc = deployment(
        [resource],
        parameters={
            "location": {"type": "string", "defaultValue": "eastus"},
            "timeout": {"type": "int", "defaultValue": 60},
            "targets": {"type": "array"},
        },
    )
    params = {
        "LOCATION": "northeurope",
        "timeout": "90",
        "targets": '[{"type": "VHD", "runOutputName": "v"}]',
    }
    [found] = find_templates(doc, params=params)
    assert found.body["location"] == "northeurope"
    assert found.body["properties"]["buildTimeoutInMinutes"] == 90
    assert found.body["properties"]["distribute"] == [{"type": "VHD", "runOutputName": "v"}]


def test_a_double_bracket_in_a_deployment_template_is_a_literal_bracket() -> None:
    resource = {"type": TEMPLATE_TYPE, "apiVersion": "2025-10-01", **body()}
    resource["properties"]["customize"] = [
        {"type": "Shell", "inline": ["[[ -f /etc/os-release ] && echo ok"]}
    ]
    [found] = find_templates(deployment([resource]))
    assert found.body["properties"]["customize"][0]["inline"] == ["[ -f /etc/os-release ] && echo ok"]


def test_a_nested_deployment_uses_the_parent_scope_by_default() -> None:
    inner = deployment(
        [{"type": TEMPLATE_TYPE, "apiVersion": "2025-10-01", **body("[parameters('region')]")}]
    )
    inner["parameters"] = {"region": {"type": "string", "defaultValue": "inner-default"}}
    doc = deployment([nested(inner)], parameters={"region": {"type": "string", "defaultValue": "westus3"}})
    [found] = find_templates(doc)
    assert found.body["location"] == "westus3"


def test_an_inner_scope_nested_deployment_uses_the_values_passed_to_it() -> None:
    inner = deployment(
        [{"type": TEMPLATE_TYPE, "apiVersion": "2025-10-01", **body("[parameters('region')]")}]
    )
    inner["parameters"] = {"region": {"type": "string", "defaultValue": "inner-default"}}
    passed = nested(
        inner,
        expressionEvaluationOptions={"scope": "inner"},
        parameters={"region": {"value": "northeurope"}},
    )
    default = nested(inner, expressionEvaluationOptions={"scope": "Inner"})
    first, second = find_templates(deployment([passed, default]))
    assert first.body["location"] == "northeurope"
    assert second.body["location"] == "inner-default"
