"""Tags at scope: ``/{scope}/providers/Microsoft.Resources/tags/default`` (get, put, patch, delete)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from azuresim.errors import SimError
from azuresim.providers.common import body_object
from azuresim.router import Router, SimRequest


def _target(req: SimRequest) -> dict[str, Any]:
    scope = "/" + req.params["scope"].strip("/")
    found = req.sim.store.get(scope)
    if found is None:
        raise SimError(404, "ResourceNotFound", f"The resource '{scope}' was not found.")
    return found


def _answer(resource: dict[str, Any]) -> web.Response:
    return web.json_response(
        {
            "id": resource["id"] + "/providers/Microsoft.Resources/tags/default",
            "name": "default",
            "type": "Microsoft.Resources/tags",
            "properties": {"tags": resource.get("tags") or {}},
        }
    )


def _tags_of(body: dict[str, Any]) -> dict[str, str]:
    tags = (body.get("properties") or {}).get("tags")
    if not isinstance(tags, dict):
        raise SimError(
            400, "InvalidParameter", "properties.tags must be an object.", target="properties.tags"
        )
    return {str(k): str(v) for k, v in tags.items()}


async def get_tags(req: SimRequest) -> web.StreamResponse:
    return _answer(_target(req))


async def put_tags(req: SimRequest) -> web.StreamResponse:
    resource = _target(req)
    resource["tags"] = _tags_of(body_object(req))
    req.sim.store.put(resource["id"], resource)
    return _answer(resource)


async def patch_tags(req: SimRequest) -> web.StreamResponse:
    resource = _target(req)
    body = body_object(req)
    operation = str(body.get("operation", "Merge")).lower()
    new = _tags_of(body)
    current = dict(resource.get("tags") or {})
    if operation == "merge":
        current.update(new)
    elif operation == "replace":
        current = new
    elif operation == "delete":
        current = {k: v for k, v in current.items() if not (k in new and new[k] in ("", v))}
    else:
        raise SimError(
            400, "InvalidParameter", f"Unknown tags operation '{body.get('operation')}'.", target="operation"
        )
    resource["tags"] = current
    req.sim.store.put(resource["id"], resource)
    return _answer(resource)


async def delete_tags(req: SimRequest) -> web.StreamResponse:
    resource = _target(req)
    resource["tags"] = {}
    req.sim.store.put(resource["id"], resource)
    return web.Response(status=200)


def register_routes(router: Router) -> None:
    path = "/{scope:path}/providers/Microsoft.Resources/tags/default"
    router.add("GET", path, get_tags, op="resources.tags.get")
    router.add("PUT", path, put_tags, op="resources.tags.put")
    router.add("PATCH", path, patch_tags, op="resources.tags.patch")
    router.add("DELETE", path, delete_tags, op="resources.tags.delete")
