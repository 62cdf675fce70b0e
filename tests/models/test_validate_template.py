"""validate_template on valid bodies: what comes back, defaults, and the JSON round trip."""

from __future__ import annotations

from typing import Any

import pytest

from shared.errors import ValidationFailed
from shared.models import (
    ImageTemplate,
    SharedImageDistributor,
    default_vm_size,
    template_to_wire,
    validate_template,
    with_default_vm_size,
)
from tests.models.builders import full_template, minimal_template
from tests.models.helpers import assert_round_trips


def test_minimal_template_validates_and_gets_aib_defaults_visible_on_the_wire() -> None:
    body = minimal_template()
    wire = template_to_wire(validate_template(body))
    assert wire == {
        "location": "westus2",
        "identity": body["identity"],
        "properties": {
            "source": body["properties"]["source"],
            "distribute": body["properties"]["distribute"],
            "errorHandling": {"onCustomizerError": "cleanup", "onValidationError": "cleanup"},
            "buildTimeoutInMinutes": 240,
            "vmProfile": {"vmSize": "", "osDiskSizeGB": 0},
        },
    }


def test_full_template_keeps_every_field_it_was_given() -> None:
    body = full_template()
    wire = template_to_wire(validate_template(body))
    assert wire["tags"] == {"team": "platform"}
    assert wire["properties"]["optimize"]["workload"]["scriptUri"] == "https://example.com/w.sh"
    assert wire["properties"]["additionalDataDisks"] == [{"sizeGB": 32}]
    assert wire["properties"]["distribute"][1]["replicationMode"] == "Shallow"
    assert wire["properties"]["vmProfile"]["vnetConfig"]["containerInstanceSubnetId"].endswith("/subnets/aci")


def test_customizer_defaults_are_filled_in() -> None:
    props = template_to_wire(validate_template(full_template()))["properties"]
    shell, _, powershell, file_step, restart, update = props["customize"]
    assert shell["sha256Checksum"] == ""
    assert powershell["validExitCodes"] == [0]
    assert (powershell["runElevated"], powershell["runAsSystem"]) == (True, True)
    assert file_step["sha256Checksum"] == ""
    assert restart["restartCommand"] == 'shutdown /r /f /t 0 /c "packer restart"'
    assert restart["restartCheckCommand"] == ""
    assert restart["restartTimeout"] == "10m"
    assert update["updateLimit"] == 1000


def test_shared_image_defaults_are_filled_in_per_target_region() -> None:
    body = full_template()
    del body["properties"]["distribute"][1]["versioning"]
    sig = template_to_wire(validate_template(body))["properties"]["distribute"][1]
    assert sig["versioning"] == {"scheme": "Latest", "major": -1}
    assert sig["targetRegions"][0] == {
        "name": "westus2",
        "replicaCount": 1,
        "storageAccountType": "Standard_LRS",
    }
    assert sig["targetRegions"][1]["replicaCount"] == 2
    assert "storageAccountType" not in sig


def test_replication_regions_get_the_distributor_level_storage_type_default() -> None:
    body = minimal_template()
    body["properties"]["distribute"] = [
        {
            "type": "SharedImage",
            "galleryImageId": full_template()["properties"]["distribute"][1]["galleryImageId"],
            "runOutputName": "sig",
            "replicationRegions": ["eastus"],
        }
    ]
    sig = validate_template(body).properties.distribute[0]
    assert isinstance(sig, SharedImageDistributor)
    assert (sig.storageAccountType, sig.replicationMode, sig.excludeFromLatest) == (
        "Standard_LRS",
        "Full",
        False,
    )


@pytest.mark.parametrize(
    ("field", "given", "expected"),
    [
        ("buildTimeoutInMinutes", 0, 240),
        ("buildTimeoutInMinutes", 6, 6),
        ("buildTimeoutInMinutes", 960, 960),
    ],
)
def test_build_timeout_zero_means_240_minutes(field: str, given: int, expected: int) -> None:
    body = minimal_template()
    body["properties"][field] = given
    assert validate_template(body).properties.buildTimeoutInMinutes == expected


@pytest.mark.parametrize(
    ("updates", "expected"), [({"updateLimit": 0}, 1000), ({"updateLimit": 5}, 5), ({}, 1000)]
)
def test_windows_update_limit_zero_means_1000(updates: dict[str, Any], expected: int) -> None:
    body = minimal_template()
    body["properties"]["customize"] = [{"type": "WindowsUpdate", **updates}]
    wire = template_to_wire(validate_template(body))
    assert wire["properties"]["customize"][0]["updateLimit"] == expected


