"""Managed run commands: ``virtualMachines/{vm}/runCommands/{name}``.

A PUT starts the script on the VM (once its agent is ready); the outcome comes from the control plane's rules
(``runcommand_outcomes``, set with ``PUT /_sim/runcommand-outcomes``). stdout/stderr go to the
``outputBlobUri`` / ``errorBlobUri`` append blobs in Azurite and, truncated, to the instance view. With
``asyncExecution`` the PUT finishes as soon as the script starts, otherwise when it ends; a failed script
fails the PUT only with ``treatFailureAsDeploymentFailure``. Protected parameters and ``runAsPassword`` are
neither stored nor answered, as Azure never returns them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from aiohttp import web

from azuresim import lro
from azuresim.errors import SimError
from azuresim.providers import runcommand_exec
from azuresim.providers.compute_common import (
    body_dict,
    compute_id,
    delete_simple,
    expect_duration,
    require,
)
from azuresim.providers.runcommand_outcomes import Outcome, match_outcome, validate_rules
from azuresim.router import Router, SimRequest
from azuresim.state import public

RULES = "runcommand-outcomes"  # sim.control key
_ROUTE = (
    "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{vm}/runCommands"
)
_SECRET_FIELDS = ("protectedParameters", "runAsPassword")


def _answer(cmd: dict[str, Any], expand: bool) -> dict[str, Any]:
    body = public(cmd)
    props = dict(body["properties"])
    if expand:
        props["instanceView"] = dict(cmd.get("_view") or runcommand_exec.view("Unknown"))
    return {**body, "properties": props}


def _check_vm(vm: dict[str, Any]) -> None:
    # A VM that is booting takes the command and runs it once its agent is ready.
    if vm.get("_power") not in ("running", "restarting", "starting"):
        raise SimError(
            409, "OperationNotAllowed", "Cannot modify extensions in the VM when the VM is not running."
        )


def _protected(body: dict[str, Any]) -> dict[str, str]:
    """The protected parameters by name: the simulated guest reads them, the store never holds them."""
    given = (body.get("properties") or {}).get("protectedParameters") or []
    if not isinstance(given, list):
        raise SimError(400, "InvalidParameter", "protectedParameters must be an array.", "properties")
    found = {}
    for i, item in enumerate(given):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise SimError(
                400,
                "InvalidParameter",
                "Each protected parameter needs a name and a value.",
                f"properties.protectedParameters[{i}]",
            )
        found[item["name"]] = str(item.get("value", ""))
    return found


def _properties(body: dict[str, Any]) -> dict[str, Any]:
    # Azure never returns protected parameters or runAsPassword; they need not even be stored.
    props = {k: v for k, v in (body.get("properties") or {}).items() if k not in _SECRET_FIELDS}
    source = props.get("source")
    if not isinstance(source, dict) or not (
        source.get("script") or source.get("scriptUri") or source.get("commandId")
    ):
        raise SimError(
            400,
            "InvalidParameter",
            "Exactly one of script, scriptUri or commandId must be specified.",
            "properties.source",
        )
    return props


def _start(sim: Any, cmd: dict[str, Any], vm_id: str, outcome: Outcome) -> asyncio.Task[None]:
    return _track(sim, cmd, runcommand_exec.execute(sim, cmd, vm_id, outcome))


def _track(sim: Any, cmd: dict[str, Any], work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    task = asyncio.get_running_loop().create_task(work)
    sim.tasks.add(task)
    key = cmd["id"].lower()
    sim.run_tasks[key] = task

    def done(t: asyncio.Task[None]) -> None:
        sim.tasks.discard(t)
        if sim.run_tasks.get(key) is t:
            del sim.run_tasks[key]

    task.add_done_callback(done)
    return task


def _same_body(props: dict[str, Any], tags: Any) -> str:
    """What makes a PUT the same run command again (Azure then does not run the script a second time)."""
    return hashlib.sha256(json.dumps([props, tags or {}], sort_keys=True, default=str).encode()).hexdigest()


def _finish(
    req: SimRequest, task: asyncio.Task[None] | None, cmd: dict[str, Any]
) -> Callable[[], Awaitable[None]]:
    """The PUT's work: wait for the script (unless asyncExecution); fail when it failed and was asked to."""
    props = cmd["properties"]

    async def work() -> None:
        if props.get("asyncExecution"):
            return
        if task is not None:
            await asyncio.shield(task)
        if cmd["_view"]["executionState"] != "Succeeded" and props.get("treatFailureAsDeploymentFailure"):
            raise _failed_deployment(req.params["name"], cmd["_view"])

    return work


async def _put_again(req: SimRequest, cmd: dict[str, Any], cmd_id: str) -> web.StreamResponse:
    """The same body again: an update with nothing to do; the operation follows the run already going."""
    return await lro.begin(
        req,
        op="compute.runcommand.put",
        resource_id=cmd_id,
        status=200,
        body=_answer(cmd, expand=False),
        work=_finish(req, req.sim.run_tasks.get(cmd_id.lower()), cmd),
        location=cmd["location"],
        start_state=cmd["properties"].get("provisioningState", "Succeeded"),
    )


