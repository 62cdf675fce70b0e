"""The virtual machine as azuresim stores it, and its instance view.

Runtime facts Azure keeps outside the resource body live in ``_``-prefixed private fields (stripped from every
answer by ``state.public``): ``_power`` (running | stopped | deallocating | deallocated | restarting),
``_generalized`` and ``_agentReadyAt`` (epoch seconds before which the VM agent reports "Not Ready");
``_adminPasswordSha256`` (the admin password's digest, never the password) and ``_bootMark`` (a mark only the
running boot holds: a Windows volatile registry key, cleared by any restart or stop).
"""

from __future__ import annotations

import copy
import hashlib
import time
import uuid
from datetime import UTC, datetime
from typing import Any

AGENT_VERSION = "2.12.0.2"
_POWER_DISPLAY = {
    "running": "VM running",
    "stopping": "VM stopping",
    "stopped": "VM stopped",
    "deallocating": "VM deallocating",
    "deallocated": "VM deallocated",
    "restarting": "VM starting",
    "starting": "VM starting",
}
# Secrets the osProfile accepts on PUT but Azure never returns.
_WRITE_ONLY = ("adminPassword", "customData")


def iso(epoch: float | None = None) -> str:
    return (
        datetime.fromtimestamp(time.time() if epoch is None else epoch, UTC)
        .isoformat()
        .replace("+00:00", "Z")
    )


def new_vm(
    vm_id: str, properties: dict[str, Any], location: str, tags: dict[str, str] | None, identity: Any
) -> dict[str, Any]:
    """The stored VM body (private fields included) for a PUT or a deployment."""
    props = copy.deepcopy(properties)
    os_profile = props.get("osProfile")
    password_sha256 = ""
    if isinstance(os_profile, dict):
        if os_profile.get("adminPassword"):  # kept as a digest: a scheduled task's logon checks it
            password_sha256 = hashlib.sha256(str(os_profile["adminPassword"]).encode()).hexdigest()
        for key in _WRITE_ONLY:
            os_profile.pop(key, None)
    props["vmId"] = str(uuid.uuid4())
    props["timeCreated"] = iso()
    props["provisioningState"] = "Creating"
    vm: dict[str, Any] = {"location": location, "tags": dict(tags or {}), "properties": props}
    if identity:
        vm["identity"] = copy.deepcopy(identity)
    vm["_power"] = "running"
    vm["_generalized"] = False
    vm["_agentReadyAt"] = 0.0
    vm["_adminPasswordSha256"] = password_sha256
    vm["_bootedAt"] = time.time()
    return vm


def os_type(vm: dict[str, Any]) -> str:
    os_disk = vm.get("properties", {}).get("storageProfile", {}).get("osDisk", {})
    if os_disk.get("osType"):
        return str(os_disk["osType"])
    profile = vm.get("properties", {}).get("osProfile", {})
    return "Windows" if "windowsConfiguration" in profile else "Linux"


def hyperv_generation(vm: dict[str, Any]) -> str:
    return str(vm.get("_hyperVGeneration") or "V1")


def os_disk_name(vm_name: str, os_disk: dict[str, Any]) -> str:
    # Azure's generated name: "<vm>_OsDisk_1_<32 hex>".
    return str(os_disk.get("name") or f"{vm_name}_OsDisk_1_{uuid.uuid4().hex}")


def agent_ready(vm: dict[str, Any], now: float) -> bool:
    return vm.get("_power") == "running" and now >= float(vm.get("_agentReadyAt", 0.0))


def _status(code: str, display: str, level: str = "Info", when: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"code": code, "level": level, "displayStatus": display}
    if when:
        out["time"] = when
    return out


def _agent_view(vm: dict[str, Any], now: float) -> dict[str, Any]:
    if agent_ready(vm, now):
        status = _status("ProvisioningState/succeeded", "Ready", when=iso(now))
        status["message"] = "Guest Agent is running"
    else:
        status = _status("ProvisioningState/Unavailable", "Not Ready", "Warning", iso(now))
        status["message"] = "VM status blob is found but not yet populated."
    return {"vmAgentVersion": AGENT_VERSION, "statuses": [status]}


def instance_view(vm: dict[str, Any], now: float) -> dict[str, Any]:
    """``properties.instanceView`` (also the body of GET .../instanceView)."""
    props = vm.get("properties", {})
    state = str(props.get("provisioningState", "Succeeded"))
    power = str(vm.get("_power", "running"))
    statuses = [_status(f"ProvisioningState/{state.lower()}", f"Provisioning {state.lower()}", when=iso(now))]
    if vm.get("_generalized"):
        statuses.append(_status("OSState/generalized", "VM generalized"))
    statuses.append(
        _status(f"PowerState/{'starting' if power == 'restarting' else power}", _POWER_DISPLAY[power])
    )
    os_disk = props.get("storageProfile", {}).get("osDisk", {})
    view: dict[str, Any] = {
        "computerName": props.get("osProfile", {}).get("computerName", vm.get("name", "")),
        "osName": "Windows Server 2022 Datacenter" if os_type(vm) == "Windows" else "ubuntu",
        "hyperVGeneration": hyperv_generation(vm),
        "disks": [
            {
                "name": os_disk.get("name", ""),
                "statuses": [_status("ProvisioningState/succeeded", "Provisioning succeeded", when=iso(now))],
            }
        ],
        "statuses": statuses,
    }
    if power in ("running", "restarting"):
        view["vmAgent"] = _agent_view(vm, now)
    return view


def end_boot(vm: dict[str, Any]) -> None:
    """The running boot ends (a restart, a stop, a deallocation): what only it held is gone."""
    vm.pop("_bootMark", None)


def begin_restart(sim: Any, vm: dict[str, Any]) -> None:
    end_boot(vm)
    vm["_power"] = "restarting"
    vm["_agentReadyAt"] = time.time() + 3600.0  # until the restart finishes


def finish_restart(sim: Any, vm: dict[str, Any]) -> None:
    # After a reboot the guest agent takes a while to report Ready again.
    vm["_power"] = "running"
    vm["_bootedAt"] = time.time()
    vm["_agentReadyAt"] = time.time() + sim.latency.delay("compute.vm.agent")
    sim.store.put(vm["id"], vm)
