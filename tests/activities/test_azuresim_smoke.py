"""One Linux build through the activities over the real adapters: azuresim over HTTPS, Azurite for blobs."""

from __future__ import annotations

import asyncio
import json
import ssl
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions import activities as functions
from shared import naming
from shared.bootstrap import bootstrap
from shared.ports import BuildPorts
from shared.settings import Settings
from tests.activities.support import linux_template
from tests.fakes import SUBSCRIPTION, arm_id
from tests.support.azuresim import AzureSim, start_azuresim
from tests.support.azurite import Azurite

pytestmark = pytest.mark.timeout(240)
RG = "smoke-rg"
VAULT_ID = arm_id("kiln", "Microsoft.KeyVault/vaults", "kv")


@pytest.fixture(scope="module")
def sim(azurite: Azurite) -> Iterator[AzureSim]:
    started = start_azuresim(storage_connection_string=azurite.connection_string)
    try:
        yield started
    finally:
        started.stop()


def _put(sim: AzureSim, path: str, body: dict[str, Any]) -> None:
    """A plain ARM PUT (kiln has no port for creating identities; a user would have made it)."""
    request = urllib.request.Request(
        f"{sim.base_url}{path}",
        data=json.dumps(body).encode(),
        method="PUT",
        headers={"Content-Type": "application/json", "Authorization": "Bearer azuresim-token"},
    )
    with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=sim.ca_file), timeout=30):
        pass


def _ports(sim: AzureSim, azurite: Azurite) -> BuildPorts:
    settings = Settings(
        azure_mode="sim",
        sim_base_url=sim.base_url,
        sim_ca_file=sim.ca_file,
        lro_poll_seconds=0.05,
        key_vault_id=VAULT_ID,
        KILN_STORAGE_CONNECTION_STRING=azurite.connection_string,  # set by its alias
    )
    return bootstrap(settings).build


def _activity(ports: BuildPorts) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    table = {activity.name: (activity, fn) for activity, fn in functions.BINDINGS}

    def call(name: str, payload: dict[str, Any]) -> dict[str, Any]:
        activity, fn = table[name]
        out = asyncio.run(functions.call(activity, fn, json.dumps(payload), ports=ports))
        return json.loads(json.dumps(out))  # type: ignore[no-any-return]

    return call


def _until_done(
    call: Callable[[str, dict[str, Any]], dict[str, Any]], name: str, payload: dict[str, Any]
) -> dict[str, Any]:
    for _ in range(600):
        out = call(name, payload)
        if out["done"]:
            return out
    raise AssertionError(f"{name} never finished")


def _wait() -> dict[str, Any]:
    """Each call may wait up to a minute for its operation, asking the simulator every 20 ms."""
    until = (datetime.now(UTC) + timedelta(seconds=60)).isoformat().replace("+00:00", "Z")
    return {"until": until, "poll_seconds": 0.02, "max_poll_seconds": 0.05}


