"""Adapters over azure-mgmt-compute for the build VM: VMs, managed Run Commands and disk access."""

from __future__ import annotations

from typing import Any

from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.models import GrantAccessData, VirtualMachineRunCommand

from shared.azure._wire import dig, finish, wire
from shared.azure.errors import azure_errors, missing_ok
from shared.models.azure import RunCommandSpec, RunCommandState, VmState


def _statuses(view: dict[str, Any]) -> list[str]:
    return [str(s.get("code", "")) for s in view.get("statuses") or []]


def vm_state(raw: Any) -> VmState:
    """A ``VmState`` from a VM read with ``$expand=instanceView``."""
    data = wire(raw)
    props = data.get("properties") or {}
    view = props.get("instanceView") or {}
    power = next((c.split("/", 1)[1] for c in _statuses(view) if c.startswith("PowerState/")), None)
    agent = view.get("vmAgent")
    agent_ready = None
    if isinstance(agent, dict):
        agent_ready = any(str(s.get("displayStatus")) == "Ready" for s in agent.get("statuses") or [])
    return VmState(
        id=data["id"],
        name=data["name"],
        provisioning_state=props.get("provisioningState") or "Unknown",
        power_state=power,
        vm_agent_ready=agent_ready,
        os_disk_id=dig(props, "storageProfile", "osDisk", "managedDisk", "id"),
    )


class AzureVirtualMachines:
    """The build VM. Deallocate, restart and delete are long: they return once Azure has accepted them."""

    def __init__(self, client: ComputeManagementClient) -> None:
        self._client = client

    def get(self, *, resource_group: str, name: str) -> VmState:
        with azure_errors(name):
            return vm_state(self._client.virtual_machines.get(resource_group, name, expand="instanceView"))

    def begin_deallocate(self, *, resource_group: str, name: str) -> None:
        with azure_errors(name):
            self._client.virtual_machines.begin_deallocate(resource_group, name, polling=False)

    def generalize(self, *, resource_group: str, name: str) -> None:
        with azure_errors(name):
            self._client.virtual_machines.generalize(resource_group, name)

    def begin_restart(self, *, resource_group: str, name: str) -> None:
        with azure_errors(name):
            self._client.virtual_machines.begin_restart(resource_group, name, polling=False)

    def begin_delete(self, *, resource_group: str, name: str) -> None:
        with missing_ok(name):
            self._client.virtual_machines.begin_delete(resource_group, name, polling=False)


def run_command_body(spec: RunCommandSpec, location: str) -> dict[str, Any]:
    """The managed Run Command resource: asynchronous, output and errors streamed to append blobs."""
    props: dict[str, Any] = {
        "source": {"script": spec.script},
        "asyncExecution": True,
        "timeoutInSeconds": spec.timeout_seconds,
        "outputBlobUri": spec.output_blob_uri,
        "errorBlobUri": spec.error_blob_uri,
        # A failing script must show up as executionState/exitCode, not as a failed PUT.
        "treatFailureAsDeploymentFailure": False,
    }
    if spec.protected_parameters:
        props["protectedParameters"] = [
            {"name": name, "value": value.get_secret_value()}
            for name, value in spec.protected_parameters.items()
        ]
    if spec.blob_identity_client_id:
        identity = {"clientId": spec.blob_identity_client_id}
        props["outputBlobManagedIdentity"] = identity
        props["errorBlobManagedIdentity"] = identity
    return {"location": location, "properties": props}


def run_command_state(raw: Any) -> RunCommandState:
    data = wire(raw)
    props = data.get("properties") or {}
    view = props.get("instanceView") or {}
    exit_code = view.get("exitCode")
    error = view.get("error") or view.get("executionMessage")
    return RunCommandState(
        name=data["name"],
        provisioning_state=props.get("provisioningState") or "Unknown",
        execution_state=view.get("executionState") or "Unknown",
        exit_code=int(exit_code) if exit_code is not None else None,
        error_message=str(error) if error else None,
        start_time=str(view["startTime"]) if view.get("startTime") else None,
        end_time=str(view["endTime"]) if view.get("endTime") else None,
    )


class AzureRunCommands:
    """Managed Run Commands (``virtualMachines/{vm}/runCommands/{name}``)."""

    def __init__(self, client: ComputeManagementClient) -> None:
        self._client = client

    def begin_create(self, *, resource_group: str, vm_name: str, name: str, spec: RunCommandSpec) -> None:
        with azure_errors(f"{vm_name}/{name}"):
            location = (
                spec.location or wire(self._client.virtual_machines.get(resource_group, vm_name))["location"]
            )
            self._client.virtual_machine_run_commands.begin_create_or_update(
                resource_group,
                vm_name,
                name,
                VirtualMachineRunCommand(run_command_body(spec, location)),
                polling=False,
            )

    def get(self, *, resource_group: str, vm_name: str, name: str) -> RunCommandState:
        with azure_errors(f"{vm_name}/{name}"):
            raw = self._client.virtual_machine_run_commands.get_by_virtual_machine(
                resource_group, vm_name, name, expand="instanceView"
            )
        return run_command_state(raw)

    def begin_delete(self, *, resource_group: str, vm_name: str, name: str) -> None:
        with missing_ok(f"{vm_name}/{name}"):
            self._client.virtual_machine_run_commands.begin_delete(
                resource_group, vm_name, name, polling=False
            )


class AzureDisks:
    """Read access to a managed disk (a SAS URL for copying the VHD); both calls are short and synchronous."""

    def __init__(self, client: ComputeManagementClient) -> None:
        self._client = client

    def grant_access(self, *, resource_group: str, name: str, duration_seconds: int) -> str:
        body = GrantAccessData({"access": "Read", "durationInSeconds": duration_seconds})
        with azure_errors(name):
            result = wire(
                finish(self._client.disks.begin_grant_access(resource_group, name, body), target=name)
            )
        return str(result.get("accessSAS") or result.get("accessSas") or "")

    def revoke_access(self, *, resource_group: str, name: str) -> None:
        with missing_ok(name):
            finish(self._client.disks.begin_revoke_access(resource_group, name), target=name)
