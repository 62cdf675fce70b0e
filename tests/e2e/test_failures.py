"""A failure at each phase of a build ends the run Failed (or PartiallySucceeded) with a message that says
where and why, and deletes every temporary resource of the run.

All scenarios run at once on the module's stack; each has its own template, and its fault rules and
run-command outcomes match only that template's names (its staging group, its image definition, its step).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest

from tests.support import secrets
from tests.support.scenarios import (
    LOCATION,
    UBUNTU,
    gallery_target,
    linux_template,
    managed_image_target,
    outcome,
    run_parallel,
    shell,
)
from tests.support.sim_control import GALLERY_ID
from tests.support.stack import KilnStack

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(600)]


def build(
    stack: KilnStack, name: str, body: dict[str, Any], fault: Callable[[str], dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Create the template, add ``fault(a regex of its staging resource group)``, run it to the end."""
    stack.create_template(name, body)
    if fault is not None:
        # Run ids are not predictable; the staging group's name is IT_<rg>_<template>_<guid>. (Not the
        # template's exactStagingResourceGroup: at the time of writing the build uses another guid.)
        stack.add_fault(fault(f"IT_[^/]*_{name}_[^/]+"))
    run_id = stack.start_run(name)
    return {"name": name, "run_id": run_id, "run": stack.wait_run(name, run_id, timeout=420)}


STEPS = [shell("say-hello", "echo hello")]


def own_target(stack: KilnStack, name: str) -> list[dict[str, Any]]:
    # A definition per scenario: builds publishing to one definition at once would race for a version.
    return [gallery_target(stack.define_image(f"e2e-{name}"), "ok")]


def resolve(stack: KilnStack) -> dict[str, Any]:
    body = linux_template(customize=STEPS, distribute=own_target(stack, "fail-resolve"))
    body["properties"]["source"]["sku"] = "no-such-sku-e2e"
    return build(stack, "fail-resolve", body)


def preflight(stack: KilnStack) -> dict[str, Any]:
    missing = gallery_target(f"{GALLERY_ID}/images/e2e-no-such-definition", "missing")
    return build(stack, "fail-preflight", linux_template(customize=STEPS, distribute=[missing]))


def deploy(stack: KilnStack) -> dict[str, Any]:
    def allocation_failed(group: str) -> dict[str, Any]:
        path = f"/resourceGroups/{group}/providers/Microsoft.Compute/virtualMachines/[^/]+$"
        return {"method": "PUT", "path": path, "status": 409, "code": "AllocationFailed"}

    body = linux_template(customize=STEPS, distribute=own_target(stack, "fail-deploy"))
    return build(stack, "fail-deploy", body, allocation_failed)


def deploy_put(stack: KilnStack) -> dict[str, Any]:
    def refused(group: str) -> dict[str, Any]:
        path = f"/resourceGroups/{group}/providers/Microsoft.Resources/deployments/[^/]+$"
        message = "e2e: the deployment was refused"
        return {
            "method": "PUT",
            "path": path,
            "status": 400,
            "code": "InvalidTemplateDeployment",
            "message": message,
        }

    body = linux_template(customize=STEPS, distribute=own_target(stack, "fail-deploy-put"))
    return build(stack, "fail-deploy-put", body, refused)


def artifacts(stack: KilnStack) -> dict[str, Any]:
    uri, _sha = stack.artifacts.add("fail-artifacts/app.conf", b"listen 8080\n")
    file_step = {
        "type": "File",
        "name": "app-config",
        "sourceUri": uri,
        "sha256Checksum": "0" * 64,
        "destination": "/tmp/app.conf",
    }
    body = linux_template(customize=[*STEPS, file_step], distribute=own_target(stack, "fail-artifacts"))
    return build(stack, "fail-artifacts", body)


def customize(stack: KilnStack) -> dict[str, Any]:
    stack.add_outcomes(
        {
            "pattern": "install-app-e2e-breaks",
            "exitCode": 3,
            "stdout": "step 1 ok\nstep 2 ok\n",
            "stderr": "E: the e2e package is broken\n",
        }
    )
    body = linux_template(
        customize=[*STEPS, shell("install-app-e2e-breaks", "apt-get install app")],
        distribute=own_target(stack, "fail-customize"),
    )
    return build(stack, "fail-customize", body)


