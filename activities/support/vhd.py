"""Distribute as a VHD: read access to the OS disk, a server-side blob copy, access revoked when it ends.

The disk is kiln's (its own ``ports``); the destination blob is written with ``blob_ports`` (the template
identity's for a ``uri``, ``distribute.writer``)."""

from __future__ import annotations

import contextlib

from activities.support.context import guard
from activities.support.deployment_template import BuildVmNames
from activities.support.uris import split_blob_url
from shared import naming
from shared.errors import AzureNotFound
from shared.models import VhdDistributor
from shared.models.build import DistributeStarted, PhaseError, RunRef, TargetResult
from shared.models.durable import DistributeInput
from shared.ports import BuildPorts

ACCESS_SECONDS = 4 * 3600


def destination(run: RunRef, dist: VhdDistributor, staging_url: str) -> tuple[str, str, str]:
    """(account URL, container, blob) of the VHD: the given ``uri`` or the staging account's ``vhds``."""
    if dist.uri:
        return split_blob_url(dist.uri.split("?", 1)[0])
    return staging_url, naming.VHD_CONTAINER, naming.vhd_blob(run.run_id, dist.runOutputName)


def start(
    inp: DistributeInput, dist: VhdDistributor, ports: BuildPorts, blob_ports: BuildPorts
) -> DistributeStarted:
    """Grant read access to the OS disk and start copying it to the destination blob."""
    account, container, blob = destination(inp.run, dist, ports.storage_account_url(inp.vm.storage_account))
    disk = BuildVmNames.for_run(inp.run.run_id).os_disk
    with guard("distribute", inp.target.run_output_name):
        sas = ports.disks.grant_access(
            resource_group=inp.vm.resource_group, name=disk, duration_seconds=ACCESS_SECONDS
        )
        blobs = blob_ports.blobs(account_url=account)
        blobs.ensure_container(container=container)
        blobs.begin_copy_from_url(source_url=sas, container=container, name=blob)
    return DistributeStarted(artifact_uri=f"{account}/{container}/{blob}")


def check(
    inp_run: RunRef,
    vm_group: str,
    name: str,
    started: DistributeStarted,
    ports: BuildPorts,
    blob_ports: BuildPorts,
) -> TargetResult | None:
    """The copy's result once it has ended (None while pending); access to the disk is revoked then."""
    account, container, blob = split_blob_url(started.artifact_uri or "")
    with guard("distribute", name):
        copy = blob_ports.blobs(account_url=account).get_copy_state(container=container, name=blob)
        if copy.status == "pending":
            return None
        ports.disks.revoke_access(resource_group=vm_group, name=BuildVmNames.for_run(inp_run.run_id).os_disk)
    if copy.status == "success":
        return TargetResult(
            run_output_name=name, type="VHD", succeeded=True, artifact_uri=started.artifact_uri
        )
    error = PhaseError(
        code="VhdCopyFailed",
        message=f"copying the OS disk to {started.artifact_uri} ended {copy.status}: {copy.description}",
        phase="distribute",
        target=name,
    )
    return TargetResult(run_output_name=name, type="VHD", succeeded=False, error=error)


def undo(
    run: RunRef, vm_group: str | None, started: DistributeStarted, ports: BuildPorts, blob_ports: BuildPorts
) -> None:
    """Delete a partial VHD and revoke the disk's access (both tolerate not-found)."""
    if started.artifact_uri:
        account, container, blob = split_blob_url(started.artifact_uri)
        blob_ports.blobs(account_url=account).delete(container=container, name=blob)
    if vm_group:
        with contextlib.suppress(AzureNotFound):
            ports.disks.revoke_access(resource_group=vm_group, name=BuildVmNames.for_run(run.run_id).os_disk)