def test_read_only_fields_in_the_input_are_dropped() -> None:
    body = minimal_template()
    body.update({"id": "/x", "name": "n", "type": "Microsoft.VirtualMachineImages/imageTemplates"})
    body["systemData"] = {"createdBy": "someone"}
    body["properties"]["provisioningState"] = "Succeeded"
    body["properties"]["lastRunStatus"] = {"runState": "Running"}
    body["properties"]["exactStagingResourceGroup"] = "/x"
    body["properties"]["provisioningError"] = {"message": "boom"}
    body["properties"]["source"]["exactVersion"] = "1.2.3"
    ident = next(iter(body["identity"]["userAssignedIdentities"]))
    body["identity"]["userAssignedIdentities"][ident] = {"principalId": "p", "clientId": "c"}
    t = validate_template(body)
    assert (t.id, t.name, t.type, t.systemData) == (None, None, None, None)
    assert t.properties.provisioningState is None and t.properties.lastRunStatus is None
    assert t.identity.userAssignedIdentities is not None
    assert t.identity.userAssignedIdentities[ident].principalId is None


def test_read_only_fields_set_by_kiln_appear_on_the_wire_and_survive_a_reload() -> None:
    t = validate_template(minimal_template())
    props = t.properties.model_copy(
        update={"provisioningState": "Succeeded", "exactStagingResourceGroup": "/rg"}
    )
    t = t.model_copy(update={"properties": props, "id": "/subscriptions/x/t", "name": "t"})
    wire = template_to_wire(t)
    assert wire["properties"]["provisioningState"] == "Succeeded"
    assert wire["name"] == "t"
    assert ImageTemplate.model_validate(wire) == t


def test_run_status_and_system_data_with_timestamps_survive_a_reload() -> None:
    wire = template_to_wire(validate_template(minimal_template()))
    wire["systemData"] = {"createdBy": "me", "createdAt": "2026-11-26T22:00:00Z"}
    wire["properties"]["lastRunStatus"] = {
        "startTime": "2026-11-26T22:01:00Z",
        "endTime": "2026-11-26T22:31:30.5Z",
        "runState": "PartiallySucceeded",
        "runSubState": "Distributing",
        "message": "one region failed",
    }
    wire["properties"]["provisioningError"] = {"provisioningErrorCode": "BadSourceType", "message": "x"}
    t = ImageTemplate.model_validate(wire)
    assert t.properties.lastRunStatus is not None and t.properties.lastRunStatus.endTime is not None
    assert t.properties.lastRunStatus.endTime.microsecond == 500000
    assert ImageTemplate.model_validate(template_to_wire(t)) == t
    assert template_to_wire(t)["properties"]["lastRunStatus"]["startTime"] == "2026-11-26T22:01:00Z"


@pytest.mark.parametrize("body", [minimal_template(), full_template()])
def test_wire_json_round_trips_to_the_identical_model(body: dict[str, Any]) -> None:
    assert_round_trips(body)


@pytest.mark.parametrize(
    ("generation", "size"), [("V1", "Standard_D1_v2"), ("V2", "Standard_D2ds_v4"), ("v2", "Standard_D2ds_v4")]
)
def test_empty_vm_size_is_resolved_from_the_source_generation(generation: str, size: str) -> None:
    t = validate_template(minimal_template())
    assert t.properties.vmProfile.vmSize == ""
    assert default_vm_size(generation) == size
    assert with_default_vm_size(t, generation).properties.vmProfile.vmSize == size
    assert t.properties.vmProfile.vmSize == ""


def test_a_given_vm_size_is_kept_when_the_generation_is_known() -> None:
    t = validate_template(full_template())
    assert with_default_vm_size(t, "V1").properties.vmProfile.vmSize == "Standard_D4ds_v5"


def test_unknown_generation_is_refused() -> None:
    with pytest.raises(ValueError, match="V3"):
        default_vm_size("V3")


def test_template_name_from_the_url_is_checked() -> None:
    assert validate_template(minimal_template(), name="my.template-1").location == "westus2"
    with pytest.raises(ValidationFailed) as err:
        validate_template(minimal_template(), name="bad name!")
    assert [(d.code, d.target) for d in err.value.details] == [("InvalidResourceName", "name")]


@pytest.mark.parametrize("location", ["westus2", "West US 2", "WESTUS2", "South East Asia", "southeastasia"])
def test_template_location_accepts_display_and_normalised_names_in_any_case(location: str) -> None:
    body = minimal_template()
    body["location"] = location
    assert validate_template(body).location == location
