"""The Marketplace catalog through ComputeManagementClient.virtual_machine_images, publishing a version
through the control plane, and Marketplace agreements."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from tests.azuresim.compute.conftest import SUB, vm_body
from tests.support.azuresim import AzureSim, arm_error

pytestmark = pytest.mark.timeout(60)
WS = ("eastus", "MicrosoftWindowsServer", "WindowsServer")


def test_newest_versions_first_with_top(compute: Any) -> None:
    images = compute.virtual_machine_images.list(*WS, "2022-datacenter-g2", top=2, orderby="name desc")
    assert [i.name for i in images] == ["20348.2849.241109", "20348.2762.241006"]
    assert images[0].id.startswith(f"/Subscriptions/{SUB}/Providers/Microsoft.Compute/Locations/eastus/")


def test_version_properties_carry_generation_security_type_and_os(compute: Any) -> None:
    image = compute.virtual_machine_images.get(*WS, "2022-datacenter-azure-edition", "20348.2849.241109")
    assert image.hyper_v_generation == "V2"
    assert image.os_disk_image.operating_system == "Windows"
    features = {f.name: f.value for f in image.features}
    assert features["SecurityType"] == "TrustedLaunchSupported"
    assert features["IsAcceleratedNetworkSupported"] == "True"
    gen1 = compute.virtual_machine_images.get(*WS, "2022-datacenter", "20348.2849.241109")
    assert gen1.hyper_v_generation == "V1" and "SecurityType" not in {f.name for f in gen1.features}
    cvm = compute.virtual_machine_images.get(
        "eastus", "Canonical", "0001-com-ubuntu-confidential-vm-jammy", "22_04-lts-cvm", "22.04.202411010"
    )
    assert {f.name: f.value for f in cvm.features}["SecurityType"] == "ConfidentialVMSupported"


def test_byos_image_has_a_plan_and_its_agreement_can_be_accepted(sim: AzureSim, compute: Any) -> None:
    image = compute.virtual_machine_images.get("eastus", "RedHat", "RHEL-byos", "rhel-lvm9", "9.5.2024112208")
    assert (image.plan.publisher, image.plan.product, image.plan.name) == ("redhat", "rhel-byos", "rhel-lvm9")
    url = (
        f"{sim.base_url}/subscriptions/{SUB}/providers/Microsoft.MarketplaceOrdering/offerTypes/virtualmachine"
        "/publishers/redhat/offers/rhel-byos/plans/rhel-lvm9/agreements/current?api-version=2021-01-01"
    )
    headers = {"Authorization": "Bearer t"}
    assert (
        requests.get(url, headers=headers, verify=sim.ca_file, timeout=10).json()["properties"]["accepted"]
        is False
    )
    body = {"properties": {"accepted": True}}
    requests.put(url, json=body, headers=headers, verify=sim.ca_file, timeout=10).raise_for_status()
    assert (
        requests.get(url, headers=headers, verify=sim.ca_file, timeout=10).json()["properties"]["accepted"]
        is True
    )


def test_unknown_sku_or_version_is_not_found(compute: Any) -> None:
    with pytest.raises(ResourceNotFoundError) as err:
        compute.virtual_machine_images.get(*WS, "2022-datacenter", "1.0.0")
    assert arm_error(err.value) == ("NotFound", "Artifact: VMImage was not found.")
    with pytest.raises(ResourceNotFoundError):
        compute.virtual_machine_images.list(*WS, "no-such-sku")


def test_published_version_becomes_the_newest_and_latest_for_new_vms(
    sim: AzureSim, compute: Any, rg: str
) -> None:
    spec = {
        "publisher": "Canonical",
        "offer": "0001-com-ubuntu-server-jammy",
        "sku": "22_04-lts-gen2",
        "version": "22.04.202512010",
    }
    sim.control("POST", "/_sim/marketplace/versions", spec)
    newest = compute.virtual_machine_images.list(
        "westeurope",
        "Canonical",
        "0001-com-ubuntu-server-jammy",
        "22_04-lts-gen2",
        top=1,
        orderby="name desc",
    )
    assert [i.name for i in newest] == ["22.04.202512010"]
    ref = {
        "publisher": "Canonical",
        "offer": "0001-com-ubuntu-server-jammy",
        "sku": "22_04-lts-gen2",
        "version": "latest",
    }
    vm = compute.virtual_machines.begin_create_or_update(rg, "vm", vm_body(ref)).result()
    assert vm.storage_profile.image_reference.exact_version == "22.04.202512010"


def test_publishers_offers_and_skus_are_listed(compute: Any) -> None:
    assert "RedHat" in [p.name for p in compute.virtual_machine_images.list_publishers("eastus")]
    offers = [o.name for o in compute.virtual_machine_images.list_offers("eastus", "Canonical")]
    assert "ubuntu-24_04-lts" in offers
    skus = [
        s.name for s in compute.virtual_machine_images.list_skus("eastus", "Canonical", "ubuntu-24_04-lts")
    ]
    assert skus == ["server", "server-gen1"]


def test_byos_vm_needs_the_plan_and_accepted_terms(sim: AzureSim, compute: Any, rg: str) -> None:
    ref = {"publisher": "RedHat", "offer": "RHEL-byos", "sku": "rhel-lvm9", "version": "latest"}
    plan = {"name": "rhel-lvm9", "publisher": "redhat", "product": "rhel-byos"}
    url = (
        f"{sim.base_url}/subscriptions/{SUB}/providers/Microsoft.MarketplaceOrdering/offerTypes/virtualmachine"
        "/publishers/redhat/offers/rhel-byos/plans/rhel-lvm9/agreements/current?api-version=2021-01-01"
    )

    def accept(accepted: bool) -> None:
        body = {"properties": {"accepted": accepted}}
        requests.put(url, json=body, headers={"Authorization": "Bearer t"}, verify=sim.ca_file, timeout=10)

    accept(False)
    with pytest.raises(HttpResponseError) as err:
        compute.virtual_machines.begin_create_or_update(rg, "rhel", vm_body(ref)).result()
    assert arm_error(err.value)[0] == "VMMarketplaceInvalidInput"
    with pytest.raises(HttpResponseError) as err:
        compute.virtual_machines.begin_create_or_update(rg, "rhel", {**vm_body(ref), "plan": plan}).result()
    assert arm_error(err.value)[0] == "MarketplacePurchaseEligibilityFailed"
    accept(True)
    vm = compute.virtual_machines.begin_create_or_update(rg, "rhel", {**vm_body(ref), "plan": plan}).result()
    assert vm.plan.product == "rhel-byos"
    assert compute.disks.get(rg, vm.storage_profile.os_disk.name).hyper_v_generation == "V1"
