"""Small helpers shared by the compute-side providers (VMs, run commands, gallery, marketplace)."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from azuresim import lro
from azuresim.errors import SimError, not_found
from azuresim.router import SimRequest
from azuresim.state import canonical_id, public

COMPUTE = "Microsoft.Compute"

# Seconds at latency scale 1.0 for the compute operations (Azure's typical timings; see user-pain-points.md).
# They are added to the latency model's table on first use, so /_sim/latency shows and overrides them.
COMPUTE_OPS: dict[str, float] = {
    "compute.vm.deallocate": 60.0,
    "compute.vm.restart": 45.0,
    "compute.vm.agent": 30.0,  # the guest agent reporting Ready after a boot
    "compute.vm.update": 10.0,
    "compute.image.put": 90.0,
    "compute.disk.grantAccess": 5.0,
    "compute.runcommand.put": 10.0,
    "compute.runcommand.run": 20.0,  # one "durationOps" unit of a script
    "compute.gallery.put": 10.0,
    "compute.galleryimage.put": 10.0,
    "compute.galleryversion.put": 30.0,
    "gallery.capture": 300.0,  # a version's copy in its own region, from its source
    "gallery.replicate": 900.0,  # per other region ("gallery.replicate.<region>": that region's own)
}


def ensure_timings(sim: Any) -> None:
    for op, seconds in COMPUTE_OPS.items():
        sim.latency.ops.setdefault(op, seconds)


def compute_id(req: SimRequest, *type_name_pairs: str) -> str:
    ensure_timings(req.sim)
    return canonical_id(req.params["sub"], req.params["rg"], COMPUTE, *type_name_pairs)


def json_ok(resource: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(public(resource), status=status)


def require(sim: Any, resource_id: str, type_name: str) -> dict[str, Any]:
    """The stored resource, or the 404 ARM answers."""
    found: dict[str, Any] | None = sim.store.get(resource_id)
    if found is None:
        raise not_found(resource_id, type_name, resource_id.rsplit("/", 1)[1])
    return found


def body_dict(req: SimRequest, what: str) -> dict[str, Any]:
    if not isinstance(req.body, dict):
        raise SimError(400, "InvalidRequestContent", f"The request content for {what} must be a JSON object.")
    return req.body


def require_group(req: SimRequest) -> None:
    """404 ResourceGroupNotFound when the group in the path does not exist (as ARM answers a PUT)."""
    rg_id = f"/subscriptions/{req.params['sub']}/resourceGroups/{req.params['rg']}"
    if req.sim.store.get(rg_id) is None:
        raise SimError(
            404, "ResourceGroupNotFound", f"Resource group '{req.params['rg']}' could not be found."
        )


def invalid(target: str, message: str) -> SimError:
    return SimError(400, "InvalidParameter", message, target)


def missing(target: str) -> SimError:
    return invalid(target, f"Required parameter '{target}' is missing (null).")


async def delete_simple(
    req: SimRequest, resource_id: str, *, op: str, nested_blocks: bool = False
) -> web.StreamResponse:
    """ARM's DELETE of a compute resource with no side effects: 204 when it is already gone, else an async
    operation that removes it. With ``nested_blocks``, a resource that still has children is refused (409)."""
    found: dict[str, Any] | None = req.sim.store.get(resource_id)
    if found is None:
        return web.Response(status=204)
    if nested_blocks and req.sim.store.children(found["id"]):
        raise SimError(
            409, "CannotDeleteResource", "Can not delete resource before nested resources are deleted."
        )

    async def work() -> None:
        req.sim.store.delete(found["id"])

    return await lro.begin(req, op=op, resource_id=found["id"], work=work, location=found["location"])


def list_body(items: list[dict[str, Any]]) -> web.Response:
    return web.json_response({"value": [public(i) for i in items]})


def expect_duration(sim: Any, resp: web.StreamResponse, seconds: float) -> web.StreamResponse:
    """Tell pollers how long an operation whose ``work`` outlasts its op delay really takes (replication, a
    script): its Retry-After and remaining time follow ``seconds`` instead of dropping to zero."""
    url = resp.headers.get("Azure-AsyncOperation", "")
    oper = sim.operations.get(url.split("?", 1)[0].rsplit("/", 1)[-1])
    if oper is not None and seconds > oper.remaining():
        oper.done_at = time.monotonic() + seconds
        resp.headers["Retry-After"] = lro.retry_after(seconds)
    return resp


def fault_fires(sim: Any, method: str, path: str) -> bool:
    """Whether a control-plane fault rule matches a pseudo request (e.g. one region's replication)."""
    return sim.faults.pick(method, path, "") is not None
