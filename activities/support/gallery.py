"""Distribute to an Azure Compute Gallery: choose the version, start it, follow each region, retry a region.

Replication is where builds spend most of their time (user-pain-points 2), so each region is followed on its
own and a failed region can be re-requested without rebuilding.
"""

from __future__ import annotations

from activities.resolve_source import version_key
from activities.support.context import arm_id, fail, guard, region_key
from shared import naming
from shared.models import LatestVersioner, SharedImageDistributor, SourceVersioner
from shared.models.azure import ImageVersionSpec, ImageVersionState, TargetRegion
from shared.models.build import BuildVm, DistributeStarted, ResolvedSource, RunRef, TargetResult
from shared.models.durable import DistributeInput, RegionState
from shared.models.resource_ids import parse_resource_id
from shared.ports import BuildPorts

_INT32_MAX = 2**31 - 1


def where(gallery_image_id: str) -> tuple[dict[str, str], str | None]:
    """(resource_group/gallery/image, explicit version or None) of a ``galleryImageId``."""
    rid = parse_resource_id(gallery_image_id)
    names = [n for _, n in rid.types]
    place = {"resource_group": rid.resource_group or "", "gallery": names[0], "image": names[1]}
    return place, names[2] if len(names) == 3 else None


def next_latest(existing: list[str], major: int) -> str:
    """AIB's Latest scheme: the next patch above the highest version within ``major`` (-1: any major)."""
    parsed = [version_key(v) for v in existing]
    parsed = [p for p in parsed if len(p) == 3 and min(p) >= 0 and (major < 0 or p[0] == major)]
    if not parsed:
        return f"{major}.0.1" if major >= 0 else "1.0.0"
    top = max(parsed)
    return f"{top[0]}.{top[1]}.{top[2] + 1}"


def from_source(source: ResolvedSource) -> str | None:
    """AIB's Source scheme: the source's version as ``major.minor.patch`` (None: it has no such version)."""
    version = source.version if source.type == "SharedImageVersion" else source.exact_version
    if source.type == "ManagedImage" or not version:
        return None
    parts = [int(p) for p in version.split(".") if p.isdigit()]
    if not parts or len(parts) != len(version.split(".")) or max(parts) > _INT32_MAX:
        return None
    return ".".join(str(p) for p in ([*parts, 0, 0])[:3])


def choose_version(inp: DistributeInput, dist: SharedImageDistributor, ports: BuildPorts) -> str:
    """The version this run publishes; a retry finds the version it already started by its tag."""
    place, explicit = where(dist.galleryImageId)
    if inp.target.version or explicit:
        return inp.target.version or explicit or ""
    existing = ports.galleries.list_versions(**place)
    for version in existing:
        if version.tags.get(naming.OUTPUT_RUN_TAG) == inp.run.run_id:
            return version.name
    if isinstance(dist.versioning, SourceVersioner):
        chosen = from_source(inp.source)
        if chosen is None:
            raise fail(
                "distribute",
                "BadSharedImageDistribute",
                f"the Source versioning scheme needs a source with a numeric version; "
                f"'{inp.source.exact_version}' has none",
                target=inp.target.run_output_name,
            )
        return chosen
    major = dist.versioning.major if isinstance(dist.versioning, LatestVersioner) else -1
    return next_latest([v.name for v in existing], major)


def target_regions(dist: SharedImageDistributor, home: str, limit: int | None = None) -> list[TargetRegion]:
    """targetRegions, or the deprecated replicationRegions + storageAccountType (only the first ``limit`` of
    them for the serial baseline); always the home region."""
    if dist.targetRegions:
        regions = [
            TargetRegion(name=r.name, replica_count=r.replicaCount, storage_account_type=r.storageAccountType)
            for r in dist.targetRegions
        ]
    else:
        storage = dist.storageAccountType or "Standard_LRS"
        regions = [TargetRegion(name=r, storage_account_type=storage) for r in dist.replicationRegions or []]
    regions = regions[:limit] if limit is not None else regions
    # Azure refuses a version whose own region is not among its target regions.
    if region_key(home) not in {region_key(r.name) for r in regions}:
        regions.insert(0, TargetRegion(name=home))
    return regions


def version_spec(
    run: RunRef,
    vm: BuildVm,
    dist: SharedImageDistributor,
    home: str,
    limit: int | None = None,
    provenance: dict[str, str] | None = None,
) -> ImageVersionSpec:
    """The image version body: from the generalized build VM, to the target regions, with provenance tags."""
    return ImageVersionSpec(
        location=home,
        source_vm_id=arm_id(run, vm.resource_group, "Microsoft.Compute/virtualMachines", vm.vm_name),
        target_regions=target_regions(dist, home, limit),
        exclude_from_latest=dist.excludeFromLatest,
        replication_mode=dist.replicationMode,
        tags={**(dist.artifactTags or {}), **(provenance or {}), naming.OUTPUT_RUN_TAG: run.run_id},
    )


def start(inp: DistributeInput, dist: SharedImageDistributor, ports: BuildPorts) -> DistributeStarted:
    """Create the gallery image version; its regions replicate in parallel."""
    place, _ = where(dist.galleryImageId)
    with guard("distribute", inp.target.run_output_name):
        definition = ports.galleries.get_image_definition(
            resource_group=place["resource_group"], gallery=place["gallery"], name=place["image"]
        )
        version = choose_version(inp, dist, ports)
        provenance = ports.runs.provenance(inp.run)
        spec = version_spec(inp.run, inp.vm, dist, definition.location, inp.target.region_limit, provenance)
        version_id = ports.galleries.begin_create_version(version=version, spec=spec, **place)
    regions = [r.name for r in spec.target_regions]
    home = definition.location
    return DistributeStarted(artifact_id=version_id, version=version, regions=regions, home=home)


def state_of(started: DistributeStarted, ports: BuildPorts) -> ImageVersionState:
    """The version's state, with each region's replication."""
    place, _ = where((started.artifact_id or "").rsplit("/versions/", 1)[0])
    return ports.galleries.get_version(version=started.version or "", **place)


def result_of(name: str, state: ImageVersionState) -> TargetResult:
    """The target's result once the version is terminal."""
    regions = {r.region: r.state for r in state.regions}
    return TargetResult(
        run_output_name=name,
        type="SharedImage",
        succeeded=state.provisioning_state == "Succeeded",
        artifact_id=state.id,
        regions=regions,
    )


def captured(started: DistributeStarted, regions: list[RegionState]) -> bool:
    """Whether the version's own region holds its copy: from then on it needs nothing of the build VM."""
    home = started.home or (started.regions[0] if started.regions else "")
    return any(region_key(r.region) == region_key(home) and r.state == "Completed" for r in regions)


def region_state(state: ImageVersionState, region: str) -> RegionState:
    """One region's replication (state Unknown if the version does not list it)."""
    for r in state.regions:
        if region_key(r.region) == region_key(region):
            return RegionState(region=r.region, state=r.state, progress=r.progress, details=r.details)
    return RegionState(region=region, state="Unknown")
