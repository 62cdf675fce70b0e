"""Reading ARM ids and SDK payloads: resource types, api-versions for delete-by-id, nested errors."""

from __future__ import annotations

import pytest

from shared.azure._wire import api_version_for, error_info, resource_type_of
from shared.models.azure import ErrorInfo

RG = "/subscriptions/s/resourceGroups/rg"


@pytest.mark.parametrize(
    ("resource_id", "type_"),
    [
        (f"{RG}/providers/Microsoft.Network/networkInterfaces/nic", "Microsoft.Network/networkInterfaces"),
        (
            f"{RG}/providers/Microsoft.Compute/galleries/g/images/i/versions/1.0.0",
            "Microsoft.Compute/galleries/images/versions",
        ),
        (
            f"{RG}/providers/Microsoft.Network/virtualNetworks/v/subnets/s",
            "Microsoft.Network/virtualNetworks/subnets",
        ),
        (RG, "Microsoft.Resources/resourceGroups"),
    ],
)
def test_the_resource_type_is_read_from_any_arm_id(resource_id: str, type_: str) -> None:
    assert resource_type_of(resource_id) == type_


def test_delete_by_id_uses_the_api_version_of_the_resources_provider() -> None:
    assert api_version_for(f"{RG}/providers/Microsoft.Storage/storageAccounts/st") == "2023-05-01"
    assert api_version_for(f"{RG}/providers/microsoft.network/publicIPAddresses/ip") == "2024-05-01"


def test_an_arm_error_keeps_its_code_and_the_first_detail() -> None:
    raw = {
        "error": {
            "code": "DeploymentFailed",
            "message": "At least one failed.",
            "details": [{"code": "SkuNotAvailable", "message": "Standard_X is not available."}],
        }
    }

    assert error_info(raw) == ErrorInfo(
        code="DeploymentFailed", message="At least one failed. SkuNotAvailable: Standard_X is not available."
    )
    assert error_info(None) is None
