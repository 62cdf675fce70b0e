"""The build VM's power: restart (WindowsRestart, update reboots), wait for it, deallocate, generalize.

A restart is only over when the VM agent reports ready again: Run Command goes through the agent, and a
command sent before it is back fails or hangs (user-pain-points 5).
"""

from __future__ import annotations

from collections.abc import Callable

from activities.support import steplog, waiting
from activities.support.context import StepStarted, canceled_error, gone_error, guard
from shared import naming
from shared.errors import AzureError, AzureNotFound, TransientAzureError
from shared.models.azure import RunCommandSpec, VmState
from shared.models.build import BuildVm, PhaseError, PhaseFailed
from shared.models.customizers import DEFAULT_RESTART_COMMAND, WindowsRestartCustomizer
from shared.models.durable import Polled, RestartInput, StepInput, VmProbe
from shared.ports import BuildPorts

RESTART_COMMAND_SECONDS = 600


async def restart_vm(inp: RestartInput, *, ports: BuildPorts) -> Polled:
    """Restart the VM (on the first call), then wait until it runs with its agent ready again."""
    if inp.begin:
        started = await waiting.call(lambda: _begun(restart(inp, ports=ports)))
        if started.error is not None:
            return started
    return await waiting.wait_until_done(lambda: check_ready(inp.vm, ports=ports), inp.wait)


async def generalize_vm(inp: VmProbe, *, ports: BuildPorts) -> Polled:
    """Deallocate the VM, wait until it is, and mark it generalized: capture needs it so."""
    stopped = await waiting.wait_until_done(lambda: deallocate(inp.vm, ports=ports), inp.wait)
    if not stopped.done or stopped.error is not None:
        return stopped
    return await waiting.call(lambda: generalize(inp.vm, ports=ports))


def _begun(started: StepStarted) -> Polled:
    if started.error is not None:
        return Polled(done=True, state="Failed", error=started.error)
    return Polled(done=False, state="restarting")


def restart(inp: StepInput, *, ports: BuildPorts) -> StepStarted:
    """Restart the VM: a custom ``restartCommand`` runs on it, otherwise Azure restarts it."""
    vm = inp.vm
    restart_spec = inp.step.spec
    command = (
        restart_spec.restartCommand
        if isinstance(restart_spec, WindowsRestartCustomizer)
        else DEFAULT_RESTART_COMMAND
    )
    blobs = ports.blobs(account_url=ports.storage_account_url(vm.storage_account))
    try:
        with guard(inp.step.phase, vm.vm_name):
            steplog.append_line(
                blobs, inp.run.run_id, f"{inp.step.describe()} attempt {inp.attempt}: restarting"
            )
            if command == DEFAULT_RESTART_COMMAND:
                ports.virtual_machines.begin_restart(resource_group=vm.resource_group, name=vm.vm_name)
                return StepStarted()
            name = naming.run_command_name(inp.run.run_id, "restart", inp.step.index, inp.attempt)
            url = ports.storage_account_url(vm.storage_account)
            valid = RESTART_COMMAND_SECONDS + steplog.SAS_MARGIN_SECONDS
            spec = RunCommandSpec(
                script=f"# kiln: restart\n{command}\n",
                output_blob_uri=steplog.writable_blob(
                    blobs, url, f"{inp.run.run_id}/steps/{name}.stdout", valid
                ),
                error_blob_uri=steplog.writable_blob(
                    blobs, url, f"{inp.run.run_id}/steps/{name}.stderr", valid
                ),
                timeout_seconds=RESTART_COMMAND_SECONDS,
                location=inp.run.location,
            )
            ports.run_commands.begin_create(
                resource_group=vm.resource_group, vm_name=vm.vm_name, name=name, spec=spec
            )
            return StepStarted(command_name=name)
    except PhaseFailed as e:
        return StepStarted(error=e.error)


def check_ready(vm: BuildVm, *, ports: BuildPorts) -> Polled:
    """Done when the VM runs and its agent is ready (the orchestrator bounds this by ``restartTimeout``)."""
    return _poll(vm, ports, lambda s: s.power_state == "running" and bool(s.vm_agent_ready))


def deallocate(vm: BuildVm, *, ports: BuildPorts) -> Polled:
    """Deallocate the VM (generalize and capture need it stopped): done once it is; ended, not waiting,
    when the VM is being deleted or gone (compensation took it)."""
    looked = _poll(vm, ports, lambda s: s.power_state == "deallocated")
    if looked.done or looked.state == "deallocating":
        return looked
    try:
        with guard("generalize", vm.vm_name):
            ports.virtual_machines.begin_deallocate(resource_group=vm.resource_group, name=vm.vm_name)
    except PhaseFailed as e:
        return Polled(done=True, state="Failed", error=e.error)
    return Polled(done=False, state="deallocating")


def generalize(vm: BuildVm, *, ports: BuildPorts) -> Polled:
    """Mark the deallocated VM generalized, so images and gallery versions can be captured from it."""
    try:
        with guard("generalize", vm.vm_name):
            ports.virtual_machines.generalize(resource_group=vm.resource_group, name=vm.vm_name)
        return Polled(done=True, succeeded=True, state="generalized")
    except PhaseFailed as e:
        return Polled(done=True, state="Failed", error=e.error)


def _poll(vm: BuildVm, ports: BuildPorts, ready: Callable[[VmState], bool]) -> Polled:
    try:
        state = ports.virtual_machines.get(resource_group=vm.resource_group, name=vm.vm_name)
    except TransientAzureError:
        raise
    except AzureNotFound as e:
        error = gone_error(f"The build VM '{vm.vm_name}'", None, vm.vm_name, f"{e.code}: {e.message}")
        return Polled(done=True, state="NotFound", error=error)
    except AzureError as e:
        error = PhaseError(code=e.code, message=f"the build VM {vm.vm_name}: {e.message}", target=vm.vm_name)
        return Polled(done=True, state="Failed", error=error)
    if state.provisioning_state == "Deleting":  # compensation is deleting it: it will never be ready
        error = canceled_error(f"The build VM '{vm.vm_name}'", None, vm.vm_name)
        return Polled(done=True, state="Deleting", error=error)
    if ready(state):
        return Polled(done=True, succeeded=True, state=state.power_state or "")
    return Polled(done=False, state=state.power_state or state.provisioning_state)
