"""infra/ as a compiler would see it: every file parses, modules get exactly the parameters they declare, and
main.bicep is a subscription deployment that creates its resource group; azd's parameter file fits it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.infra.bicep import INFRA, bicep_files, parse, resources, unwrap

MAIN = INFRA / "main.bicep"


def _module_calls() -> list[tuple[Path, str, Path, dict[str, object]]]:
    calls = []
    for path in bicep_files():
        for name, module in (parse(path).get("modules") or {}).items():
            assert module["type"] == "local", f"{path.name}: module {name} is not a local file"
            callee = (path.parent / module["detail"]["path"]).resolve()
            calls.append((path, name, callee, unwrap(module["config"])))
    return calls


def test_infra_holds_the_modules_the_deployment_is_made_of() -> None:
    names = {p.relative_to(INFRA).as_posix() for p in bicep_files()}
    assert names == {
        "main.bicep",
        "modules/builder-role.bicep",
        "modules/dead-letter-access.bicep",
        "modules/event-topic.bicep",
        "modules/function-app.bicep",
        "modules/identity-operator.bicep",
        "modules/identity.bicep",
        "modules/keyvault.bicep",
        "modules/monitoring.bicep",
        "modules/rbac.bicep",
        "modules/scheduler.bicep",
        "modules/storage.bicep",
    }


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: p.name)
def test_every_bicep_file_parses(path: Path) -> None:
    doc = parse(path)
    assert doc.get("resources") or doc.get("modules"), f"{path.name} declares nothing"


def test_every_module_file_is_used_by_main() -> None:
    used = {callee for _, _, callee, _ in _module_calls()}
    assert {p.resolve() for p in bicep_files() if p != MAIN} == used


@pytest.mark.parametrize("call", _module_calls(), ids=lambda c: f"{c[0].name}:{c[1]}")
def test_module_calls_pass_exactly_the_declared_parameters(
    call: tuple[Path, str, Path, dict[str, object]],
) -> None:
    caller, name, callee, body = call
    assert callee.is_file(), f"{caller.name}: module {name} points at a missing {callee}"
    declared = parse(callee).get("parameters") or {}
    passed = set(body.get("params") or {})  # type: ignore[call-overload]
    unknown = passed - set(declared)
    required = {p for p, spec in declared.items() if spec.get("default") is None}
    assert not unknown, f"{caller.name}: {name} passes parameters {callee.name} does not declare: {unknown}"
    assert required <= passed, f"{caller.name}: {name} leaves required parameters unset: {required - passed}"


def test_main_is_a_subscription_deployment_that_creates_the_resource_group() -> None:
    doc = parse(MAIN)
    assert doc["globals"]["scope"]["value"] == "subscription"
    groups = resources(doc, "Microsoft.Resources/resourceGroups")
    assert len(groups) == 1
    (rg_name,) = groups
    scoped = {n: unwrap(m["config"]).get("scope") for n, m in doc["modules"].items()}
    # Everything of kiln's own lives in that group; only the role definitions are subscription-wide, and the
    # identity operator grants and a reused topic sit where those resources are.
    assert {n for n, s in scoped.items() if s == rg_name} == {
        "identity",
        "storage",
        "monitoring",
        "vault",
        "scheduler",
        "app",
        "rbac",
        "deadLetterAccess",
    }
    assert scoped["builderRole"] is None


def test_registry_modules_are_not_used() -> None:
    for path in bicep_files():
        text = path.read_text()
        assert "br:" not in text and "br/public" not in text, f"{path.name} uses a registry module"


def test_azd_parameter_file_feeds_main_with_the_environment() -> None:
    params = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    declared = parse(MAIN)["parameters"]
    assert params["environmentName"]["value"] == "${AZURE_ENV_NAME}"
    assert params["location"]["value"] == "${AZURE_LOCATION}"
    assert params["principalId"]["value"] == "${AZURE_PRINCIPAL_ID}"
    assert set(params) <= set(declared), set(params) - set(declared)
    required = {p for p, spec in declared.items() if spec.get("default") is None}
    assert required <= set(params), f"main.bicep needs {required - set(params)} from azd"


def test_outputs_the_hook_and_the_cli_read_are_declared() -> None:
    outputs = set(parse(MAIN)["outputs"])
    hook = (INFRA / "hooks" / "postdeploy.sh").read_text()
    required = hook.split("for name in ", 1)[1].split("; do", 1)[0].replace("\\", " ").split()
    assert required and set(required) <= outputs, set(required) - outputs
    # The kiln CLI reads KILN_URL and KILN_SUBSCRIPTION (its connection settings) from the environment.
    assert {"KILN_URL", "KILN_SUBSCRIPTION", "KILN_API_APP_ID"} <= outputs
