"""Key Vault secrets (data plane) at the simulator's root: the SecretClient's ``vault_url`` is the sim's base
URL.

Auth is Key Vault's challenge flow: a request without a bearer token gets 401 with
``WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/{tenant}",
resource="https://vault.azure.net"``; the SDK then asks its credential for a token for that resource and
retries.
Because the resource is not a suffix of ``127.0.0.1``, clients must pass ``verify_challenge_resource=False``
(the SDK's own switch for non-``*.vault.azure.net`` hosts).

Soft delete is on (recoverable for 90 days): a deleted secret moves to ``/deletedsecrets`` and its name cannot
be reused until it is purged or recovered. Secret values live in ``sim.control`` (so in the state file, which
is the developer's own local file) but never in the request log, which records no bodies.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from aiohttp import web

from azuresim.errors import SimError
from azuresim.router import Router, SimRequest

SECRETS = "keyvault.secrets"  # sim.control: {lower name: {"name", "versions": [bundle without id]}}
DELETED = "keyvault.deleted"  # sim.control: {lower name: {"name", "versions", "deletedDate"}}
TENANT = "keyvault.tenant"
DEFAULT_TENANT = "00000000-0000-0000-0000-000000000000"
_NAME = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
_RECOVERABLE_DAYS = 90


def _challenge(req: SimRequest) -> None:
    auth = req.headers.get("Authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return
    tenant = req.sim.control.get(TENANT, DEFAULT_TENANT)
    header = f'Bearer authorization="https://login.microsoftonline.com/{tenant}", resource="https://vault.azure.net"'
    raise SimError(
        401,
        "Unauthorized",
        "AKV10000: Request is missing a Bearer or PoP token.",
        headers={"WWW-Authenticate": header},
    )


def _name(req: SimRequest) -> str:
    name = req.params["name"]
    if not _NAME.match(name):
        raise SimError(400, "BadParameter", f"The request URI contains an invalid name: {name}")
    return name


def _attributes(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        **entry["attributes"],
        "recoveryLevel": "Recoverable+Purgeable",
        "recoverableDays": _RECOVERABLE_DAYS,
    }


def _bundle(req: SimRequest, name: str, entry: dict[str, Any], *, value: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": f"{req.base_url}/secrets/{name}/{entry['version']}",
        "attributes": _attributes(entry),
        "tags": entry.get("tags") or {},
    }
    if value:
        out["value"] = entry["value"]
    if entry.get("contentType"):
        out["contentType"] = entry["contentType"]
    return out


def _not_found(name: str, version: str = "") -> SimError:
    what = f"{name}/{version}" if version else name
    return SimError(
        404,
        "SecretNotFound",
        f"A secret with (name/id) {what} was not found in this key vault. If you "
        "recently deleted this secret you may be able to recover it using the correct recovery command.",
    )


async def set_secret(req: SimRequest) -> web.StreamResponse:
    _challenge(req)
    name = _name(req)
    body = req.body if isinstance(req.body, dict) else {}
    if not isinstance(body.get("value"), str):
        raise SimError(400, "BadParameter", "Property 'value' is required and must be a string.")
    if name.lower() in req.sim.control.get(DELETED, {}):
        raise SimError(
            409,
            "Conflict",
            f"Secret {name} is currently in a deleted but recoverable state, and its "
            "name cannot be reused; in this state, the secret can only be recovered or purged.",
        )
    now = int(time.time())
    attrs = {k: v for k, v in (body.get("attributes") or {}).items() if k in ("enabled", "nbf", "exp")}
    entry = {
        "version": uuid.uuid4().hex,
        "value": body["value"],
        "contentType": body.get("contentType"),
        "tags": body.get("tags") or {},
        "attributes": {"enabled": True, **attrs, "created": now, "updated": now},
    }
    secrets = req.sim.control.setdefault(SECRETS, {})
    secrets.setdefault(name.lower(), {"name": name, "versions": []})["versions"].append(entry)
    req.sim.persist()
    return web.json_response(_bundle(req, secrets[name.lower()]["name"], entry))


def _entry(req: SimRequest, name: str, version: str) -> tuple[str, dict[str, Any]]:
    secret = req.sim.control.get(SECRETS, {}).get(name.lower())
    if secret is None:
        raise _not_found(name, version)
    if not version:
        return secret["name"], secret["versions"][-1]
    for entry in secret["versions"]:
        if entry["version"] == version:
            return secret["name"], entry
    raise _not_found(name, version)


async def get_secret(req: SimRequest) -> web.StreamResponse:
    _challenge(req)
    name, entry = _entry(req, _name(req), req.params.get("version", ""))
    if not entry["attributes"].get("enabled", True):
        raise SimError(403, "Forbidden", "Operation get is not allowed on a disabled secret.")
    return web.json_response(_bundle(req, name, entry))


def _item(req: SimRequest, name: str, entry: dict[str, Any], *, with_version: bool) -> dict[str, Any]:
    item = _bundle(req, name, entry, value=False)
    if not with_version:
        item["id"] = f"{req.base_url}/secrets/{name}"
    return item


async def list_secrets(req: SimRequest) -> web.StreamResponse:
    _challenge(req)
    secrets = req.sim.control.get(SECRETS, {}).values()
    items = [_item(req, s["name"], s["versions"][-1], with_version=False) for s in secrets]
    return web.json_response({"value": items, "nextLink": None})


async def list_versions(req: SimRequest) -> web.StreamResponse:
    _challenge(req)
    secret = req.sim.control.get(SECRETS, {}).get(_name(req).lower())
    if secret is None:
        raise _not_found(req.params["name"])
    items = [_item(req, secret["name"], e, with_version=True) for e in secret["versions"]]
    return web.json_response({"value": items, "nextLink": None})


def _deleted_bundle(req: SimRequest, deleted: dict[str, Any]) -> dict[str, Any]:
    out = _bundle(req, deleted["name"], deleted["versions"][-1], value=False)
    out["recoveryId"] = f"{req.base_url}/deletedsecrets/{deleted['name']}"
    out["deletedDate"] = deleted["deletedDate"]
    out["scheduledPurgeDate"] = deleted["deletedDate"] + _RECOVERABLE_DAYS * 86400
    return out


async def delete_secret(req: SimRequest) -> web.StreamResponse:
    _challenge(req)
    name = _name(req)
    secret = req.sim.control.get(SECRETS, {}).pop(name.lower(), None)
    if secret is None:
        raise _not_found(name)
    deleted = {**secret, "deletedDate": int(time.time())}
    req.sim.control.setdefault(DELETED, {})[name.lower()] = deleted
    req.sim.persist()
    return web.json_response(_deleted_bundle(req, deleted))


def _deleted(req: SimRequest) -> dict[str, Any]:
    deleted: dict[str, Any] | None = req.sim.control.get(DELETED, {}).get(_name(req).lower())
    if deleted is None:
        raise SimError(404, "SecretNotFound", f"Deleted Secret not found: {req.params['name']}")
    return deleted


async def get_deleted(req: SimRequest) -> web.StreamResponse:
    _challenge(req)
    return web.json_response(_deleted_bundle(req, _deleted(req)))


async def purge_deleted(req: SimRequest) -> web.StreamResponse:
    _challenge(req)
    deleted = _deleted(req)
    req.sim.control[DELETED].pop(deleted["name"].lower())
    req.sim.persist()
    return web.Response(status=204)


async def recover_deleted(req: SimRequest) -> web.StreamResponse:
    _challenge(req)
    deleted = _deleted(req)
    req.sim.control[DELETED].pop(deleted["name"].lower())
    secret = {"name": deleted["name"], "versions": deleted["versions"]}
    req.sim.control.setdefault(SECRETS, {})[deleted["name"].lower()] = secret
    req.sim.persist()
    return web.json_response(_bundle(req, secret["name"], secret["versions"][-1], value=False))


def register(router: Router) -> None:
    router.add("PUT", "/secrets/{name}", set_secret, op="keyvault.secret.set")
    router.add("GET", "/secrets/{name}", get_secret, op="keyvault.secret.get")
    router.add("GET", "/secrets/{name}/versions", list_versions, op="keyvault.secret.list")
    router.add("GET", "/secrets/{name}/{version}", get_secret, op="keyvault.secret.get")
    router.add("DELETE", "/secrets/{name}", delete_secret, op="keyvault.secret.delete")
    router.add("GET", "/secrets", list_secrets, op="keyvault.secret.list")
    router.add("GET", "/deletedsecrets/{name}", get_deleted, op="keyvault.secret.get")
    router.add("DELETE", "/deletedsecrets/{name}", purge_deleted, op="keyvault.secret.delete")
    router.add("POST", "/deletedsecrets/{name}/recover", recover_deleted, op="keyvault.secret.recover")
