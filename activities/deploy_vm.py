"""Phase 4, deploy the build VM: one ARM deployment (VM, NIC, network, staging storage account), waited for.

The admin password is made here, stored in Key Vault under a name derived from the run id and handed to
ARM as a Key Vault reference: it never appears in an input, an output, a log or the template.
"""

from __future__ import annotations

import secrets
import string

from activities import staging_group
from activities.support import waiting
from activities.support.context import (
    arm_id,
    guard,
    poll_failed,
    run_tags,
    template_id,
)
from activities.support.deployment_template import (
    BuildVmNames,
    BuildVmSpec,
    ImageReference,
    KeyVaultSecretRef,
    build_vm_deployment,
    build_vm_parameters,
)
from shared import naming
from shared.errors import AzureNotFound
from shared.models.azure import PurchasePlan
from shared.models.build import BuildVm, PhaseError, PhaseFailed, ResolvedSource, RunRef
from shared.models.durable import DeployInput, DeployOutput, Polled
from shared.models.template import ImageTemplate
from shared.ports import BuildPorts


def new_password() -> str:
    """A password meeting Azure's rules for both Linux and Windows (3 of 4 character classes, 12-72 long)."""
    alphabet = string.ascii_letters + string.digits
    body = "".join(secrets.choice(alphabet) for _ in range(28))
    return f"Kx7!{body}"


def build_vm_of(run: RunRef, resource_group: str, storage_account: str) -> BuildVm:
    """Where the run's build VM lives; every name is derived from the run id."""
    names = BuildVmNames.for_run(run.run_id)
    ids = [
        arm_id(run, resource_group, "Microsoft.Compute/virtualMachines", names.vm),
        arm_id(run, resource_group, "Microsoft.Network/networkInterfaces", names.nic),
        arm_id(run, resource_group, "Microsoft.Network/publicIPAddresses", names.public_ip),
        arm_id(run, resource_group, "Microsoft.Network/networkSecurityGroups", names.nsg),
        arm_id(run, resource_group, "Microsoft.Network/virtualNetworks", names.vnet),
        arm_id(run, resource_group, "Microsoft.Compute/disks", names.os_disk),
    ]
    return BuildVm(
        resource_group=resource_group,
        vm_name=names.vm,
        deployment_name=names.deployment,
        storage_account=storage_account,
        admin_secret_name=naming.admin_secret_name(run.run_id),
        resource_ids=ids,
    )


def vm_spec(
    run: RunRef, template: ImageTemplate, source: ResolvedSource, vault_id: str, *, created: bool = True
) -> BuildVmSpec:
    """The deployment's input: the resolved source, vmProfile, data disks, network and tags."""
    profile = template.properties.vmProfile
    reference = None
    if source.type == "PlatformImage":
        reference = ImageReference(
            publisher=source.publisher or "",
            offer=source.offer or "",
            sku=source.sku or "",
            version=source.version or "",
        )
    plan = PurchasePlan(**source.plan) if source.plan else None
    return BuildVmSpec(
        run_id=run.run_id,
        location=run.location,
        os_type=source.os_type,
        vm_size=source.vm_size,
        image_reference=reference,
        image_id=None if reference else source.image_id,
        plan=plan,
        trusted_launch=source.security_type == "TrustedLaunchSupported",
        os_disk_size_gb=profile.osDiskSizeGB,
        additional_data_disks_gb=[d.sizeGB for d in template.properties.additionalDataDisks or []],
        user_assigned_identities=list(profile.userAssignedIdentities or []),
        subnet_id=profile.vnetConfig.subnetId if profile.vnetConfig else None,
        admin_password=KeyVaultSecretRef(vault_id=vault_id, secret_name=naming.admin_secret_name(run.run_id)),
        tags=run_tags(run, template.properties.managedResourceTags),
        storage_account_tags=staging_account_tags(run, template, created=created),
    )


def staging_account_tags(run: RunRef, template: ImageTemplate, *, created: bool) -> dict[str, str]:
    """The staging storage account's tags: the template's, never the run's (it lives as long as the template).

    ``kiln.template`` lets template DELETE find it in a pre-existing staging group; without ``kiln.run`` and
    ``kiln.expiresAt`` neither the janitor nor a cleanup by run tag ever deletes it under a living template.
    """
    tags = dict(template.properties.managedResourceTags or {})
    tags.update(staging_group.aib_tags(run, created=created))
    tags[naming.TEMPLATE_TAG] = template_id(run)
    return tags


async def run(inp: DeployInput, *, ports: BuildPorts) -> DeployOutput:
    """Store the admin password and start the build-VM deployment (once), then wait for it to end."""
    try:
        vm = build_vm_of(inp.run, inp.staging.resource_group, inp.staging.storage_account)
        await waiting.call(lambda: _start(inp, vm, ports))
    except PhaseFailed as e:
        return DeployOutput(done=True, error=e.error)
    ended = await waiting.wait_until_done(lambda: check(vm, ports=ports), inp.wait)
    return DeployOutput(vm=vm, **ended.model_dump(exclude={"retry_after_seconds"}))


def _start(inp: DeployInput, vm: BuildVm, ports: BuildPorts) -> DeployOutput:
    """The password in Key Vault (kept by a retry) and the deployment, unless it already exists: a second PUT
    of a running deployment would start it over."""
    spec = vm_spec(inp.run, inp.template, inp.source, ports.key_vault_id, created=inp.staging.create)
    secret = spec.admin_password.secret_name
    with guard("deploy", secret):
        try:
            ports.secrets.get(name=secret)
        except AzureNotFound:
            ports.secrets.set(name=secret, value=new_password())
    with guard("deploy", vm.deployment_name):
        try:
            ports.deployments.get(resource_group=vm.resource_group, name=vm.deployment_name)
            return DeployOutput(done=False, vm=vm)
        except AzureNotFound:
            pass
        ports.deployments.begin_deploy(
            resource_group=vm.resource_group,
            name=vm.deployment_name,
            template=build_vm_deployment(spec),
            parameters=build_vm_parameters(spec),
        )
    return DeployOutput(done=False, vm=vm)


def check(vm: BuildVm, *, ports: BuildPorts) -> Polled:
    """The build-VM deployment's state; a failure names the resources whose operations failed."""
    try:
        with guard("deploy", vm.deployment_name):
            state = ports.deployments.get(resource_group=vm.resource_group, name=vm.deployment_name)
            if not state.terminal:
                return Polled(done=False, state=state.provisioning_state)
            if state.provisioning_state == "Succeeded":
                return Polled(done=True, succeeded=True, state="Succeeded")
            operations = ports.deployments.list_operations(
                resource_group=vm.resource_group, name=vm.deployment_name
            )
    except PhaseFailed as e:
        return poll_failed(e, f"The build VM deployment '{vm.deployment_name}'")
    details = [
        {"code": o.error.code, "message": o.error.message, "target": o.resource_id}
        for o in operations
        if o.error is not None
    ]
    code = state.error.code if state.error else "DeploymentFailed"
    message = state.error.message if state.error else f"the deployment ended {state.provisioning_state}"
    error = PhaseError(
        code=code,
        message=f"Deploying the build VM failed: {message}",
        phase="deploy",
        target=vm.deployment_name,
        details=details,
    )
    return Polled(done=True, state=state.provisioning_state, error=error)
