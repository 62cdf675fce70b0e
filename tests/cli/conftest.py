"""Where the CLI tests find their inputs: the shared AIB fixtures and the repository's examples."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def shared_dir() -> Path:
    """The shared checkout: ``$KILN_SHARED_DIR`` or ``<repo>/../shared`` (CI clones it beside the repo)."""
    override = os.environ.get("KILN_SHARED_DIR")
    return Path(override) if override else REPO.parent / "shared"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The real AIB templates; their absence is a failure, never a skip."""
    directory = shared_dir() / "fixtures" / "aib-templates"
    if not directory.is_dir():
        pytest.fail(
            f"AIB template fixtures not found at {directory}: clone the shared repository beside this one "
            "or set KILN_SHARED_DIR to its path."
        )
    return directory
