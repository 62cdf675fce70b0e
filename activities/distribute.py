"""Phase 9, distribute: start a target and follow it (a gallery target region by region), undo a partial one.

Outputs carry the template's ``artifactTags`` but never kiln's run tag: the janitor sweeps by that tag and
must not delete what a build produced.

Every call that writes, reads or deletes a target's artifact is made as the template's identity (``writer``):
Azure decides whether it may write into that gallery, image group or storage container, not kiln's own
(broader) identity. What is kiln's own — the build VM's disk, the staging account of a VHD without ``uri`` —
is reached with kiln's identity (docs/security.md).
"""

from __future__ import annotations

from activities.support import gallery, vhd, waiting
from activities.support.context import arm_id, guard, poll_failed
from shared import naming
from shared.errors import AzureError, AzureNotFound, TransientAzureError
from shared.models import ManagedImageDistributor, SharedImageDistributor, VhdDistributor
from shared.models.build import DistributeStarted, DistributeTarget, PhaseError, PhaseFailed, TargetResult
from shared.models.durable import (
    DistributeInput,
    Polled,
    RegionState,
    TargetProgress,
    UndoInput,
    UndoOutput,
)
from shared.models.resource_ids import parse_resource_id
from shared.ports import BuildPorts


def start(inp: DistributeInput, *, ports: BuildPorts) -> DistributeStarted:
    """Start producing one target's artifact from the generalized build VM."""
    dist, as_identity = inp.target.spec, writer(inp.target, ports)
    try:
        if isinstance(dist, SharedImageDistributor):
            return gallery.start(inp, dist, as_identity)
        if isinstance(dist, VhdDistributor):
            return vhd.start(inp, dist, ports, as_identity)
        return _start_image(inp, dist, as_identity)
    except PhaseFailed as e:
        return DistributeStarted(error=e.error)


def _start_image(inp: DistributeInput, dist: ManagedImageDistributor, ports: BuildPorts) -> DistributeStarted:
    rid = parse_resource_id(dist.imageId)
    vm_id = arm_id(inp.run, inp.vm.resource_group, "Microsoft.Compute/virtualMachines", inp.vm.vm_name)
    with guard("distribute", inp.target.run_output_name):
        image_id = ports.managed_images.begin_create_from_vm(
            resource_group=rid.resource_group or "",
            name=rid.name,
            location=dist.location,
            source_vm_id=vm_id,
            tags={**(dist.artifactTags or {}), **ports.runs.provenance(inp.run)},
            hyper_v_generation=inp.source.hyper_v_generation,
        )
    return DistributeStarted(artifact_id=image_id)


def writer(target: DistributeTarget, ports: BuildPorts) -> BuildPorts:
    """The ports a target's artifact is written with: the template identity's, except a VHD without ``uri``
    (it goes to kiln's own staging account, as AIB's goes to its staging account)."""
    if isinstance(target.spec, VhdDistributor) and not target.spec.uri:
        return ports
    return ports.acting_as(target.identity)


async def run(inp: DistributeInput, *, ports: BuildPorts) -> TargetProgress:
    """Start the target (once: a later call hands back what was started), ask the gallery to replicate the
    ``retry_regions`` again, then follow the target until it has ended, or a region failed that was not
    retried yet (the orchestration decides), or ``inp.wait.until``. Region states reach the run document
    as they change."""
    started = inp.started
    if started is None:
        begun = await waiting.call(lambda: _begun(inp, ports))
        if begun.done:
            return begun
        started = begun.started
    assert started is not None
    if inp.retry_regions:
        retried = await waiting.call(lambda: retry_regions(inp, started, ports))
        if retried.error is not None:
            return TargetProgress(done=True, state="Failed", error=retried.error, started=started)
    follow = _Follow(inp, started, ports)
    stop = (lambda p: p.captured) if inp.until_captured else None
    return await waiting.wait_until_done(follow.look, inp.wait, stop=stop)


def check(inp: DistributeInput, *, ports: BuildPorts) -> TargetProgress:
    """One look at a started target (``inp.started``): its regions and, once ended, its result."""
    if inp.started is None:
        raise ValueError("check needs the started target")
    return _Follow(inp, inp.started, ports).look()


def _begun(inp: DistributeInput, ports: BuildPorts) -> TargetProgress:
    started = start(inp, ports=ports)
    if started.error is not None:
        return TargetProgress(done=True, state="Failed", error=started.error, started=started)
    return TargetProgress(done=False, state="Started", started=started)


