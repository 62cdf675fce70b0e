"""Fakes of the VM, Run Command and disk ports: power states, scripted run-command outcomes, disk access."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from activities.support import scripts
from shared.errors import AzureNotFound, PermanentAzureError
from shared.models.azure import RunCommandSpec, RunCommandState, VmState
from tests.fakes.cloud import FakeCloud, arm_id


@dataclass
class ScriptOutcome:
    """What a run command matching ``pattern`` does: exit code and output, after ``reads`` reads."""

    pattern: str
    exit_code: int = 0
    stdout: str = ""
    stderr: str = ""
    reads: int = 1


# Scripts that take the VM down, as azuresim recognises them: the VM restarts once the command has ended.
_RESTARTS = re.compile(r"shutdown(\.exe)?\s+[/-]r\b|\bRestart-Computer\b", re.IGNORECASE)


def _marks_the_boot(script: str) -> bool:
    return "mark this boot" in script and (
        scripts.RESTART_MARK_KEY in script or scripts.RESTART_MARK_FILE in script
    )


def _asks_whether_restarted(script: str) -> bool:
    return "has the VM restarted?" in script


class FakeVirtualMachines:
    def __init__(self, cloud: FakeCloud) -> None:
        self.cloud = cloud

    def _vm(self, resource_group: str, name: str) -> dict[str, Any]:
        vm = self.cloud.find(arm_id(resource_group, "Microsoft.Compute/virtualMachines", name))
        if vm is None:
            raise AzureNotFound(f"The Resource 'Microsoft.Compute/virtualMachines/{name}' was not found.")
        return vm

    def get(self, *, resource_group: str, name: str) -> VmState:
        self.cloud.enter("vms.get", name)
        vm = self._vm(resource_group, name)
        if self.cloud.step(vm):
            self._settle(resource_group, vm)
            if vm["id"].lower() not in self.cloud.resources:
                raise AzureNotFound(f"The Resource 'Microsoft.Compute/virtualMachines/{name}' was not found.")
        disk = vm["properties"]["storageProfile"]["osDisk"].get("managedDisk", {}).get("id")
        return VmState(
            id=vm["id"],
            name=vm["name"],
            provisioning_state=vm["provisioning_state"],
            power_state=vm["power_state"],
            vm_agent_ready=vm["agent_ready"],
            os_disk_id=disk,
        )

    def _settle(self, resource_group: str, vm: dict[str, Any]) -> None:
        action = vm.pop("action")
        vm["provisioning_state"] = "Succeeded"
        if action == "deallocate":
            vm["power_state"] = "deallocated"
        elif action == "restart":
            vm.update(power_state="running", agent_ready=True, boot_mark=False)  # a new boot: no mark
        elif action == "delete":
            self.cloud.resources.pop(vm["id"].lower())
            for child in [k for k in self.cloud.resources if k.startswith(vm["id"].lower() + "/")]:
                self.cloud.resources.pop(child)  # its Run Commands go with it, as in Azure
            for used in vm["uses"]:
                # deleteOption: Delete on the OS disk and the NIC goes with the VM, as in Azure.
                if "/disks/" in used or "/networkInterfaces/" in used:
                    self.cloud.resources.pop(used.lower(), None)

    def _begin(self, resource_group: str, name: str, op: str, action: str, **state: Any) -> None:
        self.cloud.enter(op, name)
        vm = self._vm(resource_group, name)
        vm.update(
            {"provisioning_state": "Updating", **state, "action": action, "pending": self.cloud.lro_reads}
        )
        if self.cloud.lro_reads == 0:
            vm["pending"] = 1
            self.cloud.step(vm)
            self._settle(resource_group, vm)

    def begin_deallocate(self, *, resource_group: str, name: str) -> None:
        self._begin(resource_group, name, "vms.deallocate", "deallocate", power_state="deallocating")

    def begin_restart(self, *, resource_group: str, name: str) -> None:
        self._begin(resource_group, name, "vms.restart", "restart", power_state="starting", agent_ready=False)

    def begin_delete(self, *, resource_group: str, name: str) -> None:
        if self.cloud.find(arm_id(resource_group, "Microsoft.Compute/virtualMachines", name)) is None:
            self.cloud.enter("vms.delete", name)
            return
        self._begin(resource_group, name, "vms.delete", "delete", provisioning_state="Deleting")

    def generalize(self, *, resource_group: str, name: str) -> None:
        self.cloud.enter("vms.generalize", name)
        vm = self._vm(resource_group, name)
        if vm["power_state"] not in ("deallocated", "stopped"):
            raise PermanentAzureError(
                "Operation 'generalize' is not allowed since the VM is running.",
                code="OperationNotAllowed",
                status=409,
            )
        vm["generalized"] = True


class FakeRunCommands:
    """Run commands whose outcome comes from ``outcomes`` (first matching pattern; default: exit 0)."""

    def __init__(self, cloud: FakeCloud) -> None:
        self.cloud = cloud
        self.outcomes: list[ScriptOutcome] = []

    def _id(self, resource_group: str, vm_name: str, name: str) -> str:
        return arm_id(resource_group, "Microsoft.Compute/virtualMachines/runCommands", vm_name, name)

    def begin_create(self, *, resource_group: str, vm_name: str, name: str, spec: RunCommandSpec) -> None:
        self.cloud.enter("run_commands.create", f"{vm_name}/{name}")
        vm = FakeVirtualMachines(self.cloud)._vm(resource_group, vm_name)
        if vm["power_state"] != "running":
            raise PermanentAzureError(
                f"Cannot run a command on VM '{vm_name}': it is {vm['power_state']}.",
                code="OperationNotAllowed",
                status=409,
            )
        outcome = next((o for o in self.outcomes if re.search(o.pattern, spec.script)), ScriptOutcome(".*"))
        if _asks_whether_restarted(spec.script):  # the VM answers from its state, not from a rule
            pending = bool(vm.get("boot_mark"))
            says = "kiln: not restarted yet" if pending else "kiln: restarted"
            outcome = ScriptOutcome(
                ".*", exit_code=scripts.RESTART_PENDING_EXIT if pending else 0, stdout=says
            )
        rid = self._id(resource_group, vm_name, name)
        existing = self.cloud.find(rid)
        if existing is not None and existing["spec"] == spec:
            return  # the same PUT again: Azure keeps the command that is already running
        self.cloud.put(
            rid,
            {"spec": spec, "outcome": outcome, "pending": outcome.reads, "execution_state": "Running"},
        )
        for uri in (spec.output_blob_uri, spec.error_blob_uri):
            target = self._writable(spec, uri)
            if target is not None:
                self.cloud.blobs.setdefault(target, bytearray())

    def _writable(self, spec: RunCommandSpec, uri: str) -> str | None:
        """The blob Azure can write for ``uri``: a SAS this subscription's storage issued, or the VM's
        identity (outputBlobManagedIdentity). A plain URL of a private container is not writable."""
        base, _, query = uri.partition("?")
        if spec.blob_identity_client_id:
            return base
        signed = parse_qs(query)
        signature, permissions = signed.get("sig", [""])[0], signed.get("sp", [""])[0]
        return base if self.cloud.sas.get(signature) == base and "w" in permissions else None

    def get(self, *, resource_group: str, vm_name: str, name: str) -> RunCommandState:
        self.cloud.enter("run_commands.get", f"{vm_name}/{name}")
        command = self.cloud.get(self._id(resource_group, vm_name, name))
        outcome: ScriptOutcome = command["outcome"]
        finished = command["pending"] == 0 or self.cloud.step(command)
        if finished and command["execution_state"] == "Running":
            spec = command["spec"]
            for uri, text in ((spec.output_blob_uri, outcome.stdout), (spec.error_blob_uri, outcome.stderr)):
                target = self._writable(spec, uri)
                if target is None:  # Azure runs the script but cannot upload its output
                    command["upload_error"] = "Failed to upload to the output blob: AuthorizationFailure"
                else:
                    self.cloud.blobs.setdefault(target, bytearray()).extend(text.encode())
            command["execution_state"] = "Succeeded" if outcome.exit_code == 0 else "Failed"
            self._effects(resource_group, vm_name, spec.script)
        done = command["execution_state"] != "Running"
        return RunCommandState(
            name=name,
            provisioning_state="Succeeded",
            execution_state=command["execution_state"],
            exit_code=outcome.exit_code if done else None,
            error_message=command.get("upload_error"),
        )

    def _effects(self, resource_group: str, vm_name: str, script: str) -> None:
        """What a finished script did to its VM: marked the running boot, or took the VM down."""
        vms = FakeVirtualMachines(self.cloud)
        vm = vms._vm(resource_group, vm_name)
        if _marks_the_boot(script):
            vm["boot_mark"] = True
        if _RESTARTS.search(script):
            vm.update(
                power_state="starting", agent_ready=False, action="restart", pending=self.cloud.lro_reads or 1
            )

    def begin_delete(self, *, resource_group: str, vm_name: str, name: str) -> None:
        self.cloud.enter("run_commands.delete", f"{vm_name}/{name}")
        self.cloud.delete(self._id(resource_group, vm_name, name))


class FakeDisks:
    def __init__(self, cloud: FakeCloud) -> None:
        self.cloud = cloud

    def grant_access(self, *, resource_group: str, name: str, duration_seconds: int) -> str:
        self.cloud.enter("disks.grant_access", name)
        disk = self.cloud.get(arm_id(resource_group, "Microsoft.Compute/disks", name))
        blob = f"https://md-fake.blob.core.windows.net/{name}/abcd"
        # The disk's content as a page blob behind the SAS, so a VHD copy from it works.
        self.cloud.blobs.setdefault(
            blob, bytearray(f"conectix fake vhd of {name}".encode().ljust(512, b"\0"))
        )
        disk["access_sas"] = f"{blob}?sv=2024&sig=fake&se={duration_seconds}"
        return str(disk["access_sas"])

    def revoke_access(self, *, resource_group: str, name: str) -> None:
        self.cloud.enter("disks.revoke_access", name)
        disk = self.cloud.find(arm_id(resource_group, "Microsoft.Compute/disks", name))
        if disk is not None:
            disk["access_sas"] = None
