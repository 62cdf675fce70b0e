"""kiln's Limits and Access adapters over azuresim (the official SDK pipeline, raw ARM reads): plan terms,
regional vCPU quota, an identity's principal and its role assignments evaluated as RBAC does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.bootstrap import bootstrap
from shared.models.access import Required
from shared.ports import AzurePortSet
from shared.settings import Settings
from tests.support.azuresim import AzureSim, start_azuresim
from tests.support.azurite import Azurite

pytestmark = pytest.mark.timeout(120)
SUB = "00000000-0000-0000-0000-000000000000"
RG = "rg-limits"


@pytest.fixture(scope="module")
def sim(azurite: Azurite) -> Iterator[AzureSim]:
    with start_azuresim(storage_connection_string=azurite.connection_string) as started:
        yield started


@pytest.fixture(scope="module")
def azure(sim: AzureSim, azurite: Azurite) -> AzurePortSet:
    settings = Settings(
        azure_mode="sim",
        sim_base_url=sim.base_url,
        sim_ca_file=sim.ca_file,
        subscription_id=SUB,
        KILN_STORAGE_CONNECTION_STRING=azurite.connection_string,  # set by its alias
    )
    return bootstrap(settings).azure


def test_plan_terms_are_read_as_accepted_or_not(sim: AzureSim, azure: AzurePortSet) -> None:
    assert azure.limits.terms_accepted(publisher="redhat", offer="rhel-byos", plan="rhel-lvm88") is False
    path = (
        f"/subscriptions/{SUB}/providers/Microsoft.MarketplaceOrdering/offerTypes/VirtualMachine/publishers/"
        "redhat/offers/rhel-byos/plans/rhel-lvm88/agreements/current"
    )
    sim.arm("PUT", path, {"properties": {"accepted": True}}, api_version="2021-01-01")
    assert azure.limits.terms_accepted(publisher="redhat", offer="rhel-byos", plan="rhel-lvm88") is True


def test_the_vcpus_of_a_size_and_what_is_left_of_the_regional_quota(
    sim: AzureSim, azure: AzurePortSet
) -> None:
    assert azure.limits.vcpus(location="eastus", vm_size="Standard_D4ds_v5") == (4, 350)
    sim.control("PUT", "/_sim/quota", {"location": "eastus", "limit": 3})
    assert azure.limits.vcpus(location="eastus", vm_size="Standard_D4ds_v5") == (4, 3)
    assert azure.limits.vcpus(location="eastus", vm_size="Standard_Unknown_v9") is None


def test_an_identitys_assignments_decide_what_is_missing(sim: AzureSim, azure: AzurePortSet) -> None:
    sim.arm(
        "PUT", f"/subscriptions/{SUB}/resourceGroups/{RG}", {"location": "eastus"}, api_version="2024-03-01"
    )
    group = f"/subscriptions/{SUB}/resourceGroups/{RG}"
    identity = f"{group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id"
    sim.arm("PUT", identity, {"location": "eastus"}, api_version="2023-01-31")
    principal = azure.access.principal_of(identity_id=identity)
    image = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/images/img"
    need = [Required("Microsoft.Compute/images/write", image, "properties.distribute[0].imageId")]
    assert [m.action for m in azure.access.missing(principal_id=principal, required=need)] == [
        "Microsoft.Compute/images/write"
    ]
    sim.grant(identity, "Reader", f"/subscriptions/{SUB}")
    assert len(azure.access.missing(principal_id=principal, required=need)) == 1  # read is not write
    sim.grant(identity, "Contributor", f"/subscriptions/{SUB}/resourceGroups/{RG}")
    assert azure.access.missing(principal_id=principal, required=need) == []
