"""Microsoft.Resources/deployments at resource-group scope: create (LRO), get, delete, list, validate and the
deployment operations list. The engine is ``deployment_engine.py``; parameters ``deployment_params.py``.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from typing import Any

from aiohttp import web

from azuresim import lro
from azuresim.errors import SimError
from azuresim.providers import deployment_engine as engine
from azuresim.providers.common import require_rg, rg_id
from azuresim.providers.deployment_params import Prepared, prepare
from azuresim.router import Router, SimRequest
from azuresim.state import canonicalize, public
from azuresim.template import Context, evaluate

TYPE = "Microsoft.Resources/deployments"


def _id(req: SimRequest) -> str:
    return canonicalize(f"{rg_id(req.params['sub'], req.params['rg'])}/providers/{TYPE}/{req.params['name']}")


def _context(req: SimRequest) -> Context:
    group = require_rg(req)
    return Context(req.params["sub"], group["name"], group["location"], {}, {})


def _served_parameters(prepared: Prepared) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in prepared.parameters.items():
        kind = str(prepared.template.get("parameters", {}).get(name, {}).get("type", "string"))
        # Secure values are never echoed, as ARM does.
        out[name] = {"type": kind} if name in prepared.secure else {"type": kind, "value": value}
    return out


def _dependencies(planned: list[engine.Planned]) -> list[dict[str, Any]]:
    by_index = {p.index: p for p in planned}
    return [
        {
            "id": p.id,
            "resourceType": p.type,
            "resourceName": p.name,
            "dependsOn": [
                {"id": by_index[d].id, "resourceType": by_index[d].type, "resourceName": by_index[d].name}
                for d in sorted(p.depends)
            ],
        }
        for p in planned
        if p.depends
    ]


def _validate(req: SimRequest) -> tuple[Context, Prepared, list[engine.Planned]]:
    ctx = _context(req)
    prepared = prepare(req.sim, req.body, ctx)
    return ctx, prepared, engine.plan(prepared, ctx)


def _new_properties(req: SimRequest, prepared: Prepared, planned: list[engine.Planned]) -> dict[str, Any]:
    template_hash = hashlib.sha256(json.dumps(prepared.template, sort_keys=True).encode()).hexdigest()[:20]
    return {
        "provisioningState": "Accepted",
        "mode": (req.body["properties"].get("mode") or "Incremental"),
        "timestamp": engine.now(),
        "duration": "PT0S",
        "correlationId": str(uuid.uuid4()),
        "templateHash": str(int(template_hash, 16)),
        "parameters": _served_parameters(prepared),
        "dependencies": _dependencies(planned),
        "outputResources": [],
    }


async def put_deployment(req: SimRequest) -> web.StreamResponse:
    ctx, prepared, planned = _validate(req)
    store = req.sim.store
    dep_id = _id(req)
    existing = store.get(dep_id)
    if existing is not None and existing["properties"].get("provisioningState") in ("Accepted", "Running"):
        raise SimError(
            409,
            "DeploymentActive",
            f"The deployment '{existing['name']}' is already running; wait or cancel it.",
        )
    props = _new_properties(req, prepared, planned)
    deployment = store.put(dep_id, {"location": ctx.location, "properties": props, "_operations": []})
    ctx.reference = engine.reference_lookup(req.sim, planned)

    started = time.monotonic()

    async def work() -> None:
        try:
            created = await engine.run(req.sim, deployment, planned, ctx)
        except SimError as exc:
            props["error"] = exc.body()["error"]
            raise
        finally:
            props["timestamp"] = engine.now()
            props["duration"] = f"PT{time.monotonic() - started:.3f}S"
        props["outputResources"] = [{"id": i} for i in created]
        props["outputs"] = _outputs(prepared, ctx)

    return await lro.begin(
        req,
        op="resources.deployment.put",
        resource_id=dep_id,
        status=200 if existing is not None else 201,
        work=work,
        location=ctx.location,
        start_state="Running",
    )


def _outputs(prepared: Prepared, ctx: Context) -> dict[str, Any]:
    outputs: dict[str, Any] = {}
    for name, spec in (prepared.template.get("outputs") or {}).items():
        outputs[name] = {"type": spec.get("type", "string"), "value": evaluate(spec.get("value"), ctx)}
    return outputs


def _deployment(req: SimRequest) -> dict[str, Any]:
    found = req.sim.store.get(_id(req))
    if found is None:
        require_rg(req)
        raise SimError(404, "DeploymentNotFound", f"Deployment '{req.params['name']}' could not be found.")
    return found


async def get_deployment(req: SimRequest) -> web.StreamResponse:
    return web.json_response(public(_deployment(req)))


async def head_deployment(req: SimRequest) -> web.StreamResponse:
    return web.Response(status=204 if req.sim.store.get(_id(req)) is not None else 404)


async def delete_deployment(req: SimRequest) -> web.StreamResponse:
    """Deletes the deployment record only (its resources stay), as ARM does."""
    found = req.sim.store.get(_id(req))
    if found is None:
        require_rg(req)
        return web.Response(status=204)

    async def work() -> None:
        req.sim.store.delete(found["id"])

    return await lro.begin(req, op="resources.deployment.delete", resource_id=found["id"], work=work)


async def list_deployments(req: SimRequest) -> web.StreamResponse:
    require_rg(req)
    found = req.sim.store.list(resource_group=(req.params["sub"], req.params["rg"]), type=TYPE)
    return web.json_response({"value": [public(d) for d in found]})


async def validate(req: SimRequest) -> web.StreamResponse:
    _, prepared, planned = _validate(req)
    return web.json_response(
        {
            "id": _id(req),
            "name": req.params["name"],
            "type": TYPE,
            "properties": {
                "provisioningState": "Succeeded",
                "parameters": _served_parameters(prepared),
                "dependencies": _dependencies(planned),
                "validatedResources": [{"id": p.id} for p in planned],
            },
        }
    )


async def cancel(req: SimRequest) -> web.StreamResponse:
    deployment = _deployment(req)
    in_flight = lro.running(req.sim, deployment["id"])
    if not in_flight:
        raise SimError(
            409,
            "DeploymentCannotBeCancelled",
            f"The deployment '{deployment['name']}' cannot be cancelled: it is not running.",
        )
    for oper in in_flight:
        lro.cancel(req.sim, oper)
    deployment["properties"]["timestamp"] = engine.now()
    req.sim.persist()
    return web.Response(status=204)


async def list_operations(req: SimRequest) -> web.StreamResponse:
    return web.json_response({"value": _deployment(req).get("_operations", [])})


async def get_operation(req: SimRequest) -> web.StreamResponse:
    for op in _deployment(req).get("_operations", []):
        if op["operationId"].lower() == req.params["opid"].lower():
            return web.json_response(op)
    raise SimError(
        404, "DeploymentOperationNotFound", f"Operation '{req.params['opid']}' could not be found."
    )


def register(router: Router) -> None:
    group = "/subscriptions/{sub}/resourceGroups/{rg}"
    base = group + "/providers/Microsoft.Resources/deployments"
    router.add("PUT", base + "/{name}", put_deployment, op="resources.deployment.put")
    router.add("GET", base + "/{name}", get_deployment, op="resources.deployment.get")
    router.add("HEAD", base + "/{name}", head_deployment, op="resources.deployment.head")
    router.add("DELETE", base + "/{name}", delete_deployment, op="resources.deployment.delete")
    router.add("GET", base, list_deployments, op="resources.deployment.list")
    router.add("POST", base + "/{name}/validate", validate, op="resources.deployment.validate")
    router.add("POST", base + "/{name}/cancel", cancel, op="resources.deployment.cancel")
    # The SDK lists operations without the provider segment; ARM serves both forms.
    for prefix in (group + "/deployments/{name}", base + "/{name}"):
        router.add("GET", prefix + "/operations", list_operations, op="resources.deployment.operations")
        router.add("GET", prefix + "/operations/{opid}", get_operation, op="resources.deployment.operations")
