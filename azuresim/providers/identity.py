"""Microsoft.ManagedIdentity/userAssignedIdentities (PUT, GET, DELETE, list) and role assignments at a scope
(PUT, GET, DELETE, list), enough for kiln to resolve the identity a template names and check its roles."""

from __future__ import annotations

import re
import uuid
from typing import Any

from aiohttp import web

from azuresim.errors import SimError
from azuresim.providers.common import body_object, get_or_404, ok, require_location, require_rg, rg_id
from azuresim.router import Router, SimRequest
from azuresim.state import ResourceStore, canonicalize, public

TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"
ROLE_TYPE = "Microsoft.Authorization/roleAssignments"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def create(store: ResourceStore, resource_id: str, body: dict[str, Any]) -> dict[str, Any]:
    existing = store.get(resource_id)
    props = (
        dict(existing["properties"])
        if existing
        else {
            "tenantId": TENANT,
            "principalId": str(uuid.uuid4()),
            "clientId": str(uuid.uuid4()),
        }
    )
    ident = {"location": require_location(body), "tags": dict(body.get("tags") or {}), "properties": props}
    return store.put(resource_id, ident)


def _id(req: SimRequest) -> str:
    return canonicalize(f"{rg_id(req.params['sub'], req.params['rg'])}/providers/{TYPE}/{req.params['name']}")


async def put_identity(req: SimRequest) -> web.StreamResponse:
    require_rg(req)
    existed = req.sim.store.get(_id(req)) is not None
    return ok(create(req.sim.store, _id(req), body_object(req)), 200 if existed else 201)


async def get_identity(req: SimRequest) -> web.StreamResponse:
    return ok(get_or_404(req, _id(req), TYPE))


async def delete_identity(req: SimRequest) -> web.StreamResponse:
    if req.sim.store.delete(_id(req)):
        return web.Response(status=200)
    require_rg(req)
    return web.Response(status=204)


async def list_identities(req: SimRequest) -> web.StreamResponse:
    require_rg(req)
    found = req.sim.store.list(resource_group=(req.params["sub"], req.params["rg"]), type=TYPE)
    return web.json_response({"value": [public(i) for i in found]})


def _scope(req: SimRequest) -> str:
    return "/" + req.params["scope"].strip("/")


async def put_role_assignment(req: SimRequest) -> web.StreamResponse:
    scope = _scope(req)
    if req.sim.store.get(scope) is None and scope.count("/") > 2:
        raise SimError(404, "ResourceNotFound", f"The scope '{scope}' was not found.")
    props = dict(body_object(req).get("properties") or {})
    for field in ("roleDefinitionId", "principalId"):
        if not props.get(field):
            raise SimError(400, "InvalidParameter", f"properties.{field} is required.", f"properties.{field}")
    props["scope"] = scope
    resource_id = f"{scope}/providers/{ROLE_TYPE}/{req.params['name']}"
    existed = req.sim.store.get(resource_id) is not None
    return ok(req.sim.store.put(resource_id, {"properties": props}), 200 if existed else 201)


async def get_role_assignment(req: SimRequest) -> web.StreamResponse:
    resource_id = f"{_scope(req)}/providers/{ROLE_TYPE}/{req.params['name']}"
    found = req.sim.store.get(resource_id)
    if found is None:
        raise SimError(404, "RoleAssignmentNotFound", "The role assignment does not exist.")
    return ok(found)


async def delete_role_assignment(req: SimRequest) -> web.StreamResponse:
    resource_id = f"{_scope(req)}/providers/{ROLE_TYPE}/{req.params['name']}"
    found = req.sim.store.get(resource_id)
    if found is None:
        return web.Response(status=204)
    req.sim.store.delete(resource_id)
    return ok(found)


async def list_role_assignments(req: SimRequest) -> web.StreamResponse:
    """Assignments at, above and below the scope; ``$filter=principalId eq '…'`` and ``atScope()`` as ARM."""
    scope = _scope(req).lower()
    wanted = req.query.get("$filter", "")
    principal = re.search(r"principalId eq '([^']*)'", wanted)
    at_scope = "atscope()" in wanted.lower()
    found = [
        public(r)
        for r in req.sim.store.list(type=ROLE_TYPE)
        if (
            scope.startswith(str(r["properties"]["scope"]).lower())
            or (not at_scope and str(r["properties"]["scope"]).lower().startswith(scope))
        )
        and (principal is None or str(r["properties"]["principalId"]).lower() == principal.group(1).lower())
    ]
    return web.json_response({"value": found})


def register(router: Router) -> None:
    base = (
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
    )
    router.add("PUT", base + "/{name}", put_identity, op="identity.user.put")
    router.add("GET", base + "/{name}", get_identity, op="identity.user.get")
    router.add("DELETE", base + "/{name}", delete_identity, op="identity.user.delete")
    router.add("GET", base, list_identities, op="identity.user.list")
    roles = "/{scope:path}/providers/Microsoft.Authorization/roleAssignments"
    router.add("PUT", roles + "/{name}", put_role_assignment, op="identity.role.put")
    router.add("GET", roles + "/{name}", get_role_assignment, op="identity.role.get")
    router.add("DELETE", roles + "/{name}", delete_role_assignment, op="identity.role.delete")
    router.add("GET", roles, list_role_assignments, op="identity.role.list")
