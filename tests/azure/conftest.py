"""Fixtures of the port-level contract suite: one ``backend`` parametrized over fake, azuresim and Azure.

Real Azure runs only with ``KILN_AZURE_CONTRACT=1`` and credentials in the environment (see
docs/azure-adapters.md); it is marked ``azure`` and skipped otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.azure.backends import Backend, azure_configured, azure_ports, sim_ports
from tests.fakes import FakeAzure, FakeCloud
from tests.support.azuresim import AzureSim
from tests.support.azurite import Azurite


@pytest.fixture(
    params=[
        "fake",
        "azuresim",
        pytest.param("azure", marks=pytest.mark.azure),
    ]
)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "fake":
        # Every long operation needs two reads, so tests see the transitional states.
        made = Backend("fake", FakeAzure(FakeCloud(lro_reads=2)))
    elif request.param == "azuresim":
        sim: AzureSim = request.getfixturevalue("azuresim")
        azurite: Azurite = request.getfixturevalue("azurite")
        made = Backend("azuresim", sim_ports(sim, azurite), sim=sim, azurite=azurite)
    else:
        if not azure_configured():
            pytest.skip(
                "set KILN_AZURE_CONTRACT=1 and KILN_SUBSCRIPTION_ID (and credentials) to run against Azure"
            )
        made = Backend(
            "azure", azure_ports(), location=os.environ.get("KILN_CONTRACT_LOCATION", "westeurope")
        )
    try:
        yield made
    finally:
        made.cleanup()
