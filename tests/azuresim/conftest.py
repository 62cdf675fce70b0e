"""The azuresim tests' own azuresim: one per module, since they change its faults, latency and outcomes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.azuresim import AzureSim, start_azuresim
from tests.support.azurite import Azurite


@pytest.fixture(scope="module")
def sim(azurite: Azurite) -> Iterator[AzureSim]:
    # A fixed seed makes the probability fault rules repeatable.
    with start_azuresim(
        storage_connection_string=azurite.connection_string, extra_args=["--seed", "7"]
    ) as server:
        yield server
