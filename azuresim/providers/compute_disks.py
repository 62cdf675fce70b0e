"""Managed disks: get, delete, and beginGetAccess / endGetAccess with a SAS to a real page blob in Azurite.

OS disks are created with their VM (``create_os_disk``) and released when it goes (``release_vm_disks``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobSasPermissions, generate_blob_sas

from azuresim import lro
from azuresim.errors import SimError
from azuresim.providers import vm_model
from azuresim.providers.compute_common import (
    body_dict,
    compute_id,
    json_ok,
    require,
)
from azuresim.router import Router, SimRequest
from azuresim.state import canonical_id

_RG = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute"
ACCESS_CONTAINER = "md-access"
_EXPORT_BYTES = 4 * 1024**2
_VHD_FOOTER = 512
_UPLOADS_IN_FLIGHT = 8  # pages uploaded at once when a real disk is exported


def _rg_of(resource_id: str) -> tuple[str, str]:
    parts = resource_id.strip("/").split("/")
    return parts[1], parts[3]


def create_os_disk(sim: Any, vm: dict[str, Any]) -> dict[str, Any]:
    """Create the VM's OS disk resource (attached, ``managedBy`` the VM) and point the VM at it."""
    os_disk = vm["properties"]["storageProfile"].setdefault("osDisk", {})
    name = vm_model.os_disk_name(vm["name"], os_disk)
    sub, rg = _rg_of(vm["id"])
    disk_id = canonical_id(sub, rg, "Microsoft.Compute", "disks", name)
    kind = vm_model.os_type(vm)
    size = int(os_disk.get("diskSizeGB") or (127 if kind == "Windows" else 30))
    sku = os_disk.get("managedDisk", {}).get("storageAccountType", "Premium_LRS")
    os_disk.update(
        name=name, osType=kind, diskSizeGB=size, createOption=os_disk.get("createOption", "FromImage")
    )
    os_disk.setdefault("deleteOption", "Detach")
    os_disk.setdefault("caching", "ReadWrite")
    os_disk["managedDisk"] = {"id": disk_id, "storageAccountType": sku}
    props: dict[str, Any] = {
        "osType": kind,
        "hyperVGeneration": vm_model.hyperv_generation(vm),
        "diskSizeGB": size,
        "diskSizeBytes": size * 1024**3,
        "diskState": "Attached",
        "creationData": {"createOption": "FromImage"},
        "provisioningState": "Succeeded",
        "timeCreated": vm_model.iso(),
    }
    security = vm["properties"].get("securityProfile", {}).get("securityType")
    if security:
        props["securityProfile"] = {"securityType": security}
    disk = {"location": vm["location"], "sku": {"name": sku}, "managedBy": vm["id"], "properties": props}
    return dict(sim.store.put(disk_id, disk))


def release_vm_disks(sim: Any, vm: dict[str, Any]) -> None:
    """After the VM is gone: delete its OS disk when deleteOption is Delete, else leave it unattached."""
    os_disk = vm["properties"].get("storageProfile", {}).get("osDisk", {})
    disk = sim.store.get(str(os_disk.get("managedDisk", {}).get("id", "")))
    if disk is None:
        return
    if str(os_disk.get("deleteOption", "Detach")).lower() == "delete":
        sim.store.delete(disk["id"])
        return
    disk.pop("managedBy", None)
    if disk["properties"].get("diskState") != "ActiveSAS":
        disk["properties"]["diskState"] = "Unattached"
    sim.store.put(disk["id"], disk)


def _disk(req: SimRequest) -> dict[str, Any]:
    return require(req.sim, compute_id(req, "disks", req.params["disk"]), "Microsoft.Compute/disks")


async def get_disk(req: SimRequest) -> web.StreamResponse:
    return json_ok(_disk(req))


async def delete_disk(req: SimRequest) -> web.StreamResponse:
    disk = req.sim.store.get(compute_id(req, "disks", req.params["disk"]))
    if disk is None:
        return web.Response(status=204)
    if disk.get("managedBy"):
        raise SimError(
            409, "OperationNotAllowed", f"Disk {disk['name']} is attached to VM {disk['managedBy']}."
        )
    if disk["properties"].get("diskState") == "ActiveSAS":
        # The ordering mistake Packer users hit: access must be revoked before the disk can go.
        raise SimError(
            409,
            "OperationNotAllowed",
            f"Operation 'Delete' is not allowed on disk '{disk['name']}' since it has an active SAS URI. "
            "Revoke access (endGetAccess) first.",
        )

    async def work() -> None:
        req.sim.store.delete(disk["id"])

    return await lro.begin(
        req, op="compute.disk.delete", resource_id=disk["id"], work=work, location=disk["location"]
    )


