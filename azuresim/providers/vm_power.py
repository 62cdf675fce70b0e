"""VM power operations and generalize, with Azure's rules: generalize needs a stopped or deallocated VM;
a generalized VM can no longer be started or restarted."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from azuresim import lro
from azuresim.errors import SimError
from azuresim.providers import vm_model
from azuresim.providers.compute_common import compute_id, require
from azuresim.router import Router, SimRequest


def _vm(req: SimRequest) -> dict[str, Any]:
    vm_id = compute_id(req, "virtualMachines", req.params["vm"])
    return require(req.sim, vm_id, "Microsoft.Compute/virtualMachines")


def _not_allowed(operation: str, vm: dict[str, Any], why: str) -> SimError:
    return SimError(
        409, "OperationNotAllowed", f"Operation '{operation}' is not allowed on VM '{vm['name']}' {why}."
    )


async def _transition(
    req: SimRequest, vm: dict[str, Any], op: str, during: str, after: str
) -> web.StreamResponse:
    vm["_power"] = during
    vm_model.end_boot(vm)
    compute = req.sim.compute if req.sim.compute is not None and req.sim.compute.is_real(vm) else None

    async def work() -> None:
        if compute is not None and after == "running":
            await compute.boot(req.sim, vm)  # the guest agent reports Ready once the guest answers
        elif compute is not None:
            await compute.power_off(vm)
        vm["_power"] = after
        if after == "running":
            vm["_bootedAt"] = time.time()
        if after == "running" and compute is None:
            vm["_agentReadyAt"] = time.time() + req.sim.latency.delay("compute.vm.agent")
        req.sim.store.put(vm["id"], vm)

    return await lro.begin(req, op=op, resource_id=None, work=work, location=vm["location"])


async def deallocate(req: SimRequest) -> web.StreamResponse:
    return await _transition(req, _vm(req), "compute.vm.deallocate", "deallocating", "deallocated")


async def power_off(req: SimRequest) -> web.StreamResponse:
    vm = _vm(req)
    if vm.get("_power") == "deallocated":
        return await _transition(req, vm, "compute.vm.powerOff", "deallocated", "deallocated")
    return await _transition(req, vm, "compute.vm.powerOff", "stopping", "stopped")


async def start(req: SimRequest) -> web.StreamResponse:
    vm = _vm(req)
    if vm.get("_generalized"):
        raise _not_allowed("start", vm, "since the VM is generalized")
    return await _transition(req, vm, "compute.vm.start", "starting", "running")


async def generalize(req: SimRequest) -> web.StreamResponse:
    vm = _vm(req)
    if vm.get("_power") not in ("stopped", "deallocated"):
        raise _not_allowed("generalize", vm, "since the VM is running. Stop or deallocate the VM first")
    vm["_generalized"] = True
    req.sim.store.put(vm["id"], vm)
    return web.Response(status=200)


async def restart(req: SimRequest) -> web.StreamResponse:
    vm = _vm(req)
    if vm.get("_generalized"):
        raise _not_allowed("restart", vm, "since the VM is generalized")
    if vm.get("_power") != "running":
        raise _not_allowed("restart", vm, f"since the VM is {vm.get('_power')}")
    vm_model.begin_restart(req.sim, vm)
    compute = req.sim.compute if req.sim.compute is not None and req.sim.compute.is_real(vm) else None

    async def work() -> None:
        if compute is not None:
            await compute.restart(req.sim, vm)
            vm["_power"] = "running"
            req.sim.store.put(vm["id"], vm)
            return
        vm_model.finish_restart(req.sim, vm)

    return await lro.begin(req, op="compute.vm.restart", resource_id=None, work=work, location=vm["location"])


def add_routes(router: Router, vm_route: str) -> None:
    router.add("POST", vm_route + "/deallocate", deallocate, op="compute.vm.deallocate")
    router.add("POST", vm_route + "/powerOff", power_off, op="compute.vm.powerOff")
    router.add("POST", vm_route + "/start", start, op="compute.vm.start")
    router.add("POST", vm_route + "/generalize", generalize, op="compute.vm.generalize")
    router.add("POST", vm_route + "/restart", restart, op="compute.vm.restart")
