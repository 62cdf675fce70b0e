"""The floors of docs/architecture.md, enforced on every import of kiln's code (lazy and TYPE_CHECKING
imports included): Face -> Service -> Flow / Steps -> Ports <- Azure adapters; Model imports nothing of ours
but errors; devhost and azuresim import nothing of kiln; the cli imports no adapter, no root and no service.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OURS = ("function_app", "functions", "shared", "orchestrators", "activities", "cli", "devhost", "azuresim")

# Floor of a module, by the longest matching prefix of its dotted name.
FLOORS = {
    "function_app": "face",
    "functions": "face",
    "shared.bootstrap": "root",
    "shared.service": "service",
    "orchestrators": "flow",
    "activities": "steps",
    "shared.store": "store",
    "shared.ports": "ports",
    "shared.azure": "adapters",
    "shared.models": "model",
    "shared.errors": "errors",
    "shared.naming": "common",
    "shared.redact": "common",
    "shared.settings": "settings",
    "cli": "cli",
    "devhost": "devhost",
    "azuresim": "azuresim",
}
# What each floor may import (besides itself).
MAY_IMPORT = {
    "face": {"root", "service", "store", "ports", "model", "errors", "common", "settings"},
    "root": {"service", "store", "ports", "adapters", "model", "errors", "common", "settings"},
    "service": {"store", "ports", "model", "errors", "common"},
    "flow": {"model", "errors", "common"},
    "steps": {"ports", "model", "errors", "common"},
    "store": {"errors"},
    "ports": {"model", "store", "errors"},
    "adapters": {"ports", "store", "model", "errors", "common", "settings"},
    "model": {"errors"},
    "errors": set(),
    "common": set(),
    "settings": set(),
    "cli": {"model", "errors", "common"},
    "devhost": set(),
    "azuresim": set(),
}
# The allowed exceptions, each with its reason: (importing module, imported module prefix).
EXCEPTIONS = {
    # The Durable registrations are the face of the flow and of the steps: they bind each descriptor to the
    # orchestrator or activity function that implements it. No other function reaches into either.
    ("functions.orchestrations", "orchestrators"): "registers the orchestrators",
    ("functions.activities", "activities"): "registers the activities",
}


def floor_of(module: str) -> str | None:
    matches = [prefix for prefix in FLOORS if module == prefix or module.startswith(prefix + ".")]
    return FLOORS[max(matches, key=len)] if matches else None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(tree: ast.AST, module: str) -> list[tuple[int, str]]:
    """Every module of ours that ``tree`` imports, with its line (relative imports resolved)."""
    found: list[tuple[int, str]] = []
    package = module.rsplit(".", 1)[0] if "." in module else module
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            found += [(node.lineno, f"{base}.{alias.name}" if base else alias.name) for alias in node.names]
    return [(line, name) for line, name in found if name.split(".")[0] in OURS]


def violations(module: str, imported: list[tuple[int, str]]) -> list[str]:
    """The imports of ``module`` against the floors."""
    here = floor_of(module)
    if here is None:
        return []
    found = []
    for line, name in imported:
        there = floor_of(name) or floor_of(name.rsplit(".", 1)[0])
        if there is None or there == here or there in MAY_IMPORT[here]:
            continue
        if any(module == m and (name == p or name.startswith(p + ".")) for m, p in EXCEPTIONS):
            continue
        found.append(f"{module}:{line} ({here}) imports {name} ({there})")
    return found


def kiln_modules() -> list[Path]:
    trees = ["functions", "shared", "orchestrators", "activities", "cli", "devhost", "azuresim"]
    return [ROOT / "function_app.py", *(p for t in trees for p in sorted((ROOT / t).rglob("*.py")))]


def test_no_module_imports_against_the_floors() -> None:
    found = []
    for path in kiln_modules():
        module = module_name(path)
        found += violations(module, imports_of(ast.parse(path.read_text()), module))

    assert found == [], "\n".join(found)
    assert len(kiln_modules()) > 150  # the walk really reads the tree


def test_the_check_would_have_caught_each_import_against_the_floors_kiln_had() -> None:
    before = [
        ("activities.wiring", "shared.azure.fetcher"),  # a step building an adapter
        ("activities.janitor", "shared.service.run_documents"),  # a step calling up into the service
        ("activities.outputs", "shared.service.runs"),
        ("activities.run_status", "shared.service.run_control"),
        ("activities.run_functions", "shared.service.get_service"),
        ("functions.janitor", "activities.janitor.sweep"),  # a timer reaching into the steps
        ("cli.local_artifacts", "devhost.tls"),  # the cli importing the host
        ("shared.models.build", "shared.service.contract"),  # the model importing the service
        ("orchestrators.flow", "shared.bootstrap"),  # the flow reaching the root
        ("shared.service.templates", "shared.azure.resources"),  # the service building an adapter
        ("cli.templates", "shared.bootstrap.root"),
        ("devhost.server", "shared.settings"),
        ("azuresim.server", "shared.models.azure"),
    ]
    for module, name in before:
        assert violations(module, [(1, name)]), f"{module} -> {name} went unnoticed"


def test_what_the_floors_allow_is_not_flagged() -> None:
    allowed = [
        ("functions.activities", "activities.steps"),
        ("functions.api_runs", "shared.bootstrap.root"),
        ("shared.bootstrap.root", "shared.azure.docstore"),
        ("activities.steps", "shared.ports"),
        ("orchestrators.flow", "shared.models.durable"),
        ("shared.azure.docstore", "shared.store.port"),
        ("cli.validate", "shared.models"),
    ]
    for module, name in allowed:
        assert violations(module, [(1, name)]) == [], f"{module} -> {name}"
