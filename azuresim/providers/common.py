"""Helpers shared by the providers: ids from path parameters, RG checks, tag filters, bodies."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from azuresim.errors import SimError, not_found, resource_group_not_found
from azuresim.router import SimRequest
from azuresim.state import ResourceStore, canonical_id, public

RG_TYPE = "Microsoft.Resources/resourceGroups"


def rg_id(sub: str, rg: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}"


def require_rg(req: SimRequest) -> dict[str, Any]:
    """The request's resource group (params ``sub``, ``rg``) or 404 ResourceGroupNotFound; a write into a
    group being deleted is 409 ResourceGroupBeingDeleted."""
    group = req.sim.store.get(rg_id(req.params["sub"], req.params["rg"]))
    if group is None:
        raise resource_group_not_found(req.params["rg"])
    if req.method in ("PUT", "PATCH", "POST") and group["properties"].get("provisioningState") == "Deleting":
        raise SimError(
            409,
            "ResourceGroupBeingDeleted",
            f"The resource group '{group['name']}' is in deprovisioning state and cannot perform this "
            "operation.",
        )
    return group


def rid(req: SimRequest, provider: str, *type_name_pairs: str) -> str:
    return canonical_id(req.params["sub"], req.params["rg"], provider, *type_name_pairs)


def get_or_404(req: SimRequest, resource_id: str, type_name: str) -> dict[str, Any]:
    """The stored resource, else 404 ResourceGroupNotFound / ResourceNotFound as ARM words them."""
    found = req.sim.store.get(resource_id)
    if found is None:
        require_rg(req)
        raise not_found(resource_id, type_name, resource_id.rsplit("/", 1)[1])
    return found


def body_object(req: SimRequest) -> dict[str, Any]:
    if not isinstance(req.body, dict):
        raise SimError(
            400, "InvalidRequestContent", "The request content was invalid and could not be deserialized."
        )
    return req.body


def require_location(body: dict[str, Any]) -> str:
    location = body.get("location")
    if not isinstance(location, str) or not location:
        raise SimError(400, "LocationRequired", "The location property is required for this definition.")
    return location.replace(" ", "").lower()


def ok(resource: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(public(resource), status=status)


def value_list(items: list[dict[str, Any]]) -> web.Response:
    return web.json_response({"value": items})


_TAG = re.compile(r"tagName\s+eq\s+'([^']*)'(?:\s+and\s+tagValue\s+eq\s+'([^']*)')?\s*$", re.IGNORECASE)
_FIELD = re.compile(r"(resourceType|name)\s+eq\s+'([^']*)'", re.IGNORECASE)


def filter_matcher(expr: str | None) -> Any:
    """A predicate for ARM's ``$filter`` on lists: ``tagName eq 'x' [and tagValue eq 'y']``, or
    ``resourceType eq 't'`` / ``name eq 'n'`` joined by ``and``."""
    if not expr:
        return lambda r: True
    m = _TAG.fullmatch(expr.strip())
    if m:
        name, value = m.group(1).lower(), m.group(2)

        def by_tag(r: dict[str, Any]) -> bool:
            tags = {k.lower(): v for k, v in (r.get("tags") or {}).items()}
            return name in tags and (value is None or tags[name] == value)

        return by_tag
    clauses = [c.strip() for c in re.split(r"\s+and\s+", expr.strip(), flags=re.IGNORECASE)]
    checks: list[tuple[str, str]] = []
    for clause in clauses:
        fm = _FIELD.fullmatch(clause)
        if fm is None:
            raise SimError(400, "InvalidFilterInQueryString", f"Unsupported $filter expression: '{expr}'.")
        checks.append((fm.group(1).lower(), fm.group(2).lower()))
    return lambda r: all(
        (r["type"] if key == "resourcetype" else r["name"]).lower() == value for key, value in checks
    )


def listed(r: dict[str, Any]) -> dict[str, Any]:
    """The shape ARM's generic list answers with: no properties."""
    out: dict[str, Any] = {k: r[k] for k in ("id", "name", "type", "location") if k in r}
    for key in ("kind", "sku", "identity", "managedBy", "plan"):
        if key in r:
            out[key] = r[key]
    out["tags"] = r.get("tags") or {}
    return out


def dependents(store: ResourceStore, key: str, target_id: str, types: tuple[str, ...]) -> list[str]:
    """Ids of resources of ``types`` whose JSON mentions ``target_id`` under a ``key`` reference."""
    target = target_id.lower()
    found: list[str] = []
    for r in store.all():
        if r["type"] not in types:
            continue
        if _mentions(r.get("properties"), key, target):
            found.append(r["id"])
    return found


def _mentions(node: Any, key: str, target: str) -> bool:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key and isinstance(v, dict) and str(v.get("id", "")).lower().startswith(target):
                rest = str(v.get("id", "")).lower()[len(target) :]
                if rest == "" or rest.startswith("/"):
                    return True
            if _mentions(v, key, target):
                return True
    elif isinstance(node, list):
        return any(_mentions(v, key, target) for v in node)
    return False
