"""A devhost subprocess running the shared test app, shared by the tests of one module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.devhost import Devhost, start_devhost

TESTAPP = Path(__file__).resolve().parents[1] / "apps" / "testapp"
FUNCTION_KEY = "test-function-key"
MASTER_KEY = "test-master-key"


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devhost]:
    state = tmp_path_factory.mktemp("devhost-state")
    events = state / "events.jsonl"
    server = start_devhost(
        TESTAPP,
        state_dir=state,
        function_key=FUNCTION_KEY,
        master_key=MASTER_KEY,
        env={"TESTAPP_EVENTS_FILE": str(events)},
    )
    try:
        yield server
    finally:
        server.stop()
