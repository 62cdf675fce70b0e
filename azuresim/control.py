"""The control plane under ``/_sim/`` (no bearer token): latency, faults, inventory, request log, health."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from azuresim.errors import SimError
from azuresim.router import Router, SimRequest


def _object(req: SimRequest) -> dict[str, Any]:
    if not isinstance(req.body, dict):
        raise SimError(400, "InvalidRequestContent", "The request body must be a JSON object.")
    return req.body


async def health(req: SimRequest) -> web.StreamResponse:
    return web.json_response({"status": "ok", "resources": len(req.sim.store.all())})


async def get_latency(req: SimRequest) -> web.StreamResponse:
    return web.json_response(req.sim.latency.to_json())


async def put_latency(req: SimRequest) -> web.StreamResponse:
    try:
        req.sim.latency.update(_object(req))
    except (TypeError, ValueError) as exc:
        raise SimError(400, "InvalidParameter", f"latency: {exc}", target="scale") from exc
    req.sim.persist()
    return web.json_response(req.sim.latency.to_json())


async def list_faults(req: SimRequest) -> web.StreamResponse:
    return web.json_response({"rules": [r.to_json() for r in req.sim.faults.rules]})


async def add_fault(req: SimRequest) -> web.StreamResponse:
    try:
        rule = req.sim.faults.add(_object(req))
    except (TypeError, ValueError) as exc:
        field = str(exc).split(":", 1)[0]
        raise SimError(400, "InvalidParameter", f"fault rule: {exc}", target=field) from exc
    return web.json_response(rule.to_json(), status=201)


async def clear_faults(req: SimRequest) -> web.StreamResponse:
    req.sim.faults.clear()
    return web.Response(status=204)


async def delete_fault(req: SimRequest) -> web.StreamResponse:
    if not req.params["id"].isdigit() or not req.sim.faults.remove(int(req.params["id"])):
        raise SimError(404, "NotFound", f"No fault rule {req.params['id']}.")
    return web.Response(status=204)


def _summary(r: dict[str, Any]) -> dict[str, Any]:
    props = r.get("properties") if isinstance(r.get("properties"), dict) else {}
    return {
        "id": r["id"],
        "type": r["type"],
        "name": r["name"],
        "location": r.get("location"),
        "tags": r.get("tags") or {},
        "provisioningState": (props or {}).get("provisioningState"),
    }


async def inventory(req: SimRequest) -> web.StreamResponse:
    items = sorted((_summary(r) for r in req.sim.store.all()), key=lambda s: s["id"].lower())
    return web.json_response({"resources": items})


async def lifetimes(req: SimRequest) -> web.StreamResponse:
    """Every resource created since the simulator started: ``created`` and ``gone`` (epoch seconds; gone is
    null while it exists), optionally only ids containing ``?contains=``."""
    part = req.query.get("contains", "").lower()
    items = [dict(v) for k, v in req.sim.store.lifetimes.items() if part in k]
    return web.json_response({"lifetimes": sorted(items, key=lambda v: v["created"])})


async def reset_inventory(req: SimRequest) -> web.StreamResponse:
    req.sim.store.clear()
    req.sim.persist()
    return web.Response(status=204)


async def requests(req: SimRequest) -> web.StreamResponse:
    return web.json_response({"requests": req.sim.request_log})


async def clear_requests(req: SimRequest) -> web.StreamResponse:
    req.sim.request_log.clear()
    return web.Response(status=204)


def register(router: Router) -> None:
    add = router.add
    add("GET", "/_sim/health", health, op="sim.control")
    add("GET", "/_sim/latency", get_latency, op="sim.control")
    add("PUT", "/_sim/latency", put_latency, op="sim.control")
    add("GET", "/_sim/faults", list_faults, op="sim.control")
    add("POST", "/_sim/faults", add_fault, op="sim.control")
    add("DELETE", "/_sim/faults", clear_faults, op="sim.control")
    add("DELETE", "/_sim/faults/{id}", delete_fault, op="sim.control")
    add("GET", "/_sim/inventory", inventory, op="sim.control")
    add("DELETE", "/_sim/inventory", reset_inventory, op="sim.control")
    add("GET", "/_sim/lifetimes", lifetimes, op="sim.control")
    add("GET", "/_sim/requests", requests, op="sim.control")
    add("DELETE", "/_sim/requests", clear_requests, op="sim.control")