def test_a_linux_build_runs_through_the_real_adapters(sim: AzureSim, azurite: Azurite) -> None:
    ports = _ports(sim, azurite)
    call = _activity(ports)
    ports.resource_groups.create(name=RG, location="westus2", tags={})
    identity = arm_id(RG, "Microsoft.ManagedIdentity/userAssignedIdentities", "aib")
    _put(sim, f"{identity}?api-version=2023-01-31", {"location": "westus2"})
    template = linux_template(customize=[{"type": "Shell", "name": "hello", "inline": ["echo hello"]}])
    template["identity"] = {"type": "UserAssigned", "userAssignedIdentities": {identity: {}}}
    image_id = arm_id(RG, "Microsoft.Compute/images", "smoke")
    template["properties"]["distribute"] = [
        {"type": "ManagedImage", "imageId": image_id, "location": "westus2", "runOutputName": "mi"}
    ]
    run = {
        "subscription_id": SUBSCRIPTION,
        "resource_group": RG,
        "template_name": "smoke",
        "run_id": naming.run_id(SUBSCRIPTION, RG, "smoke", 1),
        "location": "westus2",
    }

    source = call("resolve_source", {"run": run, "template": template})["source"]
    # The identity holds no role yet: preflight names it, the action and the scope, and creates nothing.
    refused = call("preflight", {"run": run, "template": template, "source": source})["error"]
    assert refused["details"] == [
        {
            "code": "AuthorizationFailed",
            "target": "properties.distribute[0].imageId",
            "message": f"the template's identity '{identity}' may not perform action "
            f"'Microsoft.Compute/images/write' on '{image_id}'; grant it a role with that action there "
            "(docs/security.md)",
            "identity": identity,
            "action": "Microsoft.Compute/images/write",
            "scope": image_id,
        }
    ]
    group = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}"
    assignment = sim.grant(identity, "Contributor", group)
    assert call("preflight", {"run": run, "template": template, "source": source})["error"] is None
    # The role removed again: preflight names the identity's missing action once more.
    sim.arm("DELETE", assignment)
    again = call("preflight", {"run": run, "template": template, "source": source})["error"]
    assert [(d["identity"], d["action"], d["scope"]) for d in again["details"]] == [
        (identity, "Microsoft.Compute/images/write", image_id)
    ]
    sim.grant(identity, "Contributor", group)
    checked = call("preflight", {"run": run, "template": template, "source": source})
    assert checked["error"] is None, checked["error"]
    staging = checked["staging"]
    assert call("prepare_staging_group", {"run": run, "template": template, "plan": staging})["error"] is None
    deploy = {"run": run, "template": template, "source": source, "staging": staging, "wait": _wait()}
    deployed = _until_done(call, "deploy_build_vm", deploy)
    assert deployed["succeeded"], deployed["error"]
    vm = deployed["vm"]
    assert call("stage_artifacts", {"run": run, "template": template, "vm": vm})["error"] is None
    step = {
        "phase": "customize",
        "index": 0,
        "name": "hello",
        "kind": "Shell",
        "spec": template["properties"]["customize"][0],
    }
    stepped = _until_done(call, "run_step", {"run": run, "vm": vm, "step": step, "wait": _wait()})
    generalized = _until_done(call, "generalize_vm", {"run": run, "vm": vm, "wait": _wait()})
    assert generalized["error"] is None, generalized["error"]
    # The image is written as the template's identity: into a group where only kiln's own identity (the
    # subscription's owner) may write, azuresim's RBAC refuses it, naming the action.
    ports.resource_groups.create(name="other-rg", location="westus2", tags={})
    elsewhere = arm_id("other-rg", "Microsoft.Compute/images", "smoke")
    spec = {"type": "ManagedImage", "imageId": elsewhere, "location": "westus2", "runOutputName": "mi"}
    target = {"index": 0, "type": "ManagedImage", "run_output_name": "mi", "spec": spec, "identity": identity}
    distribute = {"run": run, "vm": vm, "source": source, "target": target, "wait": _wait()}
    denied = _until_done(call, "distribute", distribute)["error"]
    assert denied["code"] == "AuthorizationFailed"
    assert "'Microsoft.Compute/images/write'" in denied["message"]
    assert ports.resources.list_in_group(resource_group="other-rg") == []
    target = {**target, "spec": template["properties"]["distribute"][0]}
    distribute = {"run": run, "vm": vm, "source": source, "target": target, "wait": _wait()}
    result = _until_done(call, "distribute", distribute)
    assert result["error"] is None, result["error"]
    cleaned = _until_done(call, "delete_build_vm", {"run": run, "vm": vm, "staging": staging})

    assert stepped["succeeded"], stepped["error"]
    assert result["result"]["succeeded"] and result["result"]["artifact_id"].lower() == image_id.lower()
    assert cleaned["remaining"] == []
    blobs = ports.blobs(account_url=ports.storage_account_url(vm["storage_account"]))
    log = blobs.download(
        container=naming.LOG_CONTAINER, name=naming.customization_log_blob(run["run_id"])
    ).decode()
    assert "customize step 0 'hello' (Shell) attempt 0: Succeeded, exit code 0" in log
    left = {r.type.lower() for r in ports.resources.list_in_group(resource_group=staging["resource_group"])}
    assert left == {"microsoft.storage/storageaccounts"}


def test_role_assignments_of_a_callers_groups_count_for_it_over_the_real_adapter(
    sim: AzureSim, azurite: Azurite
) -> None:
    from azuresim.rbac import BUILT_IN
    from shared.models.access import ASSIGN_IDENTITY, Required

    ports = _ports(sim, azurite)
    access = ports.access
    ports.resource_groups.create(name=RG, location="westus2", tags={})
    identity = arm_id(RG, "Microsoft.ManagedIdentity/userAssignedIdentities", "for-groups")
    _put(sim, f"{identity}?api-version=2023-01-31", {"location": "westus2"})
    user, group = "7d1e0000-0000-4000-8000-000000000001", "7d1e0000-0000-4000-8000-000000000002"
    role = f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/"
    body = {
        "properties": {
            "roleDefinitionId": role + BUILT_IN["Managed Identity Operator"][0],
            "principalId": group,
        }
    }
    sim.arm("PUT", f"{identity}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}", body)
    required = [Required(ASSIGN_IDENTITY, identity, "identity.userAssignedIdentities")]

    assert [gap.scope for gap in access.missing(principal_id=user, required=required)] == [identity]
    assert access.missing(principal_id=user, required=required, groups=[group]) == []
