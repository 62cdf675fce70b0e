"""The build VM's power: restart (WindowsRestart, update reboots), wait for it, deallocate, generalize.

A restart is only over when the VM has really gone down and come back: a mark that only the running boot
holds is set before it (``scripts.restart_mark_script``), and the restart is done once the VM runs with its
agent ready (Run Command goes through the agent: a command sent before it is back fails or hangs,
user-pain-points 5) and a Run Command finds the mark gone. A custom ``restartCommand`` that returns before
the VM goes down, or never takes it down, cannot pass for a restart.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass

from activities.support import scripts, steplog, waiting
from activities.support.context import StepStarted, canceled_error, gone_error, guard
from shared import naming
from shared.errors import AzureError, AzureNotFound, TransientAzureError
from shared.models.azure import RunCommandSpec, RunCommandState, VmState
from shared.models.build import BuildVm, PhaseError, PhaseFailed
from shared.models.customizers import DEFAULT_RESTART_COMMAND, WindowsRestartCustomizer
from shared.models.durable import Polled, RestartInput, StepInput, VmProbe
from shared.ports import Blobs, BuildPorts

RESTART_COMMAND_SECONDS = 600


async def restart_vm(inp: RestartInput, *, ports: BuildPorts) -> Polled:
    """Restart the VM (on the first call), then wait until it has really restarted: it runs with its agent
    ready again and the mark set before the restart is gone (``restarted``)."""
    if inp.begin:
        started = await waiting.call(lambda: _begun(restart(inp, ports=ports)))
        if started.error is not None:
            return started
    state: list[_Restart] = []  # read once per call; its looks keep it up to date
    return await waiting.wait_until_done(lambda: restarted(inp, ports=ports, kept=state), inp.wait)


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


def _command(inp: StepInput) -> str | None:
    """The template's ``restartCommand``; None when Azure's restart does it (the default, update reboots)."""
    spec = inp.step.spec
    command = spec.restartCommand if isinstance(spec, WindowsRestartCustomizer) else DEFAULT_RESTART_COMMAND
    return None if command == DEFAULT_RESTART_COMMAND else command


def _windows(inp: StepInput) -> bool:
    return inp.step.os_type == "Windows"


def mark_name(inp: StepInput) -> str:
    """The Run Command that marks the boot (and runs a custom restartCommand)."""
    return naming.run_command_name(inp.run.run_id, "restart", inp.step.index, inp.attempt)


def proof_name(inp: StepInput, look: int) -> str:
    """The ``look``-th Run Command asking whether the VM has restarted since its mark."""
    return naming.run_command_name(inp.run.run_id, f"proof{inp.attempt:02d}", inp.step.index, look)


def _state_blob(inp: StepInput) -> str:
    return f"{inp.run.run_id}/steps/{mark_name(inp)}.restart.json"


def _run_command(inp: StepInput, ports: BuildPorts, name: str, script: str) -> None:
    """Start a Run Command of the restart (once: a retried call finds it), its output in ``packerlogs``."""
    vm = inp.vm
    try:
        ports.run_commands.get(resource_group=vm.resource_group, vm_name=vm.vm_name, name=name)
        return
    except AzureNotFound:
        pass
    blobs, url = steplog.staging(vm, ports)
    valid = RESTART_COMMAND_SECONDS + steplog.SAS_MARGIN_SECONDS
    spec = RunCommandSpec(
        script=script,
        output_blob_uri=steplog.writable_blob(blobs, url, f"{inp.run.run_id}/steps/{name}.stdout", valid),
        error_blob_uri=steplog.writable_blob(blobs, url, f"{inp.run.run_id}/steps/{name}.stderr", valid),
        timeout_seconds=RESTART_COMMAND_SECONDS,
        location=inp.run.location,
    )
    ports.run_commands.begin_create(
        resource_group=vm.resource_group, vm_name=vm.vm_name, name=name, spec=spec
    )


def restart(inp: StepInput, *, ports: BuildPorts) -> StepStarted:
    """Begin a restart: a Run Command marks the running boot, then runs a custom ``restartCommand``; with
    none, Azure restarts the VM once the mark is set (``restarted``)."""
    vm, name = inp.vm, mark_name(inp)
    blobs, _ = steplog.staging(vm, ports)
    label = f"{inp.step.describe()} attempt {inp.attempt}"
    try:
        with guard(inp.step.phase, vm.vm_name):
            steplog.append_line(blobs, inp.run.run_id, f"{label}: restarting")
            script = scripts.restart_mark_script(label, _command(inp), windows=_windows(inp))
            _run_command(inp, ports, name, script)
            return StepStarted(command_name=name)
    except PhaseFailed as e:
        return StepStarted(error=e.error)


@dataclass
class _Restart:
    """Where a restart is, kept beside its log: marked, Azure asked to restart, looks made so far."""

    marked: bool = False
    mark_failed: str = ""  # how a custom restartCommand ended when it failed (it may have restarted anyway)
    requested: bool = False
    looks: int = 0


def _load(blobs: Blobs, inp: StepInput) -> _Restart:
    try:
        return _Restart(**json.loads(blobs.download(container=naming.LOG_CONTAINER, name=_state_blob(inp))))
    except AzureNotFound:
        return _Restart()


def _save(blobs: Blobs, inp: StepInput, state: _Restart) -> None:
    data = json.dumps(asdict(state)).encode()
    blobs.upload(container=naming.LOG_CONTAINER, name=_state_blob(inp), data=data)


def _logged(inp: StepInput, ports: BuildPorts, state: RunCommandState) -> str:
    """Append an ended Run Command's output to the log; its last lines."""
    blobs, _ = steplog.staging(inp.vm, ports)
    stdout = steplog.read_text(blobs, f"{inp.run.run_id}/steps/{state.name}.stdout")
    stderr = steplog.read_text(blobs, f"{inp.run.run_id}/steps/{state.name}.stderr")
    ended = f"{state.execution_state}, exit code {state.exit_code}"
    header = f"{inp.step.describe()} attempt {inp.attempt}: {state.name}: {ended}"
    return "\n".join(steplog.append_step(blobs, inp.run.run_id, header, stdout, stderr))


