"""Gallery image versions: created from a generalized VM (``storageProfile.source.virtualMachineId``) or a
managed image / another version (``source.id``), replicated region by region (see ``replication``).

To fail one region's replication, add a fault rule whose path matches the pseudo path
``{versionId}/_replication/{region}`` (region lower-case without spaces), e.g.
``{"method": "PUT", "path": "/_replication/westus$", "status": 500}``; it is consulted when the version is
PUT.
Re-PUTting an existing version with the same source is an idempotent update; with another source it is a 409.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from azuresim import lro
from azuresim.errors import SimError
from azuresim.providers import gallery_rules
from azuresim.providers.compute_common import (
    body_dict,
    compute_id,
    delete_simple,
    expect_duration,
    fault_fires,
    invalid,
    require,
)
from azuresim.providers.replication import (
    ReplicationPlan,
    normalize_region,
    replication_status,
    target_region_names,
)
from azuresim.providers.vm_model import iso
from azuresim.router import Router, SimRequest
from azuresim.state import public

_BASE = "galleryImageVersion.properties"


def _version_id(req: SimRequest) -> str:
    p = req.params
    return compute_id(req, "galleries", p["gallery"], "images", p["image"], "versions", p["version"])


def _publishing(body_props: dict[str, Any], home: str) -> dict[str, Any]:
    pp = dict(body_props.get("publishingProfile") or {})
    replicas = int(pp.get("replicaCount") or 1)
    account = str(pp.get("storageAccountType") or "Standard_LRS")
    regions = []
    for name in target_region_names(pp, home):
        given: dict[str, Any] = next((t for t in pp.get("targetRegions") or [] if t.get("name") == name), {})
        regions.append(
            {
                "name": name,
                "regionalReplicaCount": int(given.get("regionalReplicaCount") or replicas),
                "storageAccountType": str(given.get("storageAccountType") or account),
                "excludeFromLatest": bool(given.get("excludeFromLatest", False)),
            }
        )
    return {
        **pp,
        "targetRegions": regions,
        "replicaCount": replicas,
        "storageAccountType": account,
        "excludeFromLatest": bool(pp.get("excludeFromLatest", False)),
        "replicationMode": str(pp.get("replicationMode") or "Full"),
        "publishedDate": iso(),
    }


def _regions(publishing: dict[str, Any], location: str) -> list[str]:
    regions = [str(t["name"]) for t in publishing["targetRegions"]]
    if normalize_region(location) not in {normalize_region(r) for r in regions}:
        raise invalid(
            f"{_BASE}.publishingProfile.targetRegions",
            f"The target regions must include the location of the gallery image version: '{location}'.",
        )
    return regions


def _plan(
    req: SimRequest, version_id: str, regions: list[str], existing: dict[str, Any] | None
) -> ReplicationPlan:
    """The replication schedule; a repeated PUT to the same regions keeps the one already running."""
    if existing is not None:
        current = ReplicationPlan.from_json(existing["_replication"])
        before = [normalize_region(r) for r in current.regions]
        after = [normalize_region(r) for r in regions]
        if before == after:
            return _retry_failed(req, version_id, current)
        if set(before) <= set(after):
            return _add_regions(req, version_id, current, regions)
    failed = [
        r for r in regions if fault_fires(req.sim, "PUT", f"{version_id}/_replication/{normalize_region(r)}")
    ]
    latency = req.sim.latency
    own = {
        normalize_region(r): latency.delay(f"gallery.replicate.{normalize_region(r)}")
        for r in regions
        if f"gallery.replicate.{normalize_region(r)}" in latency.ops
    }
    return ReplicationPlan(
        time.time(),
        latency.delay("gallery.replicate"),
        regions,
        failed,
        capture_seconds=latency.delay("gallery.capture"),
        region_seconds=own,
    )


def _add_regions(
    req: SimRequest, version_id: str, plan: ReplicationPlan, regions: list[str]
) -> ReplicationPlan:
    """Adding target regions replicates only the new ones; the others keep their schedule."""
    now = time.time()
    known = {normalize_region(r) for r in plan.regions}
    restarted = dict(plan.restarted)
    failed = list(plan.failed)
    for region in regions:
        if normalize_region(region) in known:
            continue
        restarted[normalize_region(region)] = now
        if fault_fires(req.sim, "PUT", f"{version_id}/_replication/{normalize_region(region)}"):
            failed.append(region)
    return dataclasses.replace(plan, regions=list(regions), failed=failed, restarted=restarted)


def _retry_failed(req: SimRequest, version_id: str, plan: ReplicationPlan) -> ReplicationPlan:
    """A repeated PUT keeps the running schedule, but replicates regions that already failed again."""
    now = time.time()
    done = [r for r in plan.failed if now >= plan.begins_at(r) + plan.duration(r) / 2]
    if not done:
        return plan
    restarted = dict(plan.restarted)
    failed = [r for r in plan.failed if r not in done]
    for region in done:
        restarted[normalize_region(region)] = now
        if fault_fires(req.sim, "PUT", f"{version_id}/_replication/{normalize_region(region)}"):
            failed.append(region)
    return dataclasses.replace(plan, failed=failed, restarted=restarted)


def _new_version(
    body: dict[str, Any], location: str, publishing: dict[str, Any], source_id: str, size: int
) -> dict[str, Any]:
    props = dict(body.get("properties") or {})
    storage = dict(props.get("storageProfile") or {})
    storage["osDiskImage"] = {"sizeInGB": size, "hostCaching": "ReadWrite"}
    storage.setdefault("dataDiskImages", [])
    safety = {"allowDeletionOfReplicatedLocations": True, "reportedForPolicyViolation": False}
    return {
        "location": location,
        "tags": dict(body.get("tags") or {}),
        "properties": {
            **props,
            "publishingProfile": publishing,
            "storageProfile": storage,
            "safetyProfile": safety,
        },
        "_sourceId": source_id,
    }


async def put_version(req: SimRequest) -> web.StreamResponse:
    body = body_dict(req, "the gallery image version")
    gallery_rules.check_version_name(req.params["version"])
    def_id = compute_id(req, "galleries", req.params["gallery"], "images", req.params["image"])
    definition = require(req.sim, def_id, "Microsoft.Compute/galleries/images")
    storage = dict((body.get("properties") or {}).get("storageProfile") or {})
    version_id = _version_id(req)
    existing = req.sim.store.get(version_id)
    if existing is not None and _captured(existing) and _same_source(existing, storage):
        # An update of a captured version (regions added or asked again) needs nothing of its source: the
        # version holds its own copy, so the source VM or image may already be gone.
        source_id = str(existing["_sourceId"])
    else:
        source_id, generation, security = gallery_rules.resolve_source(req.sim, storage)
        gallery_rules.check_compatible(definition, generation, security)
    _check_same_source(existing, source_id)
    location = str(body.get("location") or definition["location"])
    publishing = _publishing(dict(body.get("properties") or {}), location)
    regions = _regions(publishing, location)
    plan = _plan(req, version_id, regions, existing)
    size = gallery_rules.os_disk_size(req.sim, source_id)
    if existing is not None:
        size = int(existing["properties"]["storageProfile"]["osDiskImage"]["sizeInGB"])
    version = _new_version(body, location, publishing, source_id, size)
    version["_replication"] = plan.to_json()
    if existing is not None and existing.get("_file"):
        version["_file"] = existing["_file"]
    req.sim.store.put(version_id, version)
    resp = await lro.begin(
        req,
        op="compute.galleryversion.put",
        resource_id=version_id,
        status=200 if existing else 201,
        work=_with_disk(req.sim, version, source_id, _replication(plan, req.params["version"])),
        location=location,
    )
    return expect_duration(req.sim, resp, plan.ends_at() - time.time())


def _captured(version: dict[str, Any]) -> bool:
    """Whether the version's own region holds its copy of the source (the capture is done)."""
    plan = ReplicationPlan.from_json(version["_replication"])
    return time.time() >= plan.captured_at() and not plan.is_failed(plan.regions[0] if plan.regions else "")


