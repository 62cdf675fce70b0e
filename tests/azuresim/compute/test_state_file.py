"""What the compute providers keep survives a restart of azuresim with --state-file: VM runtime state, run
command results, Marketplace additions and Key Vault secrets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from azure.keyvault.secrets import SecretClient
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient

from tests.azuresim.compute.conftest import SUB, vm_body
from tests.support.azuresim import AzureSim, start_azuresim
from tests.support.azurite import Azurite

pytestmark = pytest.mark.timeout(90)


def clients(sim: AzureSim) -> tuple[Any, SecretClient]:
    return sim.mgmt_client(ComputeManagementClient, SUB), sim.secret_client()


def populate(sim: AzureSim) -> str:
    sim.mgmt_client(ResourceManagementClient, SUB).resource_groups.create_or_update(
        "rg-state", {"location": "eastus"}
    )
    compute, secrets = clients(sim)
    compute.virtual_machines.begin_create_or_update("rg-state", "vm1", vm_body()).result()
    body = {"location": "eastus", "properties": {"source": {"script": "echo persisted"}}}
    compute.virtual_machine_run_commands.begin_create_or_update("rg-state", "vm1", "step", body).result()
    compute.virtual_machines.begin_deallocate("rg-state", "vm1").result()
    compute.virtual_machines.generalize("rg-state", "vm1")
    spec = {
        "publisher": "Canonical",
        "offer": "ubuntu-24_04-lts",
        "sku": "server",
        "version": "24.04.202601010",
    }
    sim.control("POST", "/_sim/marketplace/versions", spec)
    return str(secrets.set_secret("kept", "value-1").properties.version)


def test_compute_state_survives_a_restart(azurite: Azurite, tmp_path: Path) -> None:
    state = tmp_path / "azuresim.json"
    with start_azuresim(storage_connection_string=azurite.connection_string, state_file=state) as first:
        version = populate(first)
    assert "protectedParameters" not in state.read_text()
    assert state.stat().st_mode & 0o777 == 0o600  # it holds Key Vault secrets
    with start_azuresim(storage_connection_string=azurite.connection_string, state_file=state) as second:
        compute, secrets = clients(second)
        view = compute.virtual_machines.instance_view("rg-state", "vm1")
        assert [s.code for s in view.statuses][1:] == ["OSState/generalized", "PowerState/deallocated"]
        cmd = compute.virtual_machine_run_commands.get_by_virtual_machine(
            "rg-state", "vm1", "step", expand="instanceView"
        )
        assert (cmd.instance_view.execution_state, cmd.instance_view.output) == ("Succeeded", "persisted\n")
        newest = compute.virtual_machine_images.list(
            "eastus", "Canonical", "ubuntu-24_04-lts", "server", top=1, orderby="name desc"
        )
        assert newest[0].name == "24.04.202601010"
        assert secrets.get_secret("kept", version).value == "value-1"
    assert json.loads(state.read_text())["control"]["keyvault.secrets"]["kept"]["name"] == "kept"
