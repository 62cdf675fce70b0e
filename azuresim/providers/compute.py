"""Virtual machines: PUT, GET (``$expand=instanceView``), instanceView, list and delete; the power
operations (deallocate, powerOff, start, restart, generalize) are in ``vm_power``.

Disks are in ``compute_disks``, managed images in ``compute_images``; this module registers their routes too.
Image references are resolved in ``vm_source``.
``create_vm_resource`` is the one way a VM comes to exist: the deployment engine calls it as well.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from azuresim import lro
from azuresim.errors import SimError
from azuresim.providers import compute_disks, compute_images, vm_model, vm_power, vm_source
from azuresim.providers.compute_common import body_dict, compute_id, list_body, require, require_group
from azuresim.router import Router, SimRequest
from azuresim.state import canonicalize, public

VM = "virtualMachines"
_VM_ROUTE = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{vm}"


def _attach_nics(sim: Any, vm: dict[str, Any], vm_id: str) -> None:
    for ref in vm["properties"].get("networkProfile", {}).get("networkInterfaces", []) or []:
        nic = sim.store.get(str(ref.get("id", ""))) if isinstance(ref, dict) else None
        if nic is not None:
            nic.setdefault("properties", {})["virtualMachine"] = {"id": vm_id}


def create_vm_resource(
    sim: Any,
    vm_id: str,
    properties: dict[str, Any],
    location: str,
    tags: dict[str, str] | None,
    identity: Any,
    *,
    plan: dict[str, Any] | None = None,
    check_plan: bool = False,
) -> dict[str, Any]:
    """Create (or replace) a VM with its OS disk and NIC attachments; returns the stored VM.

    The deployment engine calls this for ``Microsoft.Compute/virtualMachines`` resources. The VM comes back
    with provisioningState Succeeded, running, its agent ready. Raises SimError for a bad image reference and,
    with ``check_plan``, for a Marketplace plan that is missing or whose terms were not accepted.
    """
    vm_id = canonicalize(vm_id)
    vm = vm_model.new_vm(vm_id, properties, location, tags, identity)
    storage = vm["properties"].setdefault("storageProfile", {})
    vm["_hyperVGeneration"] = vm_source.image_generation(sim, storage.setdefault("imageReference", {}))
    if check_plan:
        vm_source.check_plan(sim, vm_id, storage["imageReference"], plan)
    security = vm["properties"].get("securityProfile", {}).get("securityType")
    if security in ("TrustedLaunch", "ConfidentialVM") and vm["_hyperVGeneration"] != "V2":
        raise SimError(
            400,
            "BadRequest",
            f"Use of {security} setting is not supported for the provided image. Please select a "
            f"{security} Supported Gen2 OS Image.",
            "securityProfile.securityType",
        )
    if plan:
        vm["plan"] = dict(plan)
    sim.store.put(vm_id, vm)
    disk_id = compute_disks.create_os_disk(sim, vm)["id"]
    _attach_nics(sim, vm, vm["id"])
    vm["properties"]["provisioningState"] = "Succeeded"
    sim.store.put(vm_id, vm)
    _boot_if_local(sim, vm, disk_id)
    return vm


def _boot_if_local(sim: Any, vm: dict[str, Any], disk_id: str) -> None:
    """With the QEMU backend, a VM whose source has a local disk gets a real OS disk and boots."""
    if sim.compute is None:
        return
    disk = sim.store.get(disk_id)
    try:
        real = disk is not None and sim.compute.provision(sim, vm, disk)
    except SimError:  # a VM the QEMU backend cannot build is not created at all
        sim.store.delete(disk_id)
        sim.store.delete(vm["id"])
        raise
    if real and disk is not None:
        sim.store.put(disk_id, disk)
        sim.store.put(vm["id"], vm)
        sim.compute.boot_later(sim, vm)


async def put_vm(req: SimRequest) -> web.StreamResponse:
    body = body_dict(req, "the virtual machine")
    require_group(req)
    vm_id = compute_id(req, VM, req.params["vm"])
    existing = req.sim.store.get(vm_id)
    if existing is not None:
        # An update: Azure accepts tag and size changes on a live VM; the runtime state is kept.
        existing["tags"] = dict(body.get("tags") or existing.get("tags") or {})
        hw = body.get("properties", {}).get("hardwareProfile")
        if hw:
            existing["properties"]["hardwareProfile"] = hw
        return await lro.begin(req, op="compute.vm.update", resource_id=vm_id, status=200)
    if not body.get("location"):
        raise SimError(
            400, "LocationRequired", "The location property is required for this definition.", "location"
        )
    vm = create_vm_resource(
        req.sim,
        vm_id,
        body.get("properties") or {},
        body["location"],
        body.get("tags"),
        body.get("identity"),
        plan=body.get("plan"),
        check_plan=True,
    )
    vm["_power"] = "starting"  # until the create finishes, as Azure shows a VM being provisioned

    async def work() -> None:
        vm["_power"] = "running"

    return await lro.begin(req, op="compute.vm.put", resource_id=vm_id, status=201, work=work)


def _vm(req: SimRequest) -> dict[str, Any]:
    return require(req.sim, compute_id(req, VM, req.params["vm"]), "Microsoft.Compute/virtualMachines")


async def get_vm(req: SimRequest) -> web.StreamResponse:
    vm = _vm(req)
    body = public(vm)
    if req.query.get("$expand", "").lower() == "instanceview":
        body = {
            **body,
            "properties": {**body["properties"], "instanceView": vm_model.instance_view(vm, time.time())},
        }
    return web.json_response(body)


async def get_instance_view(req: SimRequest) -> web.StreamResponse:
    return web.json_response(vm_model.instance_view(_vm(req), time.time()))


async def list_vms(req: SimRequest) -> web.StreamResponse:
    rg = (req.params["sub"], req.params["rg"])
    return list_body(req.sim.store.list(resource_group=rg, type="Microsoft.Compute/virtualMachines"))


async def delete_vm(req: SimRequest) -> web.StreamResponse:
    vm_id = compute_id(req, VM, req.params["vm"])
    vm = req.sim.store.get(vm_id)
    if vm is None:
        return web.Response(status=204)
    req.sim.store.deleting(vm["id"])

    async def work() -> None:
        for child in req.sim.store.children(vm["id"]):
            req.sim.store.delete(child["id"])
        req.sim.store.delete(vm["id"])
        compute_disks.release_vm_disks(req.sim, vm)
        _release_nics(req.sim, vm)

    return await lro.begin(req, op="compute.vm.delete", resource_id=vm_id, work=work, location=vm["location"])


def _release_nics(sim: Any, vm: dict[str, Any]) -> None:
    for ref in vm["properties"].get("networkProfile", {}).get("networkInterfaces", []) or []:
        nic = sim.store.get(str(ref.get("id", ""))) if isinstance(ref, dict) else None
        if nic is None:
            continue
        if str(ref.get("properties", {}).get("deleteOption", "Detach")).lower() == "delete":
            sim.store.delete(nic["id"])
        else:
            nic.get("properties", {}).pop("virtualMachine", None)
            sim.store.put(nic["id"], nic)


def register(router: Router) -> None:
    router.add("PUT", _VM_ROUTE, put_vm, op="compute.vm.put")
    router.add("GET", _VM_ROUTE, get_vm, op="compute.vm.get")
    router.add("DELETE", _VM_ROUTE, delete_vm, op="compute.vm.delete")
    router.add("GET", _VM_ROUTE + "/instanceView", get_instance_view, op="compute.vm.get")
    vm_power.add_routes(router, _VM_ROUTE)
    router.add("GET", _VM_ROUTE.rsplit("/", 1)[0], list_vms, op="compute.vm.list")
    compute_disks.add_routes(router)
    compute_images.add_routes(router)