def _same_source(existing: dict[str, Any], storage: dict[str, Any]) -> bool:
    src = storage.get("source") or {}
    given = str(src.get("virtualMachineId") or src.get("id") or "")
    return given.lower() == str(existing["_sourceId"]).lower()


def _check_same_source(existing: dict[str, Any] | None, source_id: str) -> None:
    if existing is not None and existing["_sourceId"].lower() != source_id.lower():
        target = f"{_BASE}.storageProfile.source"
        raise SimError(
            409, "PropertyChangeNotAllowed", f"Changing property '{target}' is not allowed.", target
        )


def _with_disk(
    sim: Any, version: dict[str, Any], source_id: str, then: Callable[[], Awaitable[None]]
) -> Callable[[], Awaitable[None]]:
    """With real disks, the version's disk first: the source image's file (one file serves every region,
    whose copies the latency model times), or a VM's OS disk flattened."""

    async def work() -> None:
        source = sim.store.get(source_id) if sim.compute is not None else None
        if source is not None and not version.get("_file"):
            if source.get("_file"):
                version["_file"] = sim.compute.share(source["_file"], version["name"])
            elif sim.compute.is_real(source):
                version["_file"] = await sim.compute.flatten(
                    sim.compute.disk_file(sim, source), version["name"]
                )
            sim.store.put(version["id"], version)
        await then()

    return work


def _replication(plan: ReplicationPlan, version: str) -> Callable[[], Awaitable[None]]:
    """The operation's work: wait out the plan's replication, then fail if any region failed."""

    async def work() -> None:
        await asyncio.sleep(max(0.0, plan.ends_at() - time.time()))
        if plan.failed:
            failed = ", ".join(plan.failed)
            message = f"Replication of gallery image version '{version}' failed in region(s): {failed}."
            raise SimError(500, "InternalOperationError", message)

    return work


def answer(version: dict[str, Any], expand: str) -> dict[str, Any]:
    body = public(version)
    if expand.lower() == "replicationstatus" and "_replication" in version:
        plan = ReplicationPlan.from_json(version["_replication"])
        body = {
            **body,
            "properties": {**body["properties"], "replicationStatus": replication_status(plan, time.time())},
        }
    return body


async def get_version(req: SimRequest) -> web.StreamResponse:
    version = require(req.sim, _version_id(req), "Microsoft.Compute/galleries/images/versions")
    return web.json_response(answer(version, req.query.get("$expand", "")))


async def delete_version(req: SimRequest) -> web.StreamResponse:
    return await delete_simple(req, _version_id(req), op="compute.galleryversion.delete")


async def list_versions(req: SimRequest) -> web.StreamResponse:
    def_id = compute_id(req, "galleries", req.params["gallery"], "images", req.params["image"])
    definition = require(req.sim, def_id, "Microsoft.Compute/galleries/images")
    items = [answer(v, "") for v in req.sim.store.children(definition["id"])]
    return web.json_response({"value": items})


def add_routes(router: Router, definition_route: str) -> None:
    route = definition_route + "/versions/{version}"
    router.add("PUT", route, put_version, op="compute.galleryversion.put")
    router.add("GET", route, get_version, op="compute.galleryversion.get")
    router.add("DELETE", route, delete_version, op="compute.galleryversion.delete")
    router.add("GET", definition_route + "/versions", list_versions, op="compute.galleryversion.list")
