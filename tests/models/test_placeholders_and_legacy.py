"""Unresolved placeholders and pre-2020 shapes are named precisely, and hide the errors they cause."""

from __future__ import annotations

from typing import Any

import pytest

from tests.models.builders import IDENTITY, minimal_template
from tests.models.helpers import messages, problems


def with_value(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    body = minimal_template()
    node: Any = body
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return body


PLACEHOLDERS = [
    (("location",), "<region>", "location"),
    (("location",), "[parameters('location')]", "location"),
    (("location",), "$LOCATION", "location"),
    (("location",), "${AIB_REGION}", "location"),
    (
        ("properties", "distribute", 0, "imageId"),
        "/subscriptions/{subscription-id}/resourceGroups/rg1/providers/Microsoft.Compute/images/x",
        "properties.distribute[0].imageId",
    ),
    (
        ("properties", "distribute", 0, "imageId"),
        "/subscriptions/<subscriptionID>/resourceGroups/<rgName>/providers/Microsoft.Compute/images/<imageName>",
        "properties.distribute[0].imageId",
    ),
    (
        ("properties", "distribute", 0, "imageId"),
        "[variables('resourceid')]",
        "properties.distribute[0].imageId",
    ),
    (
        ("properties", "distribute", 0, "runOutputName"),
        "<runOutputName>",
        "properties.distribute[0].runOutputName",
    ),
    (
        ("properties", "distribute", 0, "runOutputName"),
        "$(runOutputName)",
        "properties.distribute[0].runOutputName",
    ),
    (("properties", "source", "sku"), "<sku>", "properties.source.sku"),
    (("properties", "vmProfile"), {"vmSize": "{updated_vmsize}"}, "properties.vmProfile.vmSize"),
    (("properties", "customize"), "[variables('customizers')]", "properties.customize"),
    (("properties", "buildTimeoutInMinutes"), "[parameters('timeout')]", "properties.buildTimeoutInMinutes"),
    (
        ("properties", "customize"),
        [{"type": "Shell", "scriptUri": "<scriptUrl>"}],
        "properties.customize[0].scriptUri",
    ),
    (
        ("identity", "userAssignedIdentities"),
        {"<imgBuilderId>": {}},
        "identity.userAssignedIdentities['<imgBuilderId>']",
    ),
    (
        ("identity", "userAssignedIdentities"),
        {"[parameters('identityId')]": {}},
        "identity.userAssignedIdentities['[parameters(\\'identityId\\')]']",
    ),
    (("tags",), {"owner": "[parameters('owner')]"}, "tags.owner"),
]


@pytest.mark.parametrize(("path", "value", "target"), PLACEHOLDERS)
def test_placeholder_is_reported_at_its_path_and_nothing_else_is(
    path: tuple[Any, ...], value: Any, target: str
) -> None:
    assert problems(with_value(path, value)) == [("UnresolvedPlaceholder", target)]


@pytest.mark.parametrize(
    "line",
    [
        "echo $HOME",
        "sudo apt-get install -y $PKGS",
        "[ -d /tmp ] && echo yes",
        "cat <<EOF > /tmp/x",
        "echo {a,b}",
        "[Net.ServicePointManager]::SecurityProtocol = 'Tls12'",
        "${VAR:-default}",
    ],
)
def test_inline_script_lines_are_never_taken_for_placeholders(line: str) -> None:
    body = with_value(("properties", "customize"), [{"type": "Shell", "inline": [line]}])
    assert problems(body) == []


def test_a_whole_line_arm_expression_in_inline_is_reported() -> None:
    body = with_value(
        ("properties", "customize"), [{"type": "Shell", "inline": ["[concat('A=', parameters('a'))]"]}]
    )
    assert problems(body) == [("UnresolvedPlaceholder", "properties.customize[0].inline[0]")]


def test_storage_containers_with_a_dollar_are_real_names() -> None:
    body = with_value(
        ("properties", "customize"),
        [{"type": "Shell", "scriptUri": "https://a.blob.core.windows.net/$web/x.sh"}],
    )
    assert problems(body) == []


def test_a_placeholder_does_not_hide_a_typo_elsewhere_in_the_same_id() -> None:
    gallery_typo = (
        "/subscriptions/{subscription-id}/resourceGroups/rg1/providers/Microsoft.Compute/gallery/g/images/i"
    )
    body = with_value(
        ("properties", "distribute"),
        [{"type": "SharedImage", "galleryImageId": gallery_typo, "runOutputName": "g"}],
    )
    assert problems(body) == [
        ("UnresolvedPlaceholder", "properties.distribute[0].galleryImageId"),
        ("InvalidResourceId", "properties.distribute[0].galleryImageId"),
    ]
    assert "found 'gallery'" in messages(body)["properties.distribute[0].galleryImageId"]


def test_placeholder_message_names_the_token() -> None:
    body = with_value(("location",), "<region1>")
    assert "'<region1>'" in messages(body)["location"]


LEGACY = [
    (
        ("properties", "customize"),
        [{"type": "shell", "inline": ["ls"]}],
        "properties.customize[0].type",
        "'Shell'",
    ),
    (
        ("properties", "customize"),
        [{"type": "powershell", "inline": ["ls"]}],
        "properties.customize[0].type",
        "'PowerShell'",
    ),
    (
        ("properties", "customize"),
        [{"type": "windowsRestart"}],
        "properties.customize[0].type",
        "'WindowsRestart'",
    ),
    (
        ("properties", "customize"),
        [{"type": "Shell", "script": "https://x/y.sh"}],
        "properties.customize[0].script",
        "'scriptUri'",
    ),
    (
        ("properties", "distribute", 0, "type"),
        "managedImage",
        "properties.distribute[0].type",
        "'ManagedImage'",
    ),
    (
        ("properties", "distribute"),
        [{"type": "sharedImage", "galleryImageId": "x", "runOutputName": "s"}],
        "properties.distribute[0].type",
        "'SharedImage'",
    ),
    (
        ("properties", "source"),
        {"type": "ISO", "sourceURI": "https://x/rhel.iso", "sha256Checksum": "ab"},
        "properties.source",
        "'PlatformImage'",
    ),
    (("properties", "source", "type"), "platformImage", "properties.source.type", "'PlatformImage'"),
    (
        ("properties", "vmProfile"),
        {"vnetConfig": {"name": "vnet", "subnetName": "s", "resourceGroupName": "rg"}},
        "properties.vmProfile.vnetConfig.name",
        "'subnetId'",
    ),
]


@pytest.mark.parametrize(("path", "value", "target", "replacement"), LEGACY)
def test_legacy_shape_is_reported_with_the_current_name(
    path: tuple[Any, ...], value: Any, target: str, replacement: str
) -> None:
    body = with_value(path, value)
    found = problems(body)
    assert ("LegacyField", target) in found
    assert all(code == "LegacyField" for code, _ in found), found
    assert replacement in messages(body)[target]


def test_legacy_vnet_fields_are_each_reported() -> None:
    body = with_value(
        ("properties", "vmProfile"),
        {"vnetConfig": {"name": "v", "subnetName": "s", "resourceGroupName": "r"}},
    )
    assert problems(body) == [
        ("LegacyField", "properties.vmProfile.vnetConfig.name"),
        ("LegacyField", "properties.vmProfile.vnetConfig.subnetName"),
        ("LegacyField", "properties.vmProfile.vnetConfig.resourceGroupName"),
    ]


def test_missing_identity_says_what_to_add() -> None:
    body = minimal_template()
    del body["identity"]
    assert problems(body) == [("RequiredField", "identity")]
    assert "UserAssigned" in messages(body)["identity"]


def test_arm_deployment_properties_in_the_body_get_advice() -> None:
    body = minimal_template() | {"apiVersion": "2020-02-14", "dependsOn": []}
    found = messages(body)
    assert "api-version" in found["apiVersion"]
    assert "deployment" in found["dependsOn"]


def test_valid_identity_key_is_not_a_placeholder() -> None:
    assert problems(with_value(("identity", "userAssignedIdentities"), {IDENTITY: {}})) == []


def test_a_placeholder_inside_an_unknown_field_reports_only_the_unknown_field() -> None:
    body = minimal_template() | {"apiVersion": "[parameters('api-version')]"}
    assert problems(body) == [("UnknownField", "apiVersion")]
