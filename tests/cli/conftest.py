"""Where the CLI tests find their inputs: the shared AIB fixtures and the repository's examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.fixtures import aib_fixtures

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The real AIB templates; their absence is a failure, never a skip."""
    return aib_fixtures()
