"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.azuresim import AzureSim, start_azuresim
from tests.support.azurite import Azurite, start_azurite


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """One in-memory Azurite blob service for the test session."""
    server = start_azurite()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def azuresim(azurite: Azurite) -> Iterator[AzureSim]:
    """One azuresim for the test session, its storage accounts served by the session's Azurite.

    Shared: a test that adds fault rules or latency removes them again. Tests that need a sim of their own
    (state files, restarts, a latency model) use ``with start_azuresim(...) as sim:``.
    """
    with start_azuresim(storage_connection_string=azurite.connection_string) as sim:
        yield sim
