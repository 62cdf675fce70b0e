"""Where the test helpers put the folders they make: under pytest's base temporary directory, which pytest
removes at the end of the session (``tmp_path_retention_policy = "none"``), never loose in the temp dir.

Outside pytest (the benchmarks start the same helpers) the folders go under one directory of the process,
removed when it exits.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

_root: Path | None = None


def use_root(path: Path) -> None:
    """Make ``path`` the parent of every folder the helpers create (the session fixture calls this)."""
    global _root
    path.mkdir(parents=True, exist_ok=True)
    _root = path


def new_dir(prefix: str) -> Path:
    """A new, empty folder for one helper (an azuresim's CA, a devhost's state, a stack)."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir=_root or _process_root()))


def _process_root() -> Path:
    global _root
    _root = Path(tempfile.mkdtemp(prefix="kiln-run-"))
    atexit.register(shutil.rmtree, _root, True)
    return _root
