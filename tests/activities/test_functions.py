"""activities/functions.py: the registered activity names, and a whole build through JSON-only payloads."""

from __future__ import annotations

import json
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest
from pydantic import ValidationError

from functions import activities as functions
from shared import naming
from tests.activities.support import MANAGED_IMAGE, linux_template, run_ref, world
from tests.fakes import FakeAzure, ScriptOutcome

NAMES = {
    "resolve_source", "preflight", "prepare_staging_group", "deploy_build_vm", "check_deployment",
    "stage_artifacts", "start_step", "check_step", "restart_vm", "check_vm_ready", "deallocate_vm",
    "check_vm_deallocated", "generalize_vm", "start_distribute", "check_distribute", "check_region",
    "retry_region", "undo_distribute", "cleanup_build_vm", "append_log", "update_run_status",
    "record_outputs",
}  # fmt: skip


def test_every_activity_the_orchestrator_calls_is_registered_as_an_activity_trigger() -> None:
    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    app.register_functions(functions.bp)

    registered = {f.get_function_name(): [b.type for b in f.get_bindings()] for f in app.get_functions()}

    assert set(registered) == NAMES
    assert all(bindings == ["activityTrigger"] for bindings in registered.values())


def _call(fake: FakeAzure, name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """As Durable does it: JSON text in, JSON text out."""
    _, model, fn = next(a for a in functions.ACTIVITIES if a[0] == name)
    out = functions.call(model, fn, json.dumps(payload), ports=fake)
    return json.loads(json.dumps(out))  # type: ignore[no-any-return]


def _until_done(fake: FakeAzure, name: str, payload: dict[str, Any]) -> dict[str, Any]:
    for _ in range(20):
        out = _call(fake, name, payload)
        if out["done"]:
            return out
    raise AssertionError(name)


def test_a_whole_linux_build_runs_through_the_json_activity_boundary() -> None:
    fake = world()
    fake.run_commands.outcomes.append(ScriptOutcome(pattern="customize step 0", stdout="customized\n"))
    run = run_ref().model_dump(mode="json")
    template = linux_template(customize=[{"type": "Shell", "name": "hello", "inline": ["echo hi"]}])

    source = _call(fake, "resolve_source", {"run": run, "template": template})["source"]
    staging = _call(fake, "preflight", {"run": run, "template": template, "source": source})["staging"]
    assert (
        _call(fake, "prepare_staging_group", {"run": run, "template": template, "plan": staging})["error"]
        is None
    )
    vm = _call(
        fake, "deploy_build_vm", {"run": run, "template": template, "source": source, "staging": staging}
    )["vm"]
    assert _until_done(fake, "check_deployment", {"run": run, "vm": vm})["succeeded"]
    assert _call(fake, "stage_artifacts", {"run": run, "template": template, "vm": vm})["error"] is None
    step = {
        "phase": "customize",
        "index": 0,
        "name": "hello",
        "kind": "Shell",
        "spec": template["properties"]["customize"][0],
    }
    assert _call(fake, "start_step", {"run": run, "vm": vm, "step": step})["command_name"]
    checked = _until_done(fake, "check_step", {"run": run, "vm": vm, "step": step})
    assert checked["succeeded"] and checked["result"]["log_tail"] == ["customized"]
    deprovision = {"phase": "generalize", "index": 0, "kind": "Deprovision"}
    _call(fake, "start_step", {"run": run, "vm": vm, "step": deprovision})
    assert _until_done(fake, "check_step", {"run": run, "vm": vm, "step": deprovision})["succeeded"]
    _call(fake, "deallocate_vm", {"run": run, "vm": vm})
    _until_done(fake, "check_vm_deallocated", {"run": run, "vm": vm})
    assert _call(fake, "generalize_vm", {"run": run, "vm": vm})["succeeded"]
    target = {
        "index": 0,
        "type": "ManagedImage",
        "run_output_name": "mi",
        "spec": template["properties"]["distribute"][0],
    }
    started = _call(fake, "start_distribute", {"run": run, "vm": vm, "source": source, "target": target})
    data = {"target": target, "started": started}
    result = _until_done(fake, "check_distribute", {"run": run, "vm": vm, "key": "mi", "data": data})[
        "result"
    ]
    cleaned = _until_done(fake, "cleanup_build_vm", {"run": run, "vm": vm, "staging": staging})

    assert result["succeeded"] and result["artifact_id"] == MANAGED_IMAGE
    assert cleaned["remaining"] == []
    log = fake.cloud.blobs[
        f"{fake.storage_account_url(vm['storage_account'])}/{naming.LOG_CONTAINER}/{naming.customization_log_blob(run['run_id'])}"
    ].decode()
    assert "customize step 0 'hello' (Shell)" in log and "generalize step 0 (Deprovision)" in log
    assert fake.cloud.secrets == {}


def test_an_activity_refuses_a_payload_that_is_not_its_input_model() -> None:
    with pytest.raises(ValidationError):
        _call(world(), "preflight", {"run": run_ref().model_dump(mode="json")})