def validate(stack: KilnStack) -> dict[str, Any]:
    stack.add_outcomes(
        {"pattern": "check-nginx-e2e-breaks", "exitCode": 1, "stderr": "nginx is not running\n"}
    )
    body = linux_template(
        customize=STEPS,
        distribute=own_target(stack, "fail-validate"),
        validate={"inVMValidations": [shell("check-nginx-e2e-breaks", "systemctl is-active nginx")]},
    )
    return build(stack, "fail-validate", body)


def generalize(stack: KilnStack) -> dict[str, Any]:
    def refused(group: str) -> dict[str, Any]:
        path = f"/resourceGroups/{group}/providers/Microsoft.Compute/virtualMachines/[^/]+/generalize"
        message = "e2e: generalize refused"
        return {
            "method": "POST",
            "path": path,
            "status": 409,
            "code": "OperationNotAllowed",
            "message": message,
        }

    body = linux_template(customize=STEPS, distribute=own_target(stack, "fail-generalize"))
    return build(stack, "fail-generalize", body, refused)


def distribute_put(stack: KilnStack) -> dict[str, Any]:
    definition = stack.define_image("e2e-fail-version-put")
    stack.add_fault(
        {
            "method": "PUT",
            "path": "/images/e2e-fail-version-put/versions/",
            "status": 400,
            "code": "InvalidParameter",
            "message": "e2e: the version was refused",
        }
    )
    body = linux_template(customize=STEPS, distribute=[gallery_target(definition, "refused")])
    return build(stack, "fail-distribute", body)


def distribute_region(stack: KilnStack) -> dict[str, Any]:
    definition = stack.define_image("e2e-fail-region")
    stack.add_fault(
        {
            "method": "PUT",
            "path": "/images/e2e-fail-region/versions/[^/]+/_replication/westeurope",
            "status": 500,
            "code": "ReplicationFailed",
            "message": "e2e: westeurope replication failed",
        }
    )
    targets = [
        gallery_target(definition, "two-regions", ("eastus", "westeurope")),
        managed_image_target("e2e-mi"),
    ]
    return build(stack, "fail-region", linux_template(customize=STEPS, distribute=targets))


SCENARIOS: dict[str, Callable[[KilnStack], dict[str, Any]]] = {
    "resolve": resolve,
    "preflight": preflight,
    "deploy": deploy,
    "deploy-put": deploy_put,
    "artifacts": artifacts,
    "customize": customize,
    "validate": validate,
    "generalize": generalize,
    "distribute": distribute_put,
    "region": distribute_region,
}


@pytest.fixture(scope="module")
def runs(stack: KilnStack) -> dict[str, Any]:
    return run_parallel({key: functools.partial(scenario, stack) for key, scenario in SCENARIOS.items()})


def failed(runs: dict[str, Any], key: str, phase: str) -> tuple[dict[str, Any], str]:
    result = outcome(runs, key)
    props = result["run"]["properties"]
    assert props["runState"] == "Failed", props["message"]
    assert f"during {phase}" in props["message"], props["message"]
    return result, props["message"]


# The sub-state a run keeps when it fails in each scenario's phase (docs/build.md, the phase table).
SUB_STATES = {
    "resolve": "Building",
    "preflight": "Building",
    "deploy": "Building",
    "deploy-put": "Building",
    "artifacts": "Building",
    "customize": "Customizing",
    "validate": "Validating",
    "generalize": "Distributing",
    "distribute": "Distributing",
    "region": "Distributing",
}


@pytest.mark.parametrize("key", list(SUB_STATES))
def test_a_failed_run_keeps_the_sub_state_of_the_phase_it_failed_in(runs: dict[str, Any], key: str) -> None:
    props = outcome(runs, key)["run"]["properties"]
    assert props["runState"] in ("Failed", "PartiallySucceeded"), props["message"]
    assert props["runSubState"] == SUB_STATES[key], (props["runSubState"], props["message"])


def test_an_unknown_marketplace_sku_fails_the_run_in_resolve(stack: KilnStack, runs: dict[str, Any]) -> None:
    result, message = failed(runs, "resolve", "resolve")
    urn = f"{UBUNTU['publisher']}:{UBUNTU['offer']}:no-such-sku-e2e"
    where = f"{urn}:{UBUNTU['version']} was not found in {LOCATION}"
    assert f"The Marketplace image {where}: no image {urn} (publisher:offer:sku)" in message
    assert stack.leftovers(result["run_id"]) == []


