"""Microsoft.Resources: resource groups, generic resources by id, lists with ``$filter``, tags at scope.

Deployments live in ``deployments.py``.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from azuresim import lro
from azuresim.errors import SimError, not_found, resource_group_not_found
from azuresim.providers.common import (
    RG_TYPE,
    body_object,
    filter_matcher,
    listed,
    ok,
    require_location,
    require_rg,
    rg_id,
    value_list,
)
from azuresim.router import Router, SimRequest
from azuresim.state import ResourceStore, resource_type_of

_RG_NAME = re.compile(r"^[-\w.()]{1,90}$")

# ARM deletes a group's resources in an order that avoids the "in use" conflicts (VM before NIC before
# public IP, NSG and VNet); lower first, anything unlisted after these, deployments last.
_DELETE_ORDER = [
    "microsoft.compute/virtualmachines",
    "microsoft.network/networkinterfaces",
    "microsoft.network/publicipaddresses",
    "microsoft.network/networksecuritygroups",
    "microsoft.network/virtualnetworks",
    "microsoft.compute/images",
    "microsoft.compute/snapshots",
    "microsoft.compute/disks",
]


def _delete_rank(resource: dict[str, Any]) -> int:
    low = resource["type"].lower()
    if low.startswith("microsoft.resources/"):
        return len(_DELETE_ORDER) + 1
    return _DELETE_ORDER.index(low) if low in _DELETE_ORDER else len(_DELETE_ORDER)


def delete_group_contents(store: ResourceStore, sub: str, rg: str) -> None:
    """Delete everything inside a group in a dependency-safe order (what ARM does for a group delete)."""
    for resource in sorted(store.list(resource_group=(sub, rg)), key=_delete_rank):
        store.delete(resource["id"])


async def put_group(req: SimRequest) -> web.StreamResponse:
    name = req.params["rg"]
    if not _RG_NAME.match(name) or name.endswith("."):
        raise SimError(
            400,
            "InvalidResourceGroup",
            f"The provided resource group name '{name}' has these invalid characters or is too long.",
        )
    body = body_object(req)
    location = require_location(body)
    store = req.sim.store
    existing = store.get(rg_id(req.params["sub"], name))
    if existing is not None:
        if existing["properties"].get("provisioningState") == "Deleting":
            raise SimError(
                409,
                "ResourceGroupBeingDeleted",
                f"The resource group '{existing['name']}' is in deprovisioning state and cannot perform "
                "this operation.",
            )
        if existing["location"] != location:
            raise SimError(
                400,
                "InvalidResourceGroupLocation",
                f"Invalid resource group location '{location}'. The Resource group already exists in "
                f"location "
                f"'{existing['location']}'.",
            )
        existing["tags"] = body.get("tags") or {}
        return ok(store.put(existing["id"], existing))
    group = {
        "location": location,
        "tags": body.get("tags") or {},
        "properties": {"provisioningState": "Succeeded"},
    }
    if body.get("managedBy"):
        group["managedBy"] = body["managedBy"]
    return ok(store.put(rg_id(req.params["sub"], name), group), 201)


async def get_group(req: SimRequest) -> web.StreamResponse:
    return ok(require_rg(req))


async def head_group(req: SimRequest) -> web.StreamResponse:
    found = req.sim.store.get(rg_id(req.params["sub"], req.params["rg"]))
    return web.Response(status=204 if found is not None else 404)


def _patch_tags(req: SimRequest, resource: dict[str, Any]) -> web.StreamResponse:
    # PATCH on a group or a generic resource changes only its tags; any other property in the body is ignored.
    body = body_object(req)
    if "tags" in body:
        resource["tags"] = body["tags"] or {}
    return ok(req.sim.store.put(resource["id"], resource))


async def patch_group(req: SimRequest) -> web.StreamResponse:
    return _patch_tags(req, require_rg(req))


async def delete_group(req: SimRequest) -> web.StreamResponse:
    group = require_rg(req)
    sub, rg = req.params["sub"], group["name"]
    store = req.sim.store
    if group["properties"].get("provisioningState") == "Deleting":
        return await lro.begin(req, op="resources.group.delete", resource_id=group["id"], status=202)

    async def work() -> None:
        # ARM cancels what is still running in the group (a deployment, a VM create) before deleting it.
        for oper in lro.running(req.sim, group["id"] + "/providers"):
            lro.cancel(req.sim, oper)
        delete_group_contents(store, sub, rg)
        store.delete(rg_id(sub, rg))

    return await lro.begin(req, op="resources.group.delete", resource_id=group["id"], status=202, work=work)


async def list_groups(req: SimRequest) -> web.StreamResponse:
    match = filter_matcher(req.query.get("$filter"))
    sub = req.params["sub"].lower()
    groups = [
        g
        for g in req.sim.store.list(prefix=f"/subscriptions/{sub}/resourcegroups/", type=RG_TYPE)
        if match(g)
    ]
    return value_list([_group_json(g) for g in _top(req, groups)])


def _group_json(g: dict[str, Any]) -> dict[str, Any]:
    return {k: g[k] for k in ("id", "name", "type", "location", "tags", "properties", "managedBy") if k in g}


def _top(req: SimRequest, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    top = req.query.get("$top")
    items = sorted(items, key=lambda r: r["id"].lower())
    return items[: int(top)] if top and top.isdigit() else items


def _is_listed(r: dict[str, Any]) -> bool:
    # ARM lists top-level resources only: not child resources (subnets, run commands), not deployments.
    return r["type"].count("/") == 1 and not r["type"].lower().startswith("microsoft.resources/")


async def list_group_resources(req: SimRequest) -> web.StreamResponse:
    require_rg(req)
    match = filter_matcher(req.query.get("$filter"))
    found = req.sim.store.list(resource_group=(req.params["sub"], req.params["rg"]))
    return value_list([listed(r) for r in _top(req, [r for r in found if _is_listed(r) and match(r)])])


async def list_subscription_resources(req: SimRequest) -> web.StreamResponse:
    match = filter_matcher(req.query.get("$filter"))
    found = req.sim.store.list(prefix=f"/subscriptions/{req.params['sub']}/resourcegroups/")
    found = [r for r in found if r["type"] != RG_TYPE and _is_listed(r) and match(r)]
    return value_list([listed(r) for r in _top(req, found)])


def _generic_id(req: SimRequest) -> str:
    return f"{rg_id(req.params['sub'], req.params['rg'])}/providers/{req.params['rest']}"


def _generic_404(req: SimRequest, resource_id: str) -> SimError:
    require_rg(req)
    return not_found(resource_id, resource_type_of(resource_id), resource_id.rsplit("/", 1)[1])


async def get_generic(req: SimRequest) -> web.StreamResponse:
    resource_id = _generic_id(req)
    found = req.sim.store.get(resource_id)
    if found is None:
        raise _generic_404(req, resource_id)
    return ok(found)


async def put_generic(req: SimRequest) -> web.StreamResponse:
    """Any resource type no provider serves is stored as given (ARM passes the body to its provider)."""
    require_rg(req)
    body = body_object(req)
    resource_id = _generic_id(req)
    existing = req.sim.store.get(resource_id)
    resource = dict(body)
    props = dict(resource.get("properties") or {})
    props["provisioningState"] = "Succeeded"
    resource["properties"] = props
    if "location" in resource:
        resource["location"] = require_location(resource)
    return ok(req.sim.store.put(resource_id, resource), 200 if existing else 201)


async def patch_generic(req: SimRequest) -> web.StreamResponse:
    resource_id = _generic_id(req)
    found = req.sim.store.get(resource_id)
    if found is None:
        raise _generic_404(req, resource_id)
    return _patch_tags(req, found)


async def delete_generic(req: SimRequest) -> web.StreamResponse:
    resource_id = _generic_id(req)
    store = req.sim.store
    if store.get(resource_id) is None:
        if store.get(rg_id(req.params["sub"], req.params["rg"])) is None:
            raise resource_group_not_found(req.params["rg"])
        return web.Response(status=204)
    for child in store.children(resource_id):
        store.delete(child["id"])
    store.delete(resource_id)
    return web.Response(status=200)


def register(router: Router) -> None:
    from azuresim.providers import tags

    group = "/subscriptions/{sub}/resourceGroups/{rg}"
    router.add("PUT", group, put_group, op="resources.group.put")
    router.add("GET", group, get_group, op="resources.group.get")
    router.add("HEAD", group, head_group, op="resources.group.head")
    router.add("PATCH", group, patch_group, op="resources.group.patch")
    router.add("DELETE", group, delete_group, op="resources.group.delete")
    router.add("GET", "/subscriptions/{sub}/resourceGroups", list_groups, op="resources.group.list")
    router.add("GET", group + "/resources", list_group_resources, op="resources.resource.list")
    router.add(
        "GET", "/subscriptions/{sub}/resources", list_subscription_resources, op="resources.resource.list"
    )
    generic = group + "/providers/{rest:path}"
    router.add("GET", generic, get_generic, op="resources.resource.get")
    router.add("PUT", generic, put_generic, op="resources.resource.put")
    router.add("PATCH", generic, patch_generic, op="resources.resource.patch")
    router.add("DELETE", generic, delete_generic, op="resources.resource.delete")
    tags.register_routes(router)
