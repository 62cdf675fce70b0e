"""The QEMU compute backend (``python -m azuresim --compute qemu``): real disks and processes behind the
compute resources.

- A VM whose image reference resolves to a local disk (a URN in the image catalog, a managed image or a
  gallery image version made here) gets an OS disk file: a qcow2 overlay on that disk. It boots as a QEMU
  process; its VM agent is Ready when the guest agent answers.
- Power operations act on the process: powerOff and deallocate shut the guest down, start boots it again on
  the same disk, restart reboots the guest; delete kills it.
- Files: ``<vm_dir>/disks`` (OS disks, with a hard link to what they were created from, so deleting an image
  never breaks a disk made from it), ``<vm_dir>/images`` (managed images and gallery versions: flattened
  qcow2), ``<vm_dir>/exports`` (fixed VHDs), ``<vm_dir>/machines/<vm>`` (pid file, sockets, console log).
  A resource's files go when the resource goes, however it is deleted (``on_delete``), and a start removes
  the files no resource names.

VMs with another source (Windows, a URN with no local disk) keep the rule-based simulation.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from azuresim.errors import SimError
from azuresim.qemu import images, machine
from azuresim.qemu.machine import Machine

NOT_READY = 1e18  # ``_agentReadyAt`` of a VM whose guest agent has not answered yet


def _qemu_img(*args: str) -> None:
    done = subprocess.run(["qemu-img", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"qemu-img {args[0]} failed: {done.stderr.strip()}")


async def _qemu_img_async(*args: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        "qemu-img", *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"qemu-img {args[0]} failed: {err.decode(errors='replace').strip()}")


def virtual_size(path: str, fmt: str | None = None) -> int:
    args = ["qemu-img", "info", "--output=json", "-U", *(["-f", fmt] if fmt else []), path]
    info = json.loads(subprocess.run(args, capture_output=True, text=True, check=True).stdout)
    return int(info["virtual-size"])


def _unlink(*paths: str) -> None:
    for p in paths:
        if p:
            Path(p).unlink(missing_ok=True)


class QemuCompute:
    name = "qemu"

    def __init__(self, vm_dir: Path, image_cache: Path | None = None) -> None:
        self.root = vm_dir.resolve()
        self.image_cache = image_cache
        self.machines: dict[str, Machine] = {}
        self.watchers: dict[str, asyncio.Task[None]] = {}
        for sub in ("disks", "images", "exports", "machines"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    # -- images ---------------------------------------------------------------------------------------
    def local_images(self) -> dict[str, images.LocalImage]:
        return images.catalog(self.image_cache)

    def source_disk(self, sim: Any, ref: dict[str, Any]) -> tuple[str, str] | None:
        """(file, qemu-img format) of what an imageReference points at, when it is on this machine."""
        if ref.get("id"):
            source = sim.store.get(str(ref["id"]))
            found = source.get("_file") if source else None
            return (str(found), "qcow2") if found and Path(found).is_file() else None
        if ref.get("publisher"):
            urn = ":".join(str(ref.get(k, "")) for k in ("publisher", "offer", "sku"))
            image = self.local_images().get(images.urn_key(urn))
            return (image.path, image.format) if image else None
        return None

    def provision(self, sim: Any, vm: dict[str, Any], disk: dict[str, Any]) -> bool:
        """Give the VM's OS disk a file, a qcow2 overlay on the source's disk; False when there is none."""
        os_disk = vm["properties"].get("storageProfile", {}).get("osDisk", {})
        if str(os_disk.get("osType", "Linux")) == "Windows":
            return False
        found = self.source_disk(sim, vm["properties"]["storageProfile"].get("imageReference") or {})
        if found is None:
            return False
        source, fmt = found
        firmware = "uefi" if vm.get("_hyperVGeneration") == "V2" else "bios"
        if firmware == "uefi" and images.gen2_missing():
            return False  # no UEFI firmware here: the Gen2 VM stays simulated
        data_sizes = self._data_disk_sizes(vm)
        stem = f"{disk['name']}-{uuid.uuid4().hex[:8]}"
        overlay = self.root / "disks" / f"{stem}.qcow2"
        backing = source
        if fmt == "qcow2" and Path(source).is_relative_to(self.root):
            # A hard link keeps the disk whole when the image it came from is deleted.
            backing = str(self.root / "disks" / f"{stem}.base.qcow2")
            os.link(source, backing)
        _qemu_img("create", "-q", "-f", "qcow2", "-b", backing, "-F", fmt, str(overlay))
        size_gb = math.ceil(virtual_size(str(overlay), "qcow2") / 1024**3)
        disk["_file"] = str(overlay)
        disk["_files"] = [str(overlay), backing if backing != source else ""]
        disk["properties"]["diskSizeGB"] = size_gb
        disk["properties"]["diskSizeBytes"] = virtual_size(str(overlay), "qcow2")
        os_disk["diskSizeGB"] = size_gb
        vm["_qemu"] = {
            "dir": str(self.root / "machines" / f"{vm['name']}-{vm['properties']['vmId'][:8]}"),
            "firmware": firmware,
            "data": [],
        }
        for name, size in data_sizes:  # sparse qcow2 files: a blank disk costs nothing until written
            data = self.root / "disks" / f"{name}-{uuid.uuid4().hex[:8]}.qcow2"
            _qemu_img("create", "-q", "-f", "qcow2", str(data), f"{size}G")
            vm["_qemu"]["data"].append(str(data))
        vm["_files"] = list(vm["_qemu"]["data"])
        return True

    @staticmethod
    def _data_disk_sizes(vm: dict[str, Any]) -> list[tuple[str, int]]:
        """(name, GiB) of each ``dataDisks`` entry by LUN; only ``createOption`` Empty (a new blank disk) is
        supported on a QEMU VM: a 400 naming the field for the others, before any file is made."""
        entries = vm["properties"].get("storageProfile", {}).get("dataDisks") or []
        sizes = []
        for i, entry in enumerate(entries):
            lun = entry.get("lun", i) if isinstance(entry, dict) else None
            if not isinstance(lun, int) or not 0 <= lun <= 63:
                target = f"storageProfile.dataDisks[{i}].lun"
                raise SimError(400, "InvalidParameter", "A data disk needs a lun from 0 to 63.", target)
            assert isinstance(entry, dict)
            if str(entry.get("createOption", "Empty")).lower() != "empty":
                raise SimError(
                    400, "InvalidParameter",
                    f"The data disk at LUN {lun} of a local QEMU VM must use createOption Empty.",
                    f"storageProfile.dataDisks[{i}].createOption",
                )  # fmt: skip
            size = entry.get("diskSizeGB")
            if not isinstance(size, int) or not 0 < size <= 32767:
                raise SimError(
                    400, "InvalidParameter", f"The data disk at LUN {lun} needs a diskSizeGB of 1 to 32767.",
                    f"storageProfile.dataDisks[{i}].diskSizeGB",
                )  # fmt: skip
            sizes.append((lun, str(entry.get("name") or f"{vm['name']}-data-{lun}"), size))
        return [(name, size) for _, name, size in sorted(sizes)]

    async def flatten(self, source: str, name: str) -> str:
        """A standalone qcow2 copy of ``source`` (its backing chain folded in): a captured image."""
        out = self.root / "images" / f"{name}-{uuid.uuid4().hex[:8]}.qcow2"
        await _qemu_img_async("convert", "-O", "qcow2", "-f", "qcow2", source, str(out))
        return str(out)

    def share(self, source: str, name: str) -> str:
        """Another name for an immutable image file (a hard link): a gallery version's disk."""
        out = self.root / "images" / f"{name}-{uuid.uuid4().hex[:8]}.qcow2"
        os.link(source, out)
        return str(out)

    async def export_vhd(self, source: str, name: str) -> str:
        """A fixed-size VHD of ``source`` (size a multiple of 1 MiB plus the footer, as Azure requires)."""
        out = self.root / "exports" / f"{name}-{uuid.uuid4().hex[:8]}.vhd"
        await _qemu_img_async(
            "convert", "-f", "qcow2", "-O", "vpc", "-o", "subformat=fixed,force_size=on", source, str(out)
        )
        return str(out)

    # -- machines --------------------------------------------------------------------------------------
    @staticmethod
    def is_real(vm: dict[str, Any] | None) -> bool:
        return bool(vm and vm.get("_qemu"))

    def disk_file(self, sim: Any, vm: dict[str, Any]) -> str:
        disk_id = vm["properties"]["storageProfile"]["osDisk"]["managedDisk"]["id"]
        disk = sim.store.get(disk_id) or {}
        return str(disk.get("_file", ""))

    def machine(self, vm: dict[str, Any]) -> Machine | None:
        return self.machines.get(vm["id"].lower())

    def boot_later(self, sim: Any, vm: dict[str, Any]) -> None:
        """Boot in the background (the create or start operation does not wait for the guest)."""
        task = asyncio.get_running_loop().create_task(self.boot(sim, vm))
        sim.tasks.add(task)
        task.add_done_callback(sim.tasks.discard)

    async def boot(self, sim: Any, vm: dict[str, Any]) -> None:
        key = vm["id"].lower()
        old = self.machines.get(key)
        if old is not None and old.alive():
            return
        cpus = max(1, min(int(os.environ.get("AZURESIM_QEMU_CPUS", "2")), os.cpu_count() or 1))
        memory = int(os.environ.get("AZURESIM_QEMU_MEMORY_MB", "512"))
        m = Machine(
            Path(vm["_qemu"]["dir"]), Path(self.disk_file(sim, vm)), memory_mb=memory, cpus=cpus,
            firmware=vm["_qemu"].get("firmware", "bios"), data=[Path(f) for f in vm["_qemu"].get("data", [])],
        )  # fmt: skip
        self.machines[key] = m
        vm["_agentReadyAt"] = NOT_READY
        await m.boot()
        vm["_power"] = "running"
        self._watch(sim, vm, m)

    def _watch(self, sim: Any, vm: dict[str, Any], m: Machine) -> None:
        async def watch() -> None:
            if await m.wait_ready():
                vm["_agentReadyAt"] = time.time()
                sim.persist()
            if m.process is not None:
                await m.process.wait()
            # The guest powered itself off (or QEMU died): Azure shows such a VM as stopped.
            if self.machines.get(vm["id"].lower()) is m and sim.store.get(vm["id"]) is not None:
                code = m.process.returncode if m.process is not None else None
                log = (m.folder / "qemu.log").read_text(errors="replace")[-600:].strip()
                print(f"azuresim: QEMU of {vm['name']} ended (code {code}): {log}", file=sys.stderr)
                vm["_power"] = "stopped"
                vm["_agentReadyAt"] = NOT_READY
                sim.persist()

        key = vm["id"].lower()
        old = self.watchers.pop(key, None)
        if old is not None:
            old.cancel()
        task = asyncio.get_running_loop().create_task(watch())
        self.watchers[key] = task
        sim.tasks.add(task)
        task.add_done_callback(sim.tasks.discard)

    async def power_off(self, vm: dict[str, Any]) -> None:
        m = self.machines.pop(vm["id"].lower(), None)
        vm["_agentReadyAt"] = NOT_READY
        if m is not None:
            await m.shutdown()

    async def restart(self, sim: Any, vm: dict[str, Any]) -> None:
        m = self.machine(vm)
        if m is None or not m.alive():
            await self.boot(sim, vm)
            return
        vm["_agentReadyAt"] = NOT_READY
        await m.reboot()
        if await m.wait_ready():
            vm["_agentReadyAt"] = time.time()

    def on_delete(self, resource: dict[str, Any]) -> None:
        """A resource left the store: kill its machine, remove its files."""
        m = self.machines.pop(resource["id"].lower(), None)
        if m is not None:
            m.kill_now()
        watcher = self.watchers.pop(resource["id"].lower(), None)
        if watcher is not None:
            watcher.cancel()
        if resource.get("_qemu"):
            shutil.rmtree(resource["_qemu"]["dir"], ignore_errors=True)
        _unlink(*(resource.get("_files") or [resource.get("_file", "")]))

    # -- start and stop --------------------------------------------------------------------------------
    def settle(self, sim: Any) -> None:
        """At start: kill what a crash left, remove files no resource names, boot VMs that were running."""
        killed = machine.sweep(self.root)
        if killed:
            print(f"azuresim: killed {len(killed)} QEMU process(es) left by an earlier run", file=sys.stderr)
        named: set[str] = set()
        for r in sim.store.all():
            named.update(f for f in (r.get("_files") or [r.get("_file")]) if f)
        for sub in ("disks", "images", "exports"):
            for f in (self.root / sub).iterdir():
                if str(f) not in named:
                    f.unlink(missing_ok=True)
        for d in (self.root / "machines").iterdir():
            shutil.rmtree(d, ignore_errors=True)

    def resume(self, sim: Any) -> None:
        """After a restart: VMs that were running boot again (Azure's service healing does the same)."""
        for vm in sim.store.list(type="Microsoft.Compute/virtualMachines"):
            if self.is_real(vm) and vm.get("_power") in ("running", "starting", "restarting"):
                self.boot_later(sim, vm)

    async def close(self, *, keep_disks: bool) -> None:
        """At shutdown: kill every machine; without a state file to come back to, remove every file too."""
        for m in list(self.machines.values()):
            await m.kill()
        self.machines.clear()
        for sub in ("machines", "exports") if keep_disks else ("machines", "exports", "disks", "images"):
            with contextlib.suppress(OSError):
                for f in (self.root / sub).iterdir():
                    shutil.rmtree(f) if f.is_dir() else f.unlink(missing_ok=True)