def test_a_missing_gallery_image_definition_fails_preflight_before_anything_is_created(
    stack: KilnStack, runs: dict[str, Any]
) -> None:
    result, message = failed(runs, "preflight", "preflight")
    assert "e2e-no-such-definition" in message
    assert [p["phase"] for p in result["run"]["properties"]["phases"]][-1] in ("preflight", "cleanup")
    tagged = [r for r in stack.inventory() if (r.get("tags") or {}).get("kiln.run") == result["run_id"]]
    assert tagged == []


def test_a_failing_build_vm_resource_fails_deploy_and_deletes_the_deployment_s_resources(
    stack: KilnStack, runs: dict[str, Any]
) -> None:
    result, message = failed(runs, "deploy", "deploy")
    assert "AllocationFailed" in message
    assert stack.leftovers(result["run_id"]) == []


def test_a_refused_deployment_put_fails_deploy_and_leaves_nothing(
    stack: KilnStack, runs: dict[str, Any]
) -> None:
    result, message = failed(runs, "deploy-put", "deploy")
    assert "InvalidTemplateDeployment" in message or "deployment was refused" in message
    assert stack.leftovers(result["run_id"]) == []


def test_a_checksum_mismatch_names_the_customizer_and_both_hashes(
    stack: KilnStack, runs: dict[str, Any]
) -> None:
    # kiln verifies checksums in preflight already (before any VM exists); stage artifacts checks them again.
    result = outcome(runs, "artifacts")
    message = result["run"]["properties"]["message"]
    assert result["run"]["properties"]["runState"] == "Failed", message
    assert "during preflight" in message or "during artifacts" in message, message
    assert "0" * 64 in message
    assert stack.artifacts.add("fail-artifacts/app.conf", b"listen 8080\n")[1] in message
    assert "customize[1]" in message or "step 1" in message, message
    assert stack.leftovers(result["run_id"]) == []


def test_a_customizer_exiting_3_names_phase_index_name_exit_code_and_last_log_lines(
    stack: KilnStack, runs: dict[str, Any]
) -> None:
    result, message = failed(runs, "customize", "customize")
    assert "customizer 1 'install-app-e2e-breaks'" in message
    assert "exit code 3" in message
    assert "E: the e2e package is broken" in message
    assert stack.leftovers(result["run_id"]) == []


def test_a_failing_in_vm_validation_fails_the_run_in_validate(stack: KilnStack, runs: dict[str, Any]) -> None:
    result, message = failed(runs, "validate", "validate")
    assert "check-nginx" in message
    assert "nginx is not running" in message
    assert stack.leftovers(result["run_id"]) == []


def test_a_refused_generalize_fails_the_run_in_generalize(stack: KilnStack, runs: dict[str, Any]) -> None:
    result, message = failed(runs, "generalize", "generalize")
    assert "OperationNotAllowed" in message or "generalize refused" in message
    assert stack.leftovers(result["run_id"]) == []


def test_a_refused_image_version_put_fails_the_only_target(stack: KilnStack, runs: dict[str, Any]) -> None:
    result = outcome(runs, "distribute")
    props = result["run"]["properties"]
    assert props["runState"] == "Failed", props["message"]
    assert "refused" in props["message"]
    assert stack.run_outputs("fail-distribute") == {}
    assert stack.leftovers(result["run_id"]) == []


def test_a_failed_region_fails_its_target_while_the_other_target_is_published(
    stack: KilnStack, runs: dict[str, Any]
) -> None:
    result = outcome(runs, "region")
    props = result["run"]["properties"]
    assert props["runState"] == "PartiallySucceeded", props["message"]
    assert "two-regions" in props["message"] and "westeurope" in props["message"]
    assert sorted(stack.run_outputs("fail-region")) == ["e2e-mi"]
    assert stack.leftovers(result["run_id"]) == []


def test_a_failed_target_s_partial_image_version_is_deleted(stack: KilnStack, runs: dict[str, Any]) -> None:
    outcome(runs, "region")
    versions = [r["id"] for r in stack.inventory() if "/images/e2e-fail-region/versions/" in r["id"].lower()]
    assert versions == [], (
        "the failed target's partial image version was not removed (docs/build.md, phase 9)"
    )


def test_no_admin_password_appears_in_what_failed_runs_left(stack: KilnStack, runs: dict[str, Any]) -> None:
    built = {r["name"]: r["run_id"] for r in runs.values() if isinstance(r, dict)}
    deployed = ("deploy", "deploy-put", "customize", "validate", "generalize", "distribute", "region")
    passwords = stack.admin_passwords()
    assert len(passwords) >= len(deployed), "each run that deployed a VM stored its password in Key Vault"
    assert secrets.exposures(passwords, secrets.places(stack, built)) == []