async def begin_get_access(req: SimRequest) -> web.StreamResponse:
    disk = _disk(req)
    body = body_dict(req, "the grant access data")
    if str(body.get("access", "")).lower() not in ("read", "write"):
        raise SimError(
            400, "InvalidParameter", "The value of parameter access is invalid.", "grantAccessData.access"
        )
    vm = req.sim.store.get(str(disk.get("managedBy", "")))
    if vm is not None and vm.get("_power") not in ("deallocated", "stopped"):
        raise SimError(
            409,
            "OperationNotAllowed",
            f"Disk {disk['name']} is attached to running VM {vm['id']}; deallocate the VM first.",
        )
    seconds = int(body.get("durationInSeconds") or 3600)

    async def work() -> dict[str, Any]:
        url = await _export_vhd(req.sim, disk, seconds)
        disk["properties"]["diskState"] = "ActiveSAS"
        req.sim.store.put(disk["id"], disk)
        return {"accessSAS": url}

    return await lro.begin(
        req, op="compute.disk.grantAccess", resource_id=None, work=work, location=disk["location"]
    )


async def _export_vhd(sim: Any, disk: dict[str, Any], seconds: int) -> str:
    if sim.compute is not None and disk.get("_file"):
        return await _export_real_vhd(sim, disk)
    # A real page blob with the VHD footer (cookie "conectix"), standing in for the disk: 4 MiB, not the
    # disk's size, because Azurite holds a copy in memory and a 30 GiB sparse blob exhausts it. The disk's
    # size is in the blob's metadata.
    blobs = sim.blobs
    size = _EXPORT_BYTES + _VHD_FOOTER
    blob = await _access_blob(sim, disk, size)
    footer = b"conectix".ljust(_VHD_FOOTER, b"\0")
    await blob.upload_page(footer, offset=size - _VHD_FOOTER, length=_VHD_FOOTER)
    return _read_sas(blobs, blob.blob_name, blob.url, seconds)


async def _export_real_vhd(sim: Any, disk: dict[str, Any]) -> str:
    """The disk as a real fixed VHD page blob: only its data ranges are uploaded (the rest reads as zeros)."""
    vhd = await sim.compute.export_vhd(disk["_file"], disk["name"])
    try:
        blob = await _access_blob(sim, disk, os.path.getsize(vhd))
        in_flight: set[asyncio.Task[Any]] = set()
        with open(vhd, "rb") as f:
            for offset, data in data_pages(f, os.path.getsize(vhd)):
                if len(in_flight) >= _UPLOADS_IN_FLIGHT:
                    done, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                    for task in done:
                        task.result()
                in_flight.add(asyncio.ensure_future(blob.upload_page(data, offset=offset, length=len(data))))
            for task in in_flight:
                await task
    finally:
        os.unlink(vhd)
    # Not a SAS, unlike Azure's: Azurite reads the whole source of a copy into its memory (3 GiB for this
    # disk) to check a signed source URL, and copies an unsigned one of its own account by reference.
    return str(blob.url)


async def _access_blob(sim: Any, disk: dict[str, Any], size: int) -> Any:
    """The disk's export page blob of ``size`` bytes, new and empty."""
    container = sim.blobs.service.get_container_client(ACCESS_CONTAINER)
    with contextlib.suppress(ResourceExistsError):  # two exports at once race to create it
        await container.create_container()
    blob = container.get_blob_client(f"{disk['name']}.vhd")
    await blob.create_page_blob(size, metadata={"disksizegb": str(disk["properties"]["diskSizeGB"])})
    return blob


def data_pages(f: Any, size: int, chunk: int = 4 * 1024**2) -> Any:
    """(offset, bytes) of the non-zero 4 MiB pieces of a sparse file, its holes skipped."""
    fd = f.fileno()
    offset = 0
    while offset < size:
        try:
            offset = os.lseek(fd, offset, os.SEEK_DATA)
        except OSError:  # no data after offset
            return
        end = min(os.lseek(fd, offset, os.SEEK_HOLE), size)
        offset -= offset % 512
        while offset < end:
            length = min(chunk, end - offset)
            length += (-length) % 512
            f.seek(offset)
            data = f.read(length)
            if data.strip(b"\0"):
                yield offset, data
            offset += len(data) or length


def _read_sas(blobs: Any, name: str, url: str, seconds: int) -> str:
    sas = generate_blob_sas(
        blobs.account_name,
        ACCESS_CONTAINER,
        name,
        account_key=blobs.account_key,
        permission=BlobSasPermissions(read=True),
        expiry=datetime.now(UTC) + timedelta(seconds=seconds),
    )
    return f"{url}?{sas}"


async def end_get_access(req: SimRequest) -> web.StreamResponse:
    disk = _disk(req)

    async def work() -> None:
        # Revoking access makes the SAS useless; deleting the exported blob has the same effect in Azurite.
        blob = req.sim.blobs.service.get_blob_client(ACCESS_CONTAINER, f"{disk['name']}.vhd")
        if await blob.exists():
            await blob.delete_blob()
        disk["properties"]["diskState"] = "Reserved" if disk.get("managedBy") else "Unattached"
        req.sim.store.put(disk["id"], disk)

    return await lro.begin(
        req, op="compute.disk.revokeAccess", resource_id=None, work=work, location=disk["location"]
    )


def add_routes(router: Router) -> None:
    disk = _RG + "/disks/{disk}"
    router.add("GET", disk, get_disk, op="compute.disk.get")
    router.add("DELETE", disk, delete_disk, op="compute.disk.delete")
    router.add("POST", disk + "/beginGetAccess", begin_get_access, op="compute.disk.grantAccess")
    router.add("POST", disk + "/endGetAccess", end_get_access, op="compute.disk.revokeAccess")
