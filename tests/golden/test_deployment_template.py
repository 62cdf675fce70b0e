"""Golden tests: the build VM's ARM template is pinned, byte for byte, in tests/golden/*.json.

After an intended change, regenerate the files and review the diff:
``KILN_REGENERATE_GOLDEN=1 pytest tests/golden -q``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from activities.support.deployment_template import (
    BuildVmNames,
    BuildVmSpec,
    ImageReference,
    KeyVaultSecretRef,
    build_vm_deployment,
    build_vm_parameters,
)
from shared import naming
from shared.models.azure import PurchasePlan

GOLDEN = Path(__file__).parent
SUB_ID = "00000000-0000-0000-0000-000000000000"
SUB = f"/subscriptions/{SUB_ID}"
VAULT = KeyVaultSecretRef(
    vault_id=f"{SUB}/resourceGroups/kiln/providers/Microsoft.KeyVault/vaults/kiln-kv",
    secret_name="build-admin",
)
TAGS = {
    "kiln.template": "ubuntu-base",
    "kiln.run": "2f1c9a7e-55aa-4c1b-9a0e-3b7d1f0c6e21",
    "kiln.expires": "x",
}

CASES: dict[str, BuildVmSpec] = {
    "linux_marketplace_trusted_launch_new_vnet": BuildVmSpec(
        run_id="2f1c9a7e-55aa-4c1b-9a0e-3b7d1f0c6e21",
        location="westeurope",
        os_type="Linux",
        vm_size="Standard_D2ds_v4",
        image_reference=ImageReference(
            publisher="Canonical", offer="ubuntu-24_04-lts", sku="server", version="24.04.202411030"
        ),
        trusted_launch=True,
        os_disk_size_gb=64,
        admin_password=VAULT,
        tags=TAGS,
    ),
    "windows_gallery_source_given_subnet": BuildVmSpec(
        run_id="9B3E41D0-7C2A-4F9E-8D11-0A6B5C4D3E2F",
        location="eastus2",
        os_type="Windows",
        vm_size="Standard_D4ds_v5",
        image_id=f"{SUB}/resourceGroups/images/providers/Microsoft.Compute/galleries/corp/images/win2022"
        "/versions/1.2.3",
        additional_data_disks_gb=[128, 256],
        user_assigned_identities=[
            f"{SUB}/resourceGroups/id/providers/Microsoft.ManagedIdentity/userAssignedIdentities/build-vm"
        ],
        subnet_id=f"{SUB}/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/hub"
        "/subnets/builders",
        admin_password=VAULT,
        tags={"kiln.run": "9b3e41d0"},
    ),
    "rhel_byos_marketplace_plan": BuildVmSpec(
        run_id="run-0042",
        location="northeurope",
        os_type="Linux",
        vm_size="Standard_D2s_v3",
        image_reference=ImageReference(
            publisher="RedHat", offer="rhel-byos", sku="rhel-lvm9", version="9.4.2024"
        ),
        plan=PurchasePlan(name="rhel-lvm9", product="rhel-byos", publisher="redhat"),
        admin_password=VAULT,
    ),
}


def _render(spec: BuildVmSpec) -> dict[str, Any]:
    return {"template": build_vm_deployment(spec), "parameters": build_vm_parameters(spec)}


@pytest.mark.parametrize("case", sorted(CASES))
def test_generated_template_matches_its_golden_file(case: str) -> None:
    path = GOLDEN / f"{case}.json"
    rendered = json.dumps(_render(CASES[case]), indent=2, sort_keys=True) + "\n"
    if os.environ.get("KILN_REGENERATE_GOLDEN") == "1":
        path.write_text(rendered)
    assert path.exists(), f"{path.name} missing: run KILN_REGENERATE_GOLDEN=1 pytest tests/golden"
    assert rendered == path.read_text()


def _by_type(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["type"]: r for r in template["resources"]}


def test_given_subnet_creates_no_vnet_nsg_or_public_ip() -> None:
    types = _by_type(build_vm_deployment(CASES["windows_gallery_source_given_subnet"]))
    assert set(types) == {
        "Microsoft.Storage/storageAccounts",
        "Microsoft.Network/networkInterfaces",
        "Microsoft.Compute/virtualMachines",
    }
    ip_config = types["Microsoft.Network/networkInterfaces"]["properties"]["ipConfigurations"][0][
        "properties"
    ]
    assert "publicIPAddress" not in ip_config
    assert ip_config["subnet"]["id"].endswith("/subnets/builders")


def test_new_network_has_an_nsg_without_inbound_rules_and_a_public_ip_for_outbound() -> None:
    types = _by_type(build_vm_deployment(CASES["linux_marketplace_trusted_launch_new_vnet"]))
    assert types["Microsoft.Network/networkSecurityGroups"]["properties"]["securityRules"] == []
    assert types["Microsoft.Network/publicIPAddresses"]["sku"] == {"name": "Standard"}


def test_every_build_resource_carries_the_spec_tags_and_the_staging_account_only_the_templates() -> None:
    template = build_vm_deployment(CASES["linux_marketplace_trusted_launch_new_vnet"])
    build = [r for r in template["resources"] if r["type"] != "Microsoft.Storage/storageAccounts"]
    (account,) = [r for r in template["resources"] if r["type"] == "Microsoft.Storage/storageAccounts"]
    assert build and all(r["tags"] == TAGS for r in build)
    # The account outlives the run: the janitor, which sweeps by kiln.run, must never find it.
    assert account["tags"] == {k: v for k, v in TAGS.items() if k != "kiln.run"}


def test_explicit_staging_account_tags_replace_the_spec_tags_on_the_account_only() -> None:
    spec = CASES["rhel_byos_marketplace_plan"].model_copy(
        update={"storage_account_tags": {"kiln.template": "t", "createdBy": "kiln"}}
    )
    types = _by_type(build_vm_deployment(spec))
    assert types["Microsoft.Storage/storageAccounts"]["tags"] == {"kiln.template": "t", "createdBy": "kiln"}
    assert types["Microsoft.Compute/virtualMachines"]["tags"] == spec.tags


def test_admin_password_is_a_key_vault_reference_never_a_literal() -> None:
    spec = CASES["rhel_byos_marketplace_plan"]
    template = build_vm_deployment(spec)
    vm = _by_type(template)["Microsoft.Compute/virtualMachines"]
    assert template["parameters"]["adminPassword"] == {"type": "securestring"}
    assert vm["properties"]["osProfile"]["adminPassword"] == "[parameters('adminPassword')]"
    assert build_vm_parameters(spec)["adminPassword"]["reference"]["secretName"] == "build-admin"


def test_plan_and_trusted_launch_appear_only_when_the_source_needs_them() -> None:
    rhel = _by_type(build_vm_deployment(CASES["rhel_byos_marketplace_plan"]))[
        "Microsoft.Compute/virtualMachines"
    ]
    ubuntu = _by_type(build_vm_deployment(CASES["linux_marketplace_trusted_launch_new_vnet"]))[
        "Microsoft.Compute/virtualMachines"
    ]
    assert rhel["plan"]["publisher"] == "redhat" and "securityProfile" not in rhel["properties"]
    assert ubuntu["properties"]["securityProfile"]["securityType"] == "TrustedLaunch" and "plan" not in ubuntu
    assert ubuntu["properties"]["diagnosticsProfile"] == {"bootDiagnostics": {"enabled": False}}


def test_names_derive_from_the_run_id_and_respect_azure_limits() -> None:
    names = BuildVmNames.for_run("9B3E41D0-7C2A-4F9E-8D11-0A6B5C4D3E2F")
    assert names == BuildVmNames.for_run("9B3E41D0-7C2A-4F9E-8D11-0A6B5C4D3E2F")
    assert names.vm == naming.build_vm_name("9B3E41D0-7C2A-4F9E-8D11-0A6B5C4D3E2F")
    assert re.fullmatch(r"[a-z0-9]{3,24}", names.storage_account)
    assert re.fullmatch(r"[a-zA-Z0-9-]{1,15}", names.computer)
    assert len(names.deployment) <= 64


def test_two_runs_of_one_template_share_no_build_resource_name_but_the_staging_account() -> None:
    first = BuildVmNames.for_run(naming.run_id(SUB_ID, "rg", "tpl", 1)).model_dump()
    second = BuildVmNames.for_run(naming.run_id(SUB_ID, "rg", "tpl", 2)).model_dump()
    other = BuildVmNames.for_run(naming.run_id(SUB_ID, "rg", "other", 1)).model_dump()
    per_run = {"deployment", "vm", "computer", "nic", "public_ip", "vnet", "nsg", "os_disk"}
    assert all(first[k] != second[k] for k in per_run), (first, second)
    # One staging account per template (AIB keeps it, and the logs, until the template is deleted).
    assert first["storage_account"] == second["storage_account"] != other["storage_account"]
    assert first["storage_account"] == naming.staging_storage_account_name(SUB_ID, "rg", "tpl")


@pytest.mark.parametrize("number", [1, 99999])
def test_names_of_real_run_ids_respect_azure_limits(number: int) -> None:
    names = BuildVmNames.for_run(naming.run_id(SUB_ID, "a" * 90, "b" * 64, number))
    assert len(names.computer) <= 15 and len(names.deployment) <= 64
    assert re.fullmatch(r"[a-z0-9]{3,24}", names.storage_account)


@pytest.mark.parametrize(
    "change",
    [
        {"image_reference": None},
        {"image_id": "/subscriptions/x/resourceGroups/y/providers/Microsoft.Compute/images/z"},
        {"run_id": "---"},
        {"os_disk_size_gb": -1},
    ],
)
def test_a_spec_without_exactly_one_source_or_with_bad_values_is_rejected(change: dict[str, Any]) -> None:
    data = CASES["rhel_byos_marketplace_plan"].model_dump() | change
    with pytest.raises(ValidationError):
        BuildVmSpec.model_validate(data)