class _Follow:
    """One target's state at each look; region changes are written to the run document (live progress)."""

    def __init__(self, inp: DistributeInput, started: DistributeStarted, ports: BuildPorts) -> None:
        self.inp, self.started, self.ports = inp, started, ports
        self.writer = writer(inp.target, ports)
        self.reported: list[RegionState] = []

    def look(self) -> TargetProgress:
        name = self.inp.target.run_output_name
        try:
            progress = self._look(name)
        except PhaseFailed as e:
            gone = poll_failed(e, f"The artifact of distribute target '{name}'").error
            result = TargetResult(
                run_output_name=name, type=self.inp.target.type, succeeded=False, error=gone
            )
            progress = TargetProgress(done=True, state="Failed", error=gone, result=result)
        captured = progress.done or (
            self.inp.target.type == "SharedImage" and gallery.captured(self.started, progress.regions)
        )
        progress = progress.model_copy(update={"started": self.started, "captured": captured})
        if progress.regions and _worth_reporting(self.reported, progress.regions):
            self.ports.runs.progress(self.inp.run, name, progress.regions)
            self.reported = progress.regions
        return progress

    def _look(self, name: str) -> TargetProgress:
        target, started = self.inp.target, self.started
        if target.type == "VHD":
            group = self.inp.vm.resource_group
            return _ended(vhd.check(self.inp.run, group, name, started, self.ports, self.writer))
        if target.type == "ManagedImage":
            return _ended(_check_image(name, started, self.writer))
        with guard("distribute", name):
            state = gallery.state_of(started, self.writer)
        regions = [gallery.region_state(state, r) for r in started.regions]
        unretried = [r.region for r in regions if r.state == "Failed" and r.region not in self.inp.retried]
        # A version whose regions still replicate has not ended, whatever its provisioningState says: right
        # after a region is asked again, the version can still read as Failed from the first attempt.
        replicating = any(r.state in ("Queued", "Replicating") for r in regions)
        if not state.terminal or replicating:
            return TargetProgress(done=bool(unretried), state="Replicating", regions=regions)
        result = gallery.result_of(name, state)
        if not result.succeeded:
            failed = [r for r, s in result.regions.items() if s == "Failed"]
            message = f"replication of {started.artifact_id} failed in {', '.join(failed) or 'a region'}"
            error = PhaseError(code="ReplicationFailed", message=message, phase="distribute", target=name)
            result = result.model_copy(update={"error": error})
        return _ended(result, regions)


# A region's replication percent reaches the run document in steps of this many points (and at 100), so a
# look that only moved a percent or two writes nothing: each write is a read and a conditional write of the
# run document, and a gallery target is looked at every few seconds for twenty minutes.
PROGRESS_STEP = 10


def _worth_reporting(reported: list[RegionState], regions: list[RegionState]) -> bool:
    """Whether the run document should hear of ``regions``: a region came, went or changed its state or
    details, or its percent crossed a ``PROGRESS_STEP`` boundary (or reached 100) since the last report."""
    if [(r.region, r.state, r.details) for r in reported] != [
        (r.region, r.state, r.details) for r in regions
    ]:
        return True
    return any(
        _step_of(old.progress) != _step_of(new.progress) for old, new in zip(reported, regions, strict=True)
    )


def _step_of(percent: int | None) -> int | None:
    if percent is None or percent >= 100:
        return percent
    return percent // PROGRESS_STEP


def _ended(result: TargetResult | None, regions: list[RegionState] | None = None) -> TargetProgress:
    if result is None:
        return TargetProgress(done=False, state="Running", regions=regions or [])
    state = "Succeeded" if result.succeeded else "Failed"
    return TargetProgress(
        done=True,
        succeeded=result.succeeded,
        state=state,
        result=result,
        error=result.error,
        regions=regions or [],
    )


def _check_image(name: str, started: DistributeStarted, ports: BuildPorts) -> TargetResult | None:
    rid = parse_resource_id(started.artifact_id or "")
    with guard("distribute", name):
        image = ports.managed_images.get(resource_group=rid.resource_group or "", name=rid.name)
    if image.provisioning_state not in ("Succeeded", "Failed", "Canceled"):
        return None
    ok = image.provisioning_state == "Succeeded"
    error = None
    if not ok:
        message = f"creating the managed image {image.id} ended {image.provisioning_state}"
        error = PhaseError(code="ManagedImageFailed", message=message, phase="distribute", target=name)
    return TargetResult(
        run_output_name=name, type="ManagedImage", succeeded=ok, artifact_id=image.id, error=error
    )


