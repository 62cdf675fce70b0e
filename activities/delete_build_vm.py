"""Phase 11 (and the undo of phase 4): delete the build VM and everything its deployment made.

Azure refuses to delete a resource another one still uses (``NicInUse``,
``PublicIPAddressCannotBeDeleted``, ``InUseNetworkSecurityGroupCannotBeDeleted``…), and deletes run in the
background. So this activity deletes in dependency order — VM, NIC, public IP, VNet, NSG, disks — and returns
``done=False`` with what remains; the activity asks again until nothing remains. It never raises and
keeps the staging group and its storage account (they belong to the template).
"""

from __future__ import annotations

from activities.deploy_vm import build_vm_of
from activities.support import waiting
from shared import naming
from shared.errors import AzureError, AzureNotFound
from shared.models.build import BuildVm
from shared.models.durable import UndoInput, UndoOutput
from shared.models.resource_ids import DELETE_ORDER, delete_rank, resource_type
from shared.ports import BuildPorts


async def run(inp: UndoInput, *, ports: BuildPorts) -> UndoOutput:
    """Delete the build VM and everything its deployment made, round after round until nothing is left (or
    ``inp.wait.until``); what is still there is in ``remaining``."""
    return await waiting.wait_until_done(lambda: delete_round(inp, ports=ports), inp.wait)


def delete_round(inp: UndoInput, *, ports: BuildPorts) -> UndoOutput:
    """One round: delete the build VM, then its NIC, public IP, VNet, NSG and disks; report what is left."""
    if inp.vm is None and inp.staging is None:
        return UndoOutput(done=True, message="no build VM was deployed")
    if inp.vm is None:
        # Pushed before deploy_build_vm answered: the deployment may exist all the same. Names derive from
        # the run id, so the VM and its deployment can be found without that answer.
        assert inp.staging is not None
        inp = inp.model_copy(
            update={"vm": build_vm_of(inp.run, inp.staging.resource_group, inp.staging.storage_account)}
        )
    assert inp.vm is not None
    problems: list[str] = []
    try:
        if not _deployment_stopped(inp.vm, ports):
            return UndoOutput(
                done=False,
                remaining=[inp.vm.deployment_name],
                message="the build VM's deployment is stopping",
            )
        if not _vm_gone(inp.vm, ports):
            return UndoOutput(done=False, remaining=[_vm_id(inp.vm)], message="the build VM is being deleted")
    except AzureError as e:
        return UndoOutput(done=False, remaining=[_vm_id(inp.vm)], message=f"{e.code}: {e.message}")
    remaining = []
    for resource_id in _dependents(inp, ports):
        try:
            ports.resources.begin_delete_by_id(resource_id=resource_id)
            ports.resources.get_by_id(resource_id=resource_id)
        except AzureNotFound:
            continue
        except AzureError as e:  # in use by a resource whose delete is still running: next round
            problems.append(f"{e.code}: {e.message}")
        remaining.append(resource_id)
    if not remaining and inp.vm.admin_secret_name:
        try:
            ports.secrets.delete(name=inp.vm.admin_secret_name)
        except AzureError as e:
            problems.append(f"{e.code}: {e.message}")
            remaining.append(f"secret:{inp.vm.admin_secret_name}")
    return UndoOutput(done=not remaining, remaining=remaining, message="; ".join(problems))


def _vm_id(vm: BuildVm) -> str:
    return next((r for r in vm.resource_ids if "/virtualmachines/" in r.lower()), vm.vm_name)


def _deployment_stopped(vm: BuildVm, ports: BuildPorts) -> bool:
    """Cancel the build VM's deployment if it still runs: deleting the VM first would see a 404 and end,
    and the deployment would then create the VM behind the cleanup's back."""
    try:
        state = ports.deployments.get(resource_group=vm.resource_group, name=vm.deployment_name)
    except AzureNotFound:
        return True
    if state.terminal:
        return True
    ports.deployments.cancel(resource_group=vm.resource_group, name=vm.deployment_name)
    return ports.deployments.get(resource_group=vm.resource_group, name=vm.deployment_name).terminal


def _vm_gone(vm: BuildVm, ports: BuildPorts) -> bool:
    """Start deleting the VM unless it is gone or already being deleted; True once it is gone."""
    vms = ports.virtual_machines
    try:
        state = vms.get(resource_group=vm.resource_group, name=vm.vm_name)
        if state.provisioning_state != "Deleting":
            vms.begin_delete(resource_group=vm.resource_group, name=vm.vm_name)
        vms.get(resource_group=vm.resource_group, name=vm.vm_name)
    except AzureNotFound:
        return True
    return False


def _dependents(inp: UndoInput, ports: BuildPorts) -> list[str]:
    """The deployment's resources (by name) plus anything else tagged with the run, in delete order."""
    assert inp.vm is not None
    ids = {r.lower(): r for r in inp.vm.resource_ids if "/virtualmachines/" not in r.lower()}
    try:
        tagged = ports.resources.list_by_tag(
            tag_name=naming.RUN_TAG, tag_value=inp.run.run_id, resource_group=inp.vm.resource_group
        )
    except AzureError:
        tagged = []
    for r in tagged:
        if resource_type(r.id) in DELETE_ORDER:
            ids.setdefault(r.id.lower(), r.id)
    return sorted(ids.values(), key=delete_rank)
