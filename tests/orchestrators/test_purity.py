"""Orchestrators are pure and replayable (architecture decision 1): their imports and calls are checked."""

from __future__ import annotations

import ast
from pathlib import Path

ORCHESTRATORS = Path(__file__).resolve().parents[2] / "orchestrators"
ALLOWED_PREFIXES = (
    "__future__",
    "azure.durable_functions",
    "collections.abc",
    "dataclasses",
    "datetime",
    "typing",
    "orchestrators",
    "shared.models",
    "shared.naming",
    "shared.errors",
)
FORBIDDEN_CALLS = {"now", "utcnow", "today", "time", "sleep", "uuid4", "random", "randint", "getenv", "open"}


def modules() -> list[Path]:
    return sorted(ORCHESTRATORS.glob("*.py"))


def test_orchestrators_import_only_pure_modules() -> None:
    offending = []
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            offending += [f"{path.name}: {n}" for n in names if not n.startswith(ALLOWED_PREFIXES)]
    assert offending == []
    assert len(modules()) >= 5


def test_orchestrators_read_no_clock_randomness_or_environment() -> None:
    offending = []
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in FORBIDDEN_CALLS:
                    offending.append(f"{path.name}:{node.lineno} {name}()")
    assert offending == []


def test_the_purity_check_catches_a_wall_clock_read(tmp_path: Path) -> None:
    tree = ast.parse("import datetime\nx = datetime.datetime.now()\n")
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert any(isinstance(c.func, ast.Attribute) and c.func.attr in FORBIDDEN_CALLS for c in calls)
