"""functions/activities.py and functions/orchestrations.py: what is registered is what the orchestrators call
(derived from their code), and a whole build through JSON-only payloads."""

from __future__ import annotations

import ast
import asyncio
import json
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest
from pydantic import ValidationError

from functions import activities as functions
from functions import cycle_activities, orchestrations
from shared import naming
from shared.models import cycles, durable
from tests.activities.support import MANAGED_IMAGE, linux_template, run_ref, world
from tests.fakes import FakeAzure, ScriptOutcome

ORCHESTRATORS = Path(__file__).resolve().parents[2] / "orchestrators"
CALLS = {
    "call_activity",
    "call_activity_with_retry",
    "call_sub_orchestrator",
    "call_sub_orchestrator_with_retry",
}


def _descriptors_named_in(tree: ast.AST) -> set[str]:
    """The descriptors of ``shared.models.durable`` an orchestrator module uses (names read, not imported)."""
    found = set()
    for node in ast.walk(tree):
        name = node.id if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) else None
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "d":
            name = node.attr
        if name and isinstance(getattr(durable, name, None), durable.Activity | durable.Orchestration):
            found.add(getattr(durable, name).name)
    return found


def _literal_calls(tree: ast.AST) -> list[str]:
    """Calls of activities or sub-orchestrations by a literal name: nothing may bypass the descriptors."""
    return [
        ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in CALLS
        and node.args
        and isinstance(node.args[0], ast.Constant)
    ]


def _orchestrator_trees() -> list[ast.AST]:
    return [ast.parse(path.read_text()) for path in sorted(ORCHESTRATORS.glob("*.py"))]


def test_the_registered_activities_are_exactly_those_the_orchestrators_call() -> None:
    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    app.register_functions(functions.bp)
    registered = {f.get_function_name(): [b.type for b in f.get_bindings()] for f in app.get_functions()}
    called = set().union(*(_descriptors_named_in(tree) for tree in _orchestrator_trees()))
    activities = {a.name for a in durable.ACTIVITIES}

    assert set(registered) == activities == called & activities
    assert all(bindings == ["activityTrigger"] for bindings in registered.values())
    assert {a.name for a, _ in functions.BINDINGS} == activities
    assert [c for tree in _orchestrator_trees() for c in _literal_calls(tree)] == []


def test_the_registration_check_sees_a_descriptor_and_catches_a_call_by_a_literal_name() -> None:
    tree = ast.parse("yield ctx.call_activity_with_retry('run_step', o, p)\nyield flow.call(d.PREFLIGHT, x)")

    assert _descriptors_named_in(tree) == {"preflight"}
    assert _literal_calls(tree) == ["ctx.call_activity_with_retry('run_step', o, p)"]


def test_every_orchestration_is_registered_and_started_by_the_service() -> None:
    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    app.register_functions(orchestrations.bp)
    registered = {f.get_function_name(): [b.type for b in f.get_bindings()] for f in app.get_functions()}
    called = set().union(*(_descriptors_named_in(tree) for tree in _orchestrator_trees()))

    assert set(registered) == {o.name for o in durable.ORCHESTRATIONS} | {cycles.PATCH_CYCLE.name}
    assert all(bindings == ["orchestrationTrigger"] for bindings in registered.values())
    # build_image is started by the service (run_start); it calls no sub-orchestration.
    assert {o.name for o in durable.ORCHESTRATIONS} == {durable.BUILD_IMAGE.name}
    assert not called & {o.name for o in durable.ORCHESTRATIONS}


def test_the_patch_cycle_activities_are_registered_with_the_client_binding_the_admission_needs() -> None:
    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    app.register_functions(cycle_activities.bp)
    registered = {f.get_function_name(): [b.type for b in f.get_bindings()] for f in app.get_functions()}
    tree = ast.parse((ORCHESTRATORS / "patch_cycle.py").read_text())
    named = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    descriptors = [getattr(cycles, n, None) for n in named]
    called = {d.name for d in descriptors if isinstance(d, durable.Activity)}

    assert set(registered) == {a.name for a in cycles.CYCLE_ACTIVITIES} == called
    assert sorted(registered[cycles.CYCLE_ADMIT.name]) == ["activityTrigger", "durableClient"]


def _call(fake: FakeAzure, name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """As Durable does it: JSON text in, JSON text out."""
    activity, fn = next(b for b in functions.BINDINGS if b[0].name == name)
    out = asyncio.run(functions.call(activity, fn, json.dumps(payload), ports=fake))
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
    vm = _until_done(
        fake, "deploy_build_vm", {"run": run, "template": template, "source": source, "staging": staging}
    )["vm"]
    assert _call(fake, "stage_artifacts", {"run": run, "template": template, "vm": vm})["error"] is None
    step = {
        "phase": "customize",
        "index": 0,
        "name": "hello",
        "kind": "Shell",
        "spec": template["properties"]["customize"][0],
    }
    checked = _until_done(fake, "run_step", {"run": run, "vm": vm, "step": step})
    assert checked["succeeded"] and checked["outcome"]["log_tail"] == ["customized"]
    deprovision = {"phase": "generalize", "index": 0, "kind": "Deprovision"}
    assert _until_done(fake, "run_step", {"run": run, "vm": vm, "step": deprovision})["succeeded"]
    assert _until_done(fake, "generalize_vm", {"run": run, "vm": vm})["error"] is None
    target = {
        "index": 0,
        "type": "ManagedImage",
        "run_output_name": "mi",
        "spec": template["properties"]["distribute"][0],
    }
    started = None
    for _ in range(20):
        progress = _call(
            fake, "distribute", {"run": run, "vm": vm, "source": source, "target": target, "started": started}
        )
        started = progress["started"]
        if progress["done"]:
            break
    result = progress["result"]
    cleaned = _until_done(fake, "delete_build_vm", {"run": run, "vm": vm, "staging": staging})

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
