"""Fixtures for the azuresim core tests: one azuresim per module, SDK clients over HTTPS."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from azure.mgmt.resource.deployments import DeploymentsMgmtClient
from azure.mgmt.resource.resources import ResourceManagementClient

from tests.support.azuresim import AzureSim, SimCredential, start_azuresim
from tests.support.azurite import Azurite

SUB = "00000000-0000-0000-0000-000000000001"


@pytest.fixture(scope="module")
def sim(azurite: Azurite) -> Iterator[AzureSim]:
    server = start_azuresim(storage_connection_string=azurite.connection_string, extra_args=["--seed", "7"])
    try:
        yield server
    finally:
        server.stop()


def client_kwargs(sim: AzureSim) -> dict[str, object]:
    return {"base_url": sim.base_url, "connection_verify": sim.ca_file, "polling_interval": 0.05}


@pytest.fixture
def resources(sim: AzureSim) -> ResourceManagementClient:
    return ResourceManagementClient(SimCredential(), SUB, **client_kwargs(sim))  # type: ignore[arg-type]


@pytest.fixture
def deployments(sim: AzureSim) -> DeploymentsMgmtClient:
    return DeploymentsMgmtClient(SimCredential(), SUB, **client_kwargs(sim))  # type: ignore[arg-type]


@pytest.fixture
def rg_name() -> str:
    return f"rg-{uuid.uuid4().hex[:8]}"
