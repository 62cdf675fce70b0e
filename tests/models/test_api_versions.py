"""Older api-versions: fields newer than the version are unknown; the wire leaves them out."""

from __future__ import annotations

import pytest

from shared.errors import ValidationFailed
from shared.models import SUPPORTED_API_VERSIONS, template_to_wire, validate_template
from tests.models.builders import VNET, full_template, minimal_template
from tests.models.helpers import messages, problems

NEWER = [
    ("2024-02-01", ("properties", "additionalDataDisks"), [{"sizeGB": 1}], "properties.additionalDataDisks"),
    (
        "2024-02-01",
        ("properties", "optimize"),
        {"workload": {"state": "Enabled"}},
        "properties.optimize.workload",
    ),
    ("2022-07-01", ("properties", "autoRun"), {"state": "Enabled"}, "properties.autoRun"),
    ("2022-07-01", ("properties", "managedResourceTags"), {"a": "b"}, "properties.managedResourceTags"),
    (
        "2022-07-01",
        ("properties", "errorHandling"),
        {"onCustomizerError": "abort"},
        "properties.errorHandling",
    ),
    (
        "2022-07-01",
        ("properties", "vmProfile"),
        {"vnetConfig": {"subnetId": f"{VNET}/subnets/a", "containerInstanceSubnetId": f"{VNET}/subnets/b"}},
        "properties.vmProfile.vnetConfig.containerInstanceSubnetId",
    ),
]


@pytest.mark.parametrize(("version", "path", "value", "target"), NEWER)
def test_a_field_newer_than_the_api_version_is_an_unknown_field(
    version: str, path: tuple[str, ...], value: object, target: str
) -> None:
    body = minimal_template()
    body[path[0]][path[1]] = value
    assert problems(body) == []
    assert problems(body, api_version=version) == [("UnknownField", target)]
    assert (
        "2022-07-01" in messages(body, api_version=version)[target]
        or version in messages(body, api_version=version)[target]
    )


def test_replication_mode_needs_2025_10_01() -> None:
    body = full_template()
    assert ("UnknownField", "properties.distribute[1].replicationMode") in problems(
        body, api_version="2024-02-01"
    )


@pytest.mark.parametrize("version", SUPPORTED_API_VERSIONS)
def test_minimal_template_is_valid_in_every_supported_version(version: str) -> None:
    assert problems(minimal_template(), api_version=version) == []


def test_unsupported_api_version_is_refused_with_the_supported_list() -> None:
    with pytest.raises(ValidationFailed) as err:
        validate_template(minimal_template(), api_version="2019-05-01-preview")
    (detail,) = err.value.details
    assert (detail.code, detail.target) == ("UnsupportedApiVersion", "api-version")
    assert "2025-10-01" in detail.message


def test_wire_for_an_older_version_omits_the_fields_it_lacks() -> None:
    t = validate_template(full_template())
    wire_2022 = template_to_wire(t, api_version="2022-07-01")
    props = wire_2022["properties"]
    for field in ("errorHandling", "autoRun", "managedResourceTags", "additionalDataDisks"):
        assert field not in props
    assert "workload" not in props["optimize"]
    assert "containerInstanceSubnetId" not in props["vmProfile"]["vnetConfig"]
    assert all("replicationMode" not in d for d in props["distribute"])
    assert validate_template(wire_2022, api_version="2022-07-01").properties.buildTimeoutInMinutes == 120
    wire_2024 = template_to_wire(t, api_version="2024-02-01")
    assert wire_2024["properties"]["errorHandling"]["onCustomizerError"] == "abort"
    assert "additionalDataDisks" not in wire_2024["properties"]
