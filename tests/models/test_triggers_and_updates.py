"""Trigger bodies, PATCH bodies and the RunOutput model."""

from __future__ import annotations

from typing import Any

import pytest

from shared.errors import ValidationFailed
from shared.models import RunOutput, validate_template_update, validate_trigger
from tests.models.builders import GALLERY_IMAGE, IDENTITY, VNET


def trigger_problems(body: Any) -> list[tuple[str, str | None]]:
    try:
        validate_trigger(body)
    except ValidationFailed as err:
        return [(d.code, d.target) for d in err.details]
    return []


def update_problems(body: Any, api_version: str = "2025-10-01") -> list[tuple[str, str | None]]:
    try:
        validate_template_update(body, api_version=api_version)
    except ValidationFailed as err:
        return [(d.code, d.target) for d in err.details]
    return []


def test_source_image_trigger_validates_and_drops_read_only_status() -> None:
    body = {
        "id": "/x",
        "name": "source",
        "properties": {
            "kind": "SourceImage",
            "status": {"code": "Healthy"},
            "provisioningState": "Succeeded",
        },
    }
    trigger = validate_trigger(body)
    assert trigger.properties.kind == "SourceImage"
    assert trigger.properties.status is None and trigger.name is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, [("RequiredField", "properties")]),
        ({"properties": {}}, [("RequiredField", "properties.kind")]),
        ({"properties": {"kind": "Schedule"}}, [("RequiredField", "properties.schedule")]),
        ({"properties": {"kind": "Timer"}}, [("InvalidValue", "properties.kind")]),
        (
            {"properties": {"kind": "Schedule", "schedule": "0 2 * * 8", "timeZone": "Europe/Berlin"}},
            [("InvalidSchedule", "properties.schedule")],
        ),
        (
            {"properties": {"kind": "Schedule", "schedule": "0 2 * * 6", "timeZone": "Berlin"}},
            [("InvalidTimeZone", "properties.timeZone")],
        ),
        (
            {"properties": {"kind": "Schedule", "schedule": "*/5 0 2 * * 6"}},
            [("InvalidSchedule", "properties.schedule")],
        ),
        (
            {"properties": {"kind": "Schedule", "schedule": "0 2 * * 6", "mode": "changed"}},
            [("InvalidValue", "properties.mode")],
        ),
        (
            {"properties": {"kind": "Schedule", "schedule": "0 2 * * 6", "cycleName": "a/b"}},
            [("InvalidResourceName", "properties.cycleName")],
        ),
        ({"properties": {"kind": "SourceImage", "mode": "always"}}, [("UnknownField", "properties.mode")]),
        ({"properties": {"kind": "sourceImage"}}, [("InvalidValue", "properties.kind")]),
        ({"location": "eastus", "properties": {"kind": "SourceImage"}}, [("UnknownField", "location")]),
        (
            {"location": "<region1>", "properties": {"kind": "SourceImage"}},
            [("UnknownField", "location")],
        ),
        ([], [("InvalidType", None)]),
    ],
)
def test_invalid_trigger_bodies_are_reported(body: Any, expected: list[tuple[str, str | None]]) -> None:
    assert trigger_problems(body) == expected


def test_patch_of_tags_identity_distribute_and_vm_profile_validates() -> None:
    update = validate_template_update(
        {
            "tags": {"a": "b"},
            "identity": {"type": "UserAssigned", "userAssignedIdentities": {IDENTITY: {}}},
            "properties": {
                "distribute": [
                    {"type": "SharedImage", "galleryImageId": GALLERY_IMAGE, "runOutputName": "s"}
                ],
                "vmProfile": {"vmSize": "Standard_D4s_v5", "vnetConfig": {"subnetId": f"{VNET}/subnets/a"}},
            },
        }
    )
    assert update.properties is not None and update.properties.vmProfile is not None
    assert update.properties.vmProfile.vmSize == "Standard_D4s_v5"


def test_patch_may_remove_the_identity() -> None:
    update = validate_template_update({"identity": {"type": "None"}})
    assert update.identity is not None and update.identity.type == "None"
    assert update_problems({"identity": {"type": "None", "userAssignedIdentities": {IDENTITY: {}}}}) == [
        ("MutuallyExclusive", "identity.userAssignedIdentities")
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"properties": {"customize": []}}, [("UnknownField", "properties.customize")]),
        ({"location": "eastus"}, [("UnknownField", "location")]),
        (
            {"properties": {"vmProfile": {"vmSize": "{updated_vmsize}"}}},
            [("UnresolvedPlaceholder", "properties.vmProfile.vmSize")],
        ),
        (
            {"properties": {"vmProfile": {"vnetConfig": {"containerInstanceSubnetId": f"{VNET}/subnets/b"}}}},
            [("RequiredField", "properties.vmProfile.vnetConfig.containerInstanceSubnetId")],
        ),
        (
            {
                "properties": {
                    "distribute": [
                        {"type": "VHD", "runOutputName": "a"},
                        {"type": "VHD", "runOutputName": "A"},
                    ]
                }
            },
            [("InvalidValue", "properties.distribute[1].runOutputName")],
        ),
    ],
)
def test_invalid_patch_bodies_are_reported(body: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert update_problems(body) == expected


def test_patch_advice_says_the_rest_of_a_template_is_immutable() -> None:
    with pytest.raises(ValidationFailed) as err:
        validate_template_update({"properties": {"source": {}}})
    assert "immutable" in err.value.details[0].message


def test_patch_of_vm_profile_needs_2024_02_01() -> None:
    body = {"properties": {"vmProfile": {"vmSize": "Standard_D2s_v3"}}}
    assert update_problems(body, api_version="2022-07-01") == [("UnknownField", "properties.vmProfile")]
    assert update_problems(body, api_version="2024-02-01") == []


def test_run_output_round_trips_the_official_example_shape() -> None:
    wire = {
        "name": "mySharedImageOutput",
        "type": "Microsoft.VirtualMachineImages/imageTemplates/runOutputs",
        "id": "/subscriptions/x/resourcegroups/rg/providers/Microsoft.VirtualMachineImages/imageTemplates/t"
        + "/runOutputs/mySharedImageOutput",
        "properties": {"artifactId": GALLERY_IMAGE + "/versions/1.2.3", "provisioningState": "Succeeded"},
    }
    output = RunOutput.model_validate(wire)
    assert output.properties is not None and output.properties.artifactId == GALLERY_IMAGE + "/versions/1.2.3"
    assert output.model_dump(mode="json", exclude_none=True) == wire


def test_patch_identity_drops_the_read_only_principal_and_client_ids() -> None:
    update = validate_template_update(
        {
            "identity": {
                "type": "UserAssigned",
                "userAssignedIdentities": {IDENTITY: {"principalId": "p", "clientId": "c"}},
            }
        }
    )
    assert update.identity is not None and update.identity.userAssignedIdentities is not None
    assert update.identity.userAssignedIdentities[IDENTITY].principalId is None
