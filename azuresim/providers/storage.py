"""Microsoft.Storage/storageAccounts: PUT/GET/DELETE, list, listKeys. Every account reports Azurite's blob
endpoint, so blob operations against it are real (all accounts share Azurite's one development account)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from azuresim import lro
from azuresim.errors import SimError
from azuresim.providers.common import body_object, get_or_404, ok, require_location, require_rg, rg_id
from azuresim.router import Router, SimRequest
from azuresim.state import ResourceStore, canonicalize, public

TYPE = "Microsoft.Storage/storageAccounts"
_NAME = re.compile(r"^[a-z0-9]{3,24}$")


def create(
    store: ResourceStore, resource_id: str, body: dict[str, Any], blob_endpoint: str
) -> dict[str, Any]:
    """Validate and store a storage account (also used by deployments)."""
    _check_name(store, resource_id)
    if not isinstance(body.get("sku"), dict) or not body["sku"].get("name"):
        raise SimError(400, "MissingRequiredParameter", "The parameter sku.name is required.", "sku.name")
    props = dict(body.get("properties") or {})
    props.update(
        provisioningState="Succeeded",
        primaryLocation=require_location(body),
        statusOfPrimary="available",
        creationTime=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        primaryEndpoints={"blob": blob_endpoint},
    )
    props.setdefault("allowBlobPublicAccess", False)
    props.setdefault("minimumTlsVersion", "TLS1_2")
    account = {
        "location": require_location(body),
        "tags": dict(body.get("tags") or {}),
        "sku": {
            "name": body["sku"]["name"],
            "tier": "Premium" if "Premium" in body["sku"]["name"] else "Standard",
        },
        "kind": body.get("kind", "StorageV2"),
        "properties": props,
    }
    if body.get("identity"):
        account["identity"] = body["identity"]
    return store.put(resource_id, account)


def _check_name(store: ResourceStore, resource_id: str) -> None:
    # Storage account names are global: another group's account with the name makes it taken.
    name = resource_id.rsplit("/", 1)[1]
    if not _NAME.match(name):
        raise SimError(
            400,
            "AccountNameInvalid",
            f"{name} is not a valid storage account name. Storage account name must be between 3 and 24 "
            "characters in length and use numbers and lower-case letters only.",
            "name",
        )
    taken = [a for a in store.list(type=TYPE) if a["name"] == name and a["id"].lower() != resource_id.lower()]
    if taken:
        raise SimError(
            409, "StorageAccountAlreadyTaken", f"The storage account named {name} is already taken."
        )


def _id(req: SimRequest) -> str:
    return canonicalize(f"{rg_id(req.params['sub'], req.params['rg'])}/providers/{TYPE}/{req.params['name']}")


async def put_account(req: SimRequest) -> web.StreamResponse:
    require_rg(req)
    resource_id = _id(req)
    existed = req.sim.store.get(resource_id) is not None
    account = create(req.sim.store, resource_id, body_object(req), req.sim.blobs.blob_endpoint)
    if existed:
        return ok(account)
    # A new account is created asynchronously: 202 with only a Location header, as the Storage RP answers.
    resp = await lro.begin(req, op="storage.account.put", resource_id=account["id"], status=202)
    del resp.headers["Azure-AsyncOperation"]
    return web.Response(status=202, headers=resp.headers)


async def get_account(req: SimRequest) -> web.StreamResponse:
    return ok(get_or_404(req, _id(req), TYPE))


async def delete_account(req: SimRequest) -> web.StreamResponse:
    # The Storage RP deletes synchronously: 200, or 204 when there is nothing to delete.
    if not req.sim.store.delete(_id(req)):
        require_rg(req)
        return web.Response(status=204)
    return web.Response(status=200)


async def list_keys(req: SimRequest) -> web.StreamResponse:
    get_or_404(req, _id(req), TYPE)
    key = req.sim.blobs.account_key
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    keys = [
        {"keyName": n, "value": key, "permissions": "FULL", "creationTime": now} for n in ("key1", "key2")
    ]
    return web.json_response({"keys": keys})


async def list_accounts(req: SimRequest) -> web.StreamResponse:
    require_rg(req)
    found = req.sim.store.list(resource_group=(req.params["sub"], req.params["rg"]), type=TYPE)
    return web.json_response({"value": [public(a) for a in found]})


async def check_name(req: SimRequest) -> web.StreamResponse:
    name = str(body_object(req).get("name", ""))
    taken = any(a["name"] == name for a in req.sim.store.list(type=TYPE))
    answer: dict[str, Any] = {"nameAvailable": not taken and bool(_NAME.match(name))}
    if not answer["nameAvailable"]:
        answer.update(
            reason="AlreadyExists" if taken else "AccountNameInvalid", message=f"{name} is not available."
        )
    return web.json_response(answer)


def register(router: Router) -> None:
    base = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts"
    router.add("PUT", base + "/{name}", put_account, op="storage.account.put")
    router.add("GET", base + "/{name}", get_account, op="storage.account.get")
    router.add("DELETE", base + "/{name}", delete_account, op="storage.account.delete")
    router.add("POST", base + "/{name}/listKeys", list_keys, op="storage.account.listkeys")
    router.add("GET", base, list_accounts, op="storage.account.list")
    router.add(
        "POST",
        "/subscriptions/{sub}/providers/Microsoft.Storage/checkNameAvailability",
        check_name,
        op="storage.account.checkname",
    )