def retry_regions(inp: DistributeInput, started: DistributeStarted, ports: BuildPorts) -> Polled:
    """Ask the gallery to replicate failed regions again: the same version PUT once more."""
    dist = inp.target.spec
    if not isinstance(dist, SharedImageDistributor):
        error = PhaseError(code="NotAGalleryTarget", message="only SharedImage targets have regions")
        return Polled(done=True, state="Failed", error=error)
    place, _ = gallery.where(dist.galleryImageId)
    ports = writer(inp.target, ports)
    try:
        with guard("distribute", ", ".join(inp.retry_regions)):
            # Only a version that still exists is asked again: after undo deleted it (a cancelled run), a
            # late retry must not create it anew.
            gallery.state_of(started, ports)
            definition = ports.galleries.get_image_definition(
                resource_group=place["resource_group"], gallery=place["gallery"], name=place["image"]
            )
            limit, provenance = inp.target.region_limit, ports.runs.provenance(inp.run)
            spec = gallery.version_spec(inp.run, inp.vm, dist, definition.location, limit, provenance)
            ports.galleries.begin_create_version(version=started.version or "", spec=spec, **place)
    except PhaseFailed as e:
        return poll_failed(e, f"The image version {started.artifact_id}")
    return Polled(done=False, state="Replicating")


async def undo(inp: UndoInput, *, ports: BuildPorts) -> UndoOutput:
    """Delete what a failed or cancelled target produced, until it is gone (or ``inp.wait.until``)."""
    return await waiting.wait_until_done(lambda: undo_round(inp, ports=ports), inp.wait)


def undo_round(inp: UndoInput, *, ports: BuildPorts) -> UndoOutput:
    """One round of undo; never raises, not-found counts as done."""
    if inp.target is None:
        return UndoOutput(done=True, message="nothing was started")
    try:
        started = inp.started or _what_was_started(inp, inp.target, ports)
        if started is None:
            return UndoOutput(done=True, message="nothing of this run is there")
        remaining = _undo(inp, inp.target, started, ports)
    except AzureError as e:
        return UndoOutput(
            done=False, remaining=[inp.target.run_output_name], message=f"{e.code}: {e.message}"
        )
    return UndoOutput(done=not remaining, remaining=remaining)


def _what_was_started(
    inp: UndoInput, target: DistributeTarget, ports: BuildPorts
) -> DistributeStarted | None:
    """What ``distribute`` started for this run, found again by name and tag: the orchestrator pushes the
    undo before the start, so it cannot hand over the start's answer."""
    dist = target.spec
    if isinstance(dist, VhdDistributor):
        if inp.vm is None:
            return None
        account, container, blob = vhd.destination(
            inp.run, dist, ports.storage_account_url(inp.vm.storage_account)
        )
        return DistributeStarted(artifact_uri=f"{account}/{container}/{blob}")
    if isinstance(dist, ManagedImageDistributor):
        return DistributeStarted(artifact_id=dist.imageId)
    place, _ = gallery.where(dist.galleryImageId)
    try:
        versions = writer(target, ports).galleries.list_versions(**place)
    except AzureNotFound:
        return None
    ours = [v for v in versions if v.tags.get(naming.OUTPUT_RUN_TAG) == inp.run.run_id]
    return DistributeStarted(artifact_id=ours[0].id, version=ours[0].name) if ours else None


def _undo(
    inp: UndoInput, target: DistributeTarget, started: DistributeStarted, ports: BuildPorts
) -> list[str]:
    if target.type == "VHD":
        vhd.undo(inp.run, inp.vm.resource_group if inp.vm else None, started, ports, writer(target, ports))
        return []
    if not started.artifact_id:
        return []
    own, ports = ports, writer(target, ports)
    rid = parse_resource_id(started.artifact_id)
    group = rid.resource_group or ""
    try:
        if target.type == "ManagedImage":
            if (
                ports.managed_images.get(resource_group=group, name=rid.name).tags.get(naming.OUTPUT_RUN_TAG)
                != inp.run.run_id
            ):
                return []  # not ours: an image this run did not create is never deleted
            ports.managed_images.begin_delete(resource_group=group, name=rid.name)
            ports.managed_images.get(resource_group=group, name=rid.name)
        else:
            place, _ = gallery.where(started.artifact_id.rsplit("/versions/", 1)[0])
            state = ports.galleries.get_version(version=rid.name, **place)
            if state.tags.get(naming.OUTPUT_RUN_TAG) != inp.run.run_id:
                return []  # not ours: a version this run did not create is never deleted
            _delete_version(own, ports, rid.name, place)
            ports.galleries.get_version(version=rid.name, **place)
    except AzureNotFound:
        return []
    except TransientAzureError:
        raise
    return [started.artifact_id]


def _delete_version(own: BuildPorts, as_identity: BuildPorts, version: str, place: dict[str, str]) -> None:
    """Delete this run's partial gallery image version as the template's identity; where that identity may
    not (AIB's documented image-creation role grants ``versions/write`` but not ``versions/delete``), with
    kiln's own identity, whose builder role has it for this: the version was found by this run's output tag,
    so nothing the run did not create is ever deleted this way (docs/security.md)."""
    try:
        as_identity.galleries.begin_delete_version(version=version, **place)
    except AzureError as e:
        if e.code != "AuthorizationFailed":
            raise
        own.galleries.begin_delete_version(version=version, **place)
