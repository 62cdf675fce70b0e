"""Reading infra/ as data: each Bicep file parsed by pycep-parser into JSON, and small helpers over that JSON.

pycep gives identifiers and string literals alike as plain strings, and keeps ``${...}`` interpolations as
text; the helpers resolve only what the tests need (variables, ``roles.x`` lookups, loop/condition wrappers).
"""

from __future__ import annotations

import fnmatch
import json
from functools import cache
from pathlib import Path
from typing import Any

from pycep import BicepParser

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
MODULES = INFRA / "modules"
FUNCTION_APP = MODULES / "function-app.bicep"

# Built-in role definition ids (Azure's published GUIDs).
BUILT_IN_ROLES = {
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
    "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    "Durable Task Data Contributor": "0ad04412-c4d5-4796-b79c-f76d14c8d402",
    "Managed Identity Operator": "f1a07417-d97a-45cb-824c-7a7467783830",
}


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


@cache
def _parse(path: Path) -> str:
    # cache=False: Lark's grammar cache would be written to the system temp folder.
    return json.dumps(BicepParser(cache=False).parse(file_path=path), default=str)


def parse(path: Path) -> dict[str, Any]:
    """The pycep JSON of one file (a fresh copy: tests may not change each other's view)."""
    data: dict[str, Any] = json.loads(_parse(path))
    return data


def unwrap(config: Any) -> Any:
    """A resource's or module's body without its ``for`` / ``if`` wrappers."""
    while (
        isinstance(config, dict)
        and "config" in config
        and set(config) <= {"config", "condition", "loop_type"}
    ):
        config = config["config"]
    return config


def condition_of(entry: dict[str, Any]) -> Any:
    """The ``if (...)`` of a resource or module, None when unconditional."""
    config = entry.get("config")
    return config.get("condition") if isinstance(config, dict) and "config" in config else None


def resources(
    doc: dict[str, Any], type_: str | None = None, *, existing: bool | None = False
) -> dict[str, Any]:
    """Resources of a file by symbolic name (``existing`` ones excluded unless asked for)."""
    found = {}
    for name, entry in (doc.get("resources") or {}).items():
        if type_ is not None and entry["type"].lower() != type_.lower():
            continue
        if existing is not None and bool(entry.get("existing")) != existing:
            continue
        found[name] = entry
    return found


def only(doc: dict[str, Any], type_: str) -> dict[str, Any]:
    """The body of the one resource of ``type_`` in a file."""
    found = resources(doc, type_)
    assert len(found) == 1, f"expected one {type_}, found {sorted(found)}"
    body: dict[str, Any] = unwrap(next(iter(found.values()))["config"])
    return body


def variable(doc: dict[str, Any], name: str) -> Any:
    return doc["variables"][name]["value"]


def accessor(value: Any) -> tuple[str, str] | None:
    """``('a', 'b')`` for the expression ``a.b``, else None."""
    if isinstance(value, dict) and value.get("operator", {}).get("type") == "property_accessor":
        operands = value["operator"]["operands"]
        if isinstance(operands["operand_1"], str) and isinstance(operands["operand_2"], str):
            return operands["operand_1"], operands["operand_2"]
    return None


def dotted(value: Any) -> str | None:
    """``'a.b.c'`` for the expression ``a.b.c``, else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and value.get("operator", {}).get("type") == "property_accessor":
        operands = value["operator"]["operands"]
        left, right = dotted(operands["operand_1"]), dotted(operands["operand_2"])
        if left is not None and right is not None:
            return f"{left}.{right}"
    return None


def role_id_of(doc: dict[str, Any], role_definition_id: Any) -> str:
    """The GUID (or the expression's text) a roleAssignment's roleDefinitionId names."""
    if isinstance(role_definition_id, dict) and "function" in role_definition_id:
        fn = role_definition_id["function"]
        assert fn["type"] == "subscription_resource_id", fn
        assert fn["parameters"]["resource_type"] == "Microsoft.Authorization/roleDefinitions"
        name = fn["parameters"]["resource_name_1"]
        pair = accessor(name)
        if pair is not None:
            return str(variable(doc, pair[0])[pair[1]])
        if isinstance(name, str) and name in (doc.get("variables") or {}):
            return str(variable(doc, name))
        return str(name)
    return str(role_definition_id)


def app_settings() -> dict[str, Any]:
    """Every app setting the function app module can set, name -> value expression."""
    doc = parse(FUNCTION_APP)
    settings: dict[str, Any] = {}
    for part in ("hostStorageSettings", "kilnSettings", "schedulerSettings"):
        for entry in variable(doc, part):
            assert entry["name"] not in settings, f"{entry['name']} set twice"
            settings[entry["name"]] = entry["value"]
    return settings


@cache
def shipped_python_files() -> tuple[tuple[Path, str], ...]:
    """The Python files azd deploys (the repository less what .funcignore leaves out), with their text."""
    ignored = [
        line.strip().rstrip("/")
        for line in (REPO / ".funcignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    files = []
    for path in sorted(REPO.rglob("*.py")):
        parts = path.relative_to(REPO).parts
        if any(part.startswith(".") for part in parts):
            continue
        if any(fnmatch.fnmatch(part, pattern) for part in parts for pattern in ignored):
            continue
        files.append((path, path.read_text(encoding="utf-8")))
    return tuple(files)
