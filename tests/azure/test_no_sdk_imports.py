"""Nothing outside shared/azure/ imports an Azure SDK (the Functions framework excepted, where it belongs)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Trees that may import SDKs: the adapters, and what is not kiln's runtime code.
EXEMPT = {"shared/azure", "tests", "bench", "devhost", "azuresim", ".venv", "node_modules", "build", ".state"}
# The Azure Functions framework (not an Azure service SDK), for the modules that host kiln.
FRAMEWORK = {"azure.functions", "azure.durable_functions"}
FRAMEWORK_USERS = ("functions/", "orchestrators/", "function_app.py")
# The CLI signs in to a kiln in Azure with azure-identity (a client's credential, not a service SDK).
CLIENT_SIGN_IN = {("cli/auth.py", "azure.identity")}


def _our_modules() -> list[Path]:
    found = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if not any(rel == e or rel.startswith(e + "/") for e in EXEMPT) and "/." not in f"/{rel}":
            found.append(path)
    return found


def _azure_imports(tree: ast.AST) -> list[tuple[int, str]]:
    names: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append((node.lineno, node.module))
    return [(line, n) for line, n in names if n == "azure" or n.startswith("azure.")]


def _allowed(rel: str, module: str) -> bool:
    if (rel, module) in CLIENT_SIGN_IN:
        return True
    framework = any(module == f or module.startswith(f + ".") for f in FRAMEWORK)
    return framework and rel.startswith(FRAMEWORK_USERS)


def test_only_the_adapters_import_azure_sdks() -> None:
    offenders = []
    for path in _our_modules():
        rel = path.relative_to(ROOT).as_posix()
        for line, module in _azure_imports(ast.parse(path.read_text(), filename=rel)):
            if not _allowed(rel, module):
                offenders.append(f"{rel}:{line} imports {module}")

    assert offenders == [], "Azure SDKs belong in shared/azure/ only:\n" + "\n".join(offenders)


def test_the_check_sees_the_modules_it_guards_and_catches_an_sdk_import() -> None:
    checked = {p.relative_to(ROOT).as_posix() for p in _our_modules()}
    smuggled = ast.parse("import os\nfrom azure.mgmt.compute import ComputeManagementClient\n")

    assert {
        "shared/bootstrap/root.py",
        "shared/ports.py",
        "activities/support/deployment_template.py",
    } <= checked
    assert not any(c.startswith("shared/azure/") for c in checked)
    assert _azure_imports(smuggled) == [(2, "azure.mgmt.compute")]
    assert _allowed("functions/arm.py", "azure.functions") and not _allowed(
        "shared/service.py", "azure.functions"
    )
    assert _allowed("cli/auth.py", "azure.identity") and not _allowed("cli/client.py", "azure.identity")
