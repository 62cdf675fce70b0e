"""Managed images: created from a generalized VM (``sourceVirtualMachine.id``), get, delete, list."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from azuresim import lro
from azuresim.errors import SimError
from azuresim.providers import vm_model
from azuresim.providers.compute_common import (
    body_dict,
    compute_id,
    delete_simple,
    json_ok,
    list_body,
    require,
    require_group,
)
from azuresim.router import Router, SimRequest

_RG = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute"


def _image_from(vm: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    os_disk = vm["properties"]["storageProfile"]["osDisk"]
    managed = os_disk.get("managedDisk", {})
    generation = body.get("properties", {}).get("hyperVGeneration") or vm_model.hyperv_generation(vm)
    return {
        "location": body.get("location") or vm["location"],
        "tags": dict(body.get("tags") or {}),
        "properties": {
            "sourceVirtualMachine": {"id": vm["id"]},
            "hyperVGeneration": generation,
            "storageProfile": {
                "osDisk": {
                    "osType": os_disk.get("osType", "Linux"),
                    "osState": "Generalized",
                    "managedDisk": {"id": managed.get("id")},
                    "caching": "ReadWrite",
                    "storageAccountType": managed.get("storageAccountType", "Standard_LRS"),
                    "diskSizeGB": os_disk.get("diskSizeGB"),
                },
                "dataDisks": [],
                "zoneResilient": False,
            },
        },
        "_createdAt": time.time(),
    }


async def put_image(req: SimRequest) -> web.StreamResponse:
    body = body_dict(req, "the image")
    require_group(req)
    image_id = compute_id(req, "images", req.params["image"])
    source_id = str(body.get("properties", {}).get("sourceVirtualMachine", {}).get("id", ""))
    if not source_id:
        target = "properties.sourceVirtualMachine.id"
        raise SimError(
            400, "InvalidParameter", "Required parameter 'sourceVirtualMachine' is missing (null).", target
        )
    vm = require(req.sim, source_id, "Microsoft.Compute/virtualMachines")
    if not vm.get("_generalized"):
        raise SimError(
            409,
            "OperationNotAllowed",
            f"The operation 'Create Image' requires the Virtual Machine '{vm['name']}' to be Generalized.",
        )
    image = _image_from(vm, body)
    existing = req.sim.store.get(image_id)
    if existing is not None and existing.get("_file"):
        image["_file"] = existing["_file"]  # a repeated PUT of the same image keeps its disk
    req.sim.store.put(image_id, image)
    status = 201 if existing is None else 200
    return await lro.begin(
        req,
        op="compute.image.put",
        resource_id=image_id,
        status=status,
        location=image["location"],
        work=_capture(req.sim, vm, image) if req.sim.compute and req.sim.compute.is_real(vm) else None,
    )


def _capture(sim: Any, vm: dict[str, Any], image: dict[str, Any]) -> Any:
    """The operation's work with real disks: the image is the VM's OS disk, flattened."""

    async def work() -> None:
        if image.get("_file"):
            return
        image["_file"] = await sim.compute.flatten(sim.compute.disk_file(sim, vm), image["name"])
        sim.store.put(image["id"], image)

    return work


async def get_image(req: SimRequest) -> web.StreamResponse:
    return json_ok(
        require(req.sim, compute_id(req, "images", req.params["image"]), "Microsoft.Compute/images")
    )


async def delete_image(req: SimRequest) -> web.StreamResponse:
    return await delete_simple(req, compute_id(req, "images", req.params["image"]), op="compute.image.delete")


async def list_images(req: SimRequest) -> web.StreamResponse:
    rg = (req.params["sub"], req.params["rg"])
    return list_body(req.sim.store.list(resource_group=rg, type="Microsoft.Compute/images"))


def add_routes(router: Router) -> None:
    image = _RG + "/images/{image}"
    router.add("PUT", image, put_image, op="compute.image.put")
    router.add("GET", image, get_image, op="compute.image.get")
    router.add("DELETE", image, delete_image, op="compute.image.delete")
    router.add("GET", _RG + "/images", list_images, op="compute.image.list")
