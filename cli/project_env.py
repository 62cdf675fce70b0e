"""The project's Python environment for ``python -m cli`` and ``python -m cli.local_stack`` run without it.

A fresh shell has no ``.venv`` active: ``python3`` is the system's, without kiln's packages, and the local
stack's children (started with the same interpreter) would die on their first import. Such a command starts
again under ``.venv/bin/python`` when it exists, and otherwise says what to run. Standard library only: this
module runs before any of kiln's packages can be imported.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_PYTHON = REPO / ".venv" / "bin" / "python"
# What the CLI, azuresim and devhost import first: present means kiln's environment is active.
NEEDED = ("requests", "aiohttp", "pydantic", "azure.functions")
SETUP_HINT = "run scripts/setup.sh (it creates .venv), then `. .venv/bin/activate`"


def missing_modules(names: tuple[str, ...] | None = None) -> list[str]:
    found = []
    for name in NEEDED if names is None else names:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            found.append(name)
    return found


def ensure_project_python(module: str, argv: list[str] | None = None) -> None:
    """Return when kiln's packages are importable; else run ``module`` again under ``.venv/bin/python``, or
    exit 2 with what to run when there is no ``.venv``."""
    missing = missing_modules()
    if not missing:
        return
    args = sys.argv[1:] if argv is None else argv
    here = Path(sys.executable).resolve() if sys.executable else None
    if VENV_PYTHON.exists() and here != VENV_PYTHON.resolve():
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), "-m", module, *args])
    print(
        f"error: kiln's Python packages are not installed for {sys.executable} "
        f"(missing {', '.join(missing)}): {SETUP_HINT}",
        file=sys.stderr,
    )
    raise SystemExit(2)