def _remove(inp: StepInput, ports: BuildPorts, name: str) -> None:
    vm = inp.vm
    ports.run_commands.begin_delete(resource_group=vm.resource_group, vm_name=vm.vm_name, name=name)


def restarted(inp: StepInput, *, ports: BuildPorts, kept: list[_Restart] | None = None) -> Polled:
    """One look at a restart: done once the VM, running with its agent ready, no longer holds the mark
    set before the restart. Not done while the mark is being set, the VM is down or booting, or the mark is
    still there (the restart has not happened yet: the orchestrator bounds the wait by restartTimeout).
    Where the restart is is saved before each Run Command is removed, so a retried look resumes there."""
    vm = inp.vm
    blobs, _ = steplog.staging(vm, ports)
    if kept is None:
        kept = []
    if not kept:
        kept.append(_load(blobs, inp))
    state = kept[0]
    try:
        with guard(inp.step.phase, vm.vm_name):
            if not state.marked:
                try:
                    mark = ports.run_commands.get(
                        resource_group=vm.resource_group, vm_name=vm.vm_name, name=mark_name(inp)
                    )
                except AzureNotFound:  # begun by a kiln that did not mark the boot: its agent decides
                    return check_ready(vm, ports=ports)
                failed = _marked(inp, ports, state, mark)
                if failed is not None or not state.marked:
                    return failed or Polled(done=False, state="marking the boot")
                _save(blobs, inp, state)
                if mark.terminal:
                    _remove(inp, ports, mark.name)
            if not state.requested and _command(inp) is None:
                ports.virtual_machines.begin_restart(resource_group=vm.resource_group, name=vm.vm_name)
                state.requested = True
                _save(blobs, inp, state)
            return _look(inp, ports, blobs, state)
    except PhaseFailed as e:
        return Polled(done=True, state="Failed", error=e.error)


def _marked(inp: StepInput, ports: BuildPorts, state: _Restart, mark: RunCommandState) -> Polled | None:
    """Whether the mark is set (``state.marked``), from its Run Command: ended, or (a custom restartCommand
    taking the VM down while its command still runs) started; an error when marking itself failed."""
    if not mark.terminal:
        running = mark.execution_state == "Running"
        state.marked = running and _command(inp) is not None and not check_ready(inp.vm, ports=ports).done
        return None
    tail = _logged(inp, ports, mark)
    if mark.execution_state != "Succeeded":
        if _command(inp) is None:
            return _failed(inp, "marking the boot before the restart failed", mark, tail)
        state.mark_failed = f"exit code {mark.exit_code}: {tail}"  # the command may have restarted it anyway
    state.marked = True
    return None


def _look(inp: StepInput, ports: BuildPorts, blobs: Blobs, state: _Restart) -> Polled:
    """Ask the running VM whether it restarted since its mark (one Run Command per look)."""
    ready = check_ready(inp.vm, ports=ports)
    if not ready.done or ready.error is not None:
        return ready
    name = proof_name(inp, state.looks)
    label = f"{inp.step.describe()} attempt {inp.attempt}"
    _run_command(inp, ports, name, scripts.restart_proof_script(label, windows=_windows(inp)))
    vm = inp.vm
    proof = ports.run_commands.get(resource_group=vm.resource_group, vm_name=vm.vm_name, name=name)
    if not proof.terminal:
        return Polled(done=False, state="checking the restart")
    _logged(inp, ports, proof)
    if proof.execution_state == "Succeeded" and proof.exit_code == 0:
        _remove(inp, ports, name)
        return Polled(done=True, succeeded=True, state="restarted")
    state.looks += 1
    _save(blobs, inp, state)
    _remove(inp, ports, name)
    if state.mark_failed:  # the restartCommand failed and the VM did not restart
        return _failed(inp, f"the restartCommand failed ({state.mark_failed})", None, "")
    return Polled(done=False, state="not restarted yet")


def _failed(inp: StepInput, why: str, ended: RunCommandState | None, tail: str) -> Polled:
    detail = f" (exit code {ended.exit_code}). Last log lines:\n{tail}" if ended is not None else ""
    error = PhaseError(
        code="RestartFailed",
        message=f"{inp.step.describe()}: {why}{detail}",
        phase=inp.step.phase,
        target=inp.vm.vm_name,
    )
    return Polled(done=True, state="Failed", error=error)


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
