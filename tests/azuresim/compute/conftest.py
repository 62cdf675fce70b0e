"""Fixtures for the azuresim compute tests: official SDK clients over HTTPS to the module's azuresim."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient

from tests.support.azuresim import AzureSim

SUB = "00000000-0000-0000-0000-0000000000c0"
LOCATION = "eastus"
UBUNTU = {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest"}


@pytest.fixture
def compute(sim: AzureSim) -> Any:
    # Typed Any: the SDK's overloads accept only its models, while at run time it takes the JSON dicts the
    # tests send (the same bodies kiln's adapters send).
    return sim.mgmt_client(ComputeManagementClient, SUB)


@pytest.fixture
def rg(sim: AzureSim) -> str:
    """A fresh resource group."""
    name = f"rg-{uuid.uuid4().hex[:8]}"
    client = sim.mgmt_client(ResourceManagementClient, SUB)
    client.resource_groups.create_or_update(name, {"location": LOCATION})
    return name


def vm_body(image: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "location": LOCATION,
        "properties": {
            "hardwareProfile": {"vmSize": "Standard_D2s_v5"},
            "storageProfile": {
                "imageReference": dict(image or UBUNTU),
                "osDisk": {"createOption": "FromImage"},
            },
            "osProfile": {"computerName": "build", "adminUsername": "kiln", "adminPassword": "S3cret!pass"},
        },
    }
    body["properties"].update(extra)
    return body


@pytest.fixture
def make_vm(compute: Any, rg: str) -> Callable[..., Any]:
    """Create a VM through the SDK and return it (the SDK's VirtualMachine model)."""

    def make(name: str = "vm1", **kwargs: Any) -> Any:
        return compute.virtual_machines.begin_create_or_update(rg, name, vm_body(**kwargs)).result()

    return make