async def _put_real(
    req: SimRequest, cmd: dict[str, Any], cmd_id: str, vm_id: str, script: str, *, status: int
) -> web.StreamResponse:
    """A QEMU VM: the script runs in the guest (``runcommand_exec.execute_real``)."""
    task = _track(req.sim, cmd, runcommand_exec.execute_real(req.sim, cmd, vm_id, script))
    return await lro.begin(
        req,
        op="compute.runcommand.put",
        resource_id=cmd_id,
        status=status,
        body=_answer(cmd, expand=False),
        work=_finish(req, task, cmd),
        location=cmd["location"],
    )


def _failed_deployment(name: str, view: dict[str, Any]) -> SimError:
    return SimError(
        409,
        "VMExtensionProvisioningError",
        f"VM has reported a failure when processing extension '{name}' "
        f"(execution state {view['executionState']}, exit code {view.get('exitCode')}).",
    )


async def put_run_command(req: SimRequest) -> web.StreamResponse:
    body = body_dict(req, "the run command")
    vm_id = compute_id(req, "virtualMachines", req.params["vm"])
    vm = require(req.sim, vm_id, "Microsoft.Compute/virtualMachines")
    _check_vm(vm)
    protected = _protected(body)
    props = _properties(body)
    cmd_id = compute_id(req, "virtualMachines", req.params["vm"], "runCommands", req.params["name"])
    found = req.sim.store.get(cmd_id)
    exists = found is not None
    same = _same_body(props, body.get("tags"))
    if found is not None and found.get("_same") == same:
        return await _put_again(req, found, cmd_id)
    props["provisioningState"] = "Updating" if exists else "Creating"
    location = body.get("location") or vm["location"]
    cmd = {"location": location, "tags": dict(body.get("tags") or {}), "properties": props, "_same": same}
    cmd["_view"] = runcommand_exec.view("Pending")
    req.sim.store.put(cmd_id, cmd)
    script = await runcommand_exec.script_text(req.sim, props["source"])
    if req.sim.compute is not None and req.sim.compute.is_real(vm):
        guest = runcommand_exec.for_qemu_guest(script)
        return await _put_real(req, cmd, cmd_id, vm["id"], guest, status=200 if exists else 201)
    outcome = (
        await runcommand_exec.guest_fetches(req.sim, script)
        or runcommand_exec.windows(vm, script, protected)
        or match_outcome(req.sim.control.get(RULES, []), script)
    )
    if runcommand_exec.marks_the_boot(script):
        outcome = dataclasses.replace(outcome, marks_boot=True)
    task = _start(req.sim, cmd, vm["id"], outcome)

    status = 200 if exists else 201
    answer = _answer(cmd, expand=False)
    resp = await lro.begin(
        req,
        op="compute.runcommand.put",
        resource_id=cmd_id,
        status=status,
        body=answer,
        work=_finish(req, task, cmd),
        location=location,
    )
    if props.get("asyncExecution"):
        return resp
    timeout = float(props.get("timeoutInSeconds") or 0)
    seconds = runcommand_exec.script_seconds(req.sim, outcome)
    return expect_duration(req.sim, resp, min(seconds, timeout) if timeout > 0 else seconds)


def _cmd(req: SimRequest) -> dict[str, Any]:
    cmd_id = compute_id(req, "virtualMachines", req.params["vm"], "runCommands", req.params["name"])
    return require(req.sim, cmd_id, "Microsoft.Compute/virtualMachines/runCommands")


async def get_run_command(req: SimRequest) -> web.StreamResponse:
    expand = req.query.get("$expand", "").lower() == "instanceview"
    return web.json_response(_answer(_cmd(req), expand))


async def list_run_commands(req: SimRequest) -> web.StreamResponse:
    vm = require(
        req.sim, compute_id(req, "virtualMachines", req.params["vm"]), "Microsoft.Compute/virtualMachines"
    )
    expand = req.query.get("$expand", "").lower() == "instanceview"
    items = [c for c in req.sim.store.children(vm["id"]) if c["type"].lower().endswith("/runcommands")]
    return web.json_response({"value": [_answer(c, expand) for c in items]})


async def delete_run_command(req: SimRequest) -> web.StreamResponse:
    cmd_id = compute_id(req, "virtualMachines", req.params["vm"], "runCommands", req.params["name"])
    return await delete_simple(req, cmd_id, op="compute.runcommand.delete")


async def put_outcomes(req: SimRequest) -> web.StreamResponse:
    try:
        rules = validate_rules(req.body)
    except ValueError as exc:
        raise SimError(400, "InvalidParameter", str(exc), "rules") from exc
    req.sim.control[RULES] = rules
    req.sim.persist()
    return web.json_response(rules)


async def get_outcomes(req: SimRequest) -> web.StreamResponse:
    return web.json_response(req.sim.control.get(RULES, []))


def register(router: Router) -> None:
    router.add("PUT", _ROUTE + "/{name}", put_run_command, op="compute.runcommand.put")
    router.add("GET", _ROUTE + "/{name}", get_run_command, op="compute.runcommand.get")
    router.add("DELETE", _ROUTE + "/{name}", delete_run_command, op="compute.runcommand.delete")
    router.add("GET", _ROUTE, list_run_commands, op="compute.runcommand.list")
    router.add("PUT", "/_sim/runcommand-outcomes", put_outcomes, op="sim.control")
    router.add("GET", "/_sim/runcommand-outcomes", get_outcomes, op="sim.control")
