"""Fixtures for the azuresim core tests: SDK clients over HTTPS to the module's azuresim."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from azure.mgmt.resource.deployments import DeploymentsMgmtClient
from azure.mgmt.resource.resources import ResourceManagementClient

from activities.support.deployment_template import (
    BuildVmNames,
    BuildVmSpec,
    ImageReference,
    KeyVaultSecretRef,
    build_vm_deployment,
    build_vm_parameters,
)
from tests.support.azuresim import AzureSim, start_azuresim
from tests.support.azurite import Azurite

SUB = "00000000-0000-0000-0000-000000000001"


@pytest.fixture
def resources(sim: AzureSim) -> ResourceManagementClient:
    return sim.mgmt_client(ResourceManagementClient, SUB)


@pytest.fixture
def deployments(sim: AzureSim) -> DeploymentsMgmtClient:
    return sim.mgmt_client(DeploymentsMgmtClient, SUB)


@pytest.fixture
def rg_name() -> str:
    return f"rg-{uuid.uuid4().hex[:8]}"


@contextmanager
def slow_azuresim(azurite: Azurite, ops: dict[str, float], **start: Any) -> Iterator[AzureSim]:
    """A fresh azuresim at latency scale 1 where only ``ops`` take time (a bare ARM request takes none)."""
    with start_azuresim(
        storage_connection_string=azurite.connection_string, latency_scale=1.0, **start
    ) as sim:
        sim.control("PUT", "/_sim/latency", {"ops": {"arm.request": 0.0, **ops}})
        yield sim


def deploy_build_vm(
    sim: AzureSim,
    resources: ResourceManagementClient,
    deployments: DeploymentsMgmtClient,
    rg_name: str,
    *,
    run_id: str,
    secret_name: str,
    tags: dict[str, str] | None = None,
) -> tuple[BuildVmNames, Any]:
    """Deploy kiln's build VM (VM, NIC, public IP, NSG, VNet, storage) into a new group ``rg_name``, its admin
    password a Key Vault reference to ``secret_name``; return its names and the finished deployment."""
    sim.secret_client().set_secret(secret_name, "S3cret-Passw0rd!")
    resources.resource_groups.create_or_update(rg_name, {"location": "eastus"})
    spec = BuildVmSpec(
        run_id=run_id,
        location="eastus",
        os_type="Linux",
        vm_size="Standard_D2s_v5",
        image_reference=ImageReference(
            publisher="Canonical", offer="ubuntu-24_04-lts", sku="server", version="24.04.202411030"
        ),
        admin_password=KeyVaultSecretRef(vault_id="/subscriptions/x/vaults/kv", secret_name=secret_name),
        tags=tags or {},
    )
    names = BuildVmNames.for_run(spec.run_id)
    body: Any = {
        "properties": {
            "mode": "Incremental",
            "template": build_vm_deployment(spec),
            "parameters": build_vm_parameters(spec),
        }
    }
    result = deployments.deployments.begin_create_or_update(rg_name, names.deployment, body).result(
        timeout=30
    )
    return names, result
