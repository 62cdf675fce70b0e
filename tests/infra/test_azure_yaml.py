"""azure.yaml: what azd needs to provision infra/ and deploy kiln as a Flex Consumption Python app."""

from __future__ import annotations

import os

import yaml

from tests.infra.bicep import INFRA, REPO, parse

AZD_TOP_LEVEL = {
    "name",
    "metadata",
    "infra",
    "services",
    "hooks",
    "pipeline",
    "workflows",
    "state",
    "resourceGroup",
}
AZD_HOOKS = {
    "preprovision",
    "postprovision",
    "predeploy",
    "postdeploy",
    "prepackage",
    "postpackage",
    "preup",
    "postup",
    "predown",
    "postdown",
    "prerestore",
    "postrestore",
}


def _azure_yaml() -> dict[str, object]:
    data = yaml.safe_load((REPO / "azure.yaml").read_text())
    assert isinstance(data, dict)
    return data


def test_azure_yaml_has_only_keys_azd_knows() -> None:
    data = _azure_yaml()
    assert set(data) <= AZD_TOP_LEVEL, set(data) - AZD_TOP_LEVEL
    assert data["name"] == "kiln"


def test_infra_is_the_bicep_of_main() -> None:
    infra = _azure_yaml()["infra"]
    assert infra == {"provider": "bicep", "path": "infra", "module": "main"}
    assert (INFRA / "main.bicep").is_file() and (INFRA / "main.parameters.json").is_file()


def test_the_one_service_is_the_python_function_app_at_the_root() -> None:
    services = _azure_yaml()["services"]
    assert services == {"api": {"project": ".", "language": "python", "host": "function"}}
    assert (REPO / "function_app.py").is_file() and (REPO / "requirements.txt").is_file()
    # azd deploys to the site tagged with the service name.
    assert "'azd-service-name': 'api'" in (INFRA / "modules" / "function-app.bicep").read_text()


def test_postdeploy_hook_runs_the_event_grid_subscription_script() -> None:
    hooks = _azure_yaml()["hooks"]
    assert isinstance(hooks, dict) and set(hooks) <= AZD_HOOKS
    assert set(hooks) == {"postdeploy"}
    hook = hooks["postdeploy"]
    assert hook["shell"] == "sh" and hook["continueOnError"] is False
    script = REPO / hook["run"]
    assert script.is_file() and os.access(script, os.X_OK)
    assert script.parent == INFRA / "hooks"


def test_deployment_package_leaves_out_infra_and_tooling() -> None:
    ignored = {line.strip() for line in (REPO / ".funcignore").read_text().splitlines()}
    assert {"infra", "azure.yaml", ".venv", ".venv-checkov", "tests"} <= ignored
    assert parse(INFRA / "main.bicep")  # the file azd provisions parses
