"""Where the shared AIB template fixtures are: ``$KILN_SHARED_DIR`` or ``<repo>/../shared``.

CI clones the repository with a copy of shared/ beside it. Their absence is a failure, never a skip: a suite
that silently stopped looking at real templates would still be green.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def shared_dir() -> Path:
    """The shared checkout: ``$KILN_SHARED_DIR`` or ``<repo>/../shared``."""
    override = os.environ.get("KILN_SHARED_DIR")
    return Path(override) if override else REPO.parent / "shared"


def aib_fixtures(subdir: str = "") -> Path:
    """The AIB template fixtures (or one source's folder of them); fails the test when they are missing."""
    directory = shared_dir() / "fixtures" / "aib-templates" / subdir
    if not directory.is_dir():
        pytest.fail(
            f"AIB template fixtures not found at {directory}: clone the shared repository beside this one "
            "or set KILN_SHARED_DIR to its path."
        )
    return directory
