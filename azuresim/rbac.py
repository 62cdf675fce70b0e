"""Azure RBAC: role definitions, role assignments inherited down the scope tree, and ARM's 403.

Who calls comes from the bearer token. azuresim checks no signature; a token that is a JWT names its caller
by its ``oid`` claim (``sim_token(principal_id)`` makes one), and every request of that caller must be
allowed by a role assigned to it at the request's scope or above. Any other token (the fixed token of kiln's
sim mode, the tests' ``SimCredential``) is the subscription's owner, ``OWNER_PRINCIPAL``, who may do
anything: azuresim's existing callers keep working while a principal with a token of its own sees RBAC.

- **Role definitions**: the built-ins below (their real ids) at every scope, and custom roles
  (``PUT {scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}`` with ``roleName`` and
  ``permissions: [{actions, notActions, dataActions, notDataActions}]``); ``*`` matches any run of
  characters, matching ignores case, a permission block allows an action its ``actions`` match unless its
  ``notActions`` match too.
- **Actions** are derived from the request as ARM derives them: ``{namespace}/{types}/read`` for GET (of a
  resource or a collection), ``write`` for PUT and PATCH, ``delete``, ``{…}/{name}/action`` for POST; the
  scope is the resource id (a collection's parent). The Key Vault data plane checks the data actions
  ``Microsoft.KeyVault/vaults/secrets/{getSecret|setSecret|delete|readMetadata}/action`` over the vault.
- **403**: ``AuthorizationFailed`` with ARM's message naming the client, the action and the scope.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from aiohttp import web

from azuresim.errors import SimError
from azuresim.providers.common import body_object, ok
from azuresim.router import Router, SimRequest
from azuresim.state import ResourceStore, public, register_type

DEFINITION_TYPE = "Microsoft.Authorization/roleDefinitions"
ASSIGNMENT_TYPE = "Microsoft.Authorization/roleAssignments"
OWNER_PRINCIPAL = "00000000-0000-0000-0000-00000000a11c"
register_type(DEFINITION_TYPE)

_ALL_READ = ["*/read"]
# name -> (guid, actions, notActions, dataActions): the built-ins kiln's docs and examples name.
BUILT_IN: dict[str, tuple[str, list[str], list[str], list[str]]] = {
    "Owner": ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", ["*"], [], []),
    "Contributor": (
        "b24988ac-6180-42a0-ab88-20f7382dd24c",
        ["*"],
        [
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
        ],
        [],
    ),
    "Reader": ("acdd72a7-3385-48ef-bd42-f606fba81ae7", _ALL_READ, [], []),
    "Managed Identity Operator": (
        "f1a07417-d97a-45cb-824c-7a7467783830",
        [
            "Microsoft.ManagedIdentity/userAssignedIdentities/*/read",
            "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action",
            "Microsoft.Authorization/*/read",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Resources/deployments/*",
        ],
        [],
        [],
    ),
    "Storage Blob Data Reader": (
        "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
        ["Microsoft.Storage/storageAccounts/blobServices/containers/read"],
        [],
        ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"],
    ),
    "Storage Blob Data Contributor": (
        "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
        ["Microsoft.Storage/storageAccounts/blobServices/containers/*"],
        [],
        ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"],
    ),
    "Key Vault Secrets User": (
        "4633458b-17de-408a-b874-0445c86b69e6",
        [],
        [],
        [
            "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
        ],
    ),
    "Key Vault Secrets Officer": (
        "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
        ["Microsoft.Authorization/*/read", "Microsoft.KeyVault/vaults/*/read"],
        [],
        ["Microsoft.KeyVault/vaults/secrets/*"],
    ),
}
_BUILT_IN_BY_GUID = {guid: name for name, (guid, *_rest) in BUILT_IN.items()}


def sim_token(principal_id: str, **claims: Any) -> str:
    """An unsigned JWT naming ``principal_id`` (``oid``): what a caller with an identity of its own sends."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return ".".join([part({"alg": "none", "typ": "JWT"}), part({"oid": principal_id, **claims}), "sim"])


def principal_of(headers: Mapping[str, str]) -> str:
    """The caller the bearer token names (``OWNER_PRINCIPAL`` for a token that is not a JWT)."""
    token = (headers.get("Authorization") or "").partition(" ")[2].strip()
    parts = token.split(".")
    if len(parts) != 3:
        return OWNER_PRINCIPAL
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return OWNER_PRINCIPAL
    oid = claims.get("oid") if isinstance(claims, dict) else None
    return str(oid) if oid else OWNER_PRINCIPAL


# -- actions --------------------------------------------------------------------------------------
def arm_action(method: str, path: str) -> tuple[str, str]:
    """(action, scope) ARM checks for ``method path``."""
    segments = [s for s in path.split("/") if s]
    method = method.upper()
    verb_segment = segments.pop() if method == "POST" and len(segments) > 2 else None
    low = [s.lower() for s in segments]
    if "providers" in low:
        at = len(low) - 1 - low[::-1].index("providers")
        namespace, rest = (segments[at + 1], segments[at + 2 :]) if at + 1 < len(segments) else ("", [])
    elif "deployments" in low:
        namespace, rest = "Microsoft.Resources", segments[low.index("deployments") :]
    else:
        namespace, rest = "Microsoft.Resources", _resources_types(segments)
    types = rest[0::2]
    collection = len(rest) % 2 == 1
    scope_parts = segments[:-1] if collection else segments
    if collection and len(rest) == 1 and len(scope_parts) >= 2 and scope_parts[-2].lower() == "providers":
        scope_parts = scope_parts[:-2]  # a provider's top-level collection: its parent is the scope
    scope = "/" + "/".join(scope_parts) if scope_parts else "/"
    full = "/".join([namespace, *types]) if namespace else "/".join(types)
    if verb_segment is not None:
        return f"{full}/{verb_segment}/action", scope
    verb = {"GET": "read", "HEAD": "read", "PUT": "write", "PATCH": "write", "DELETE": "delete"}.get(
        method, "read"
    )
    return f"{full}/{verb}", scope


def _resources_types(segments: list[str]) -> list[str]:
    """``/subscriptions/s/resourceGroups/rg/resources`` → the Microsoft.Resources types and names."""
    out: list[str] = []
    for i, segment in enumerate(segments):
        out.append(segment if i % 2 else {"resourcegroups": "resourceGroups"}.get(segment.lower(), segment))
    return out


_VAULT_ACTIONS = {"GET": "getSecret", "PUT": "setSecret", "DELETE": "delete"}


def vault_action(method: str, path: str) -> str:
    """The data action of a Key Vault secrets request."""
    parts = [p for p in path.split("/") if p]
    if method.upper() == "GET" and (len(parts) == 1 or parts[-1] == "versions"):
        return "Microsoft.KeyVault/vaults/secrets/readMetadata/action"
    if parts and parts[0] == "deletedsecrets":
        return "Microsoft.KeyVault/vaults/secrets/purge/action"
    return f"Microsoft.KeyVault/vaults/secrets/{_VAULT_ACTIONS.get(method.upper(), 'getSecret')}/action"


# -- evaluation -----------------------------------------------------------------------------------
def _pattern(action: str) -> re.Pattern[str]:
    # "a/*/b" also matches "a/b" (Managed Identity Operator: ".../*/assign/action").
    parts = [".*".join(re.escape(p) for p in piece.split("*")) for piece in action.split("/*/")]
    return re.compile("^" + "/(?:.*/)?".join(parts) + "$", re.IGNORECASE)


def matches(patterns: Iterable[str], action: str) -> bool:
    return any(_pattern(p).match(action) for p in patterns)


def _within(scope: str, assigned: str) -> bool:
    """Whether ``scope`` is ``assigned`` or below it (segment-wise, ignoring case)."""
    inner, outer = scope.rstrip("/").lower(), assigned.rstrip("/").lower()
    return outer in ("", "/") or inner == outer or inner.startswith(outer + "/")


def definition(store: ResourceStore, role_definition_id: str) -> dict[str, Any] | None:
    """A role definition by id: a built-in (at any scope) or a custom one in the store."""
    guid = role_definition_id.rstrip("/").rsplit("/", 1)[-1].lower()
    name = _BUILT_IN_BY_GUID.get(guid)
    if name is not None:
        return _built_in(name, role_definition_id)
    for found in store.list(type=DEFINITION_TYPE):
        if found["id"].rsplit("/", 1)[-1].lower() == guid:
            return found
    return None


def _built_in(name: str, role_definition_id: str) -> dict[str, Any]:
    guid, actions, not_actions, data_actions = BUILT_IN[name]
    return {
        "id": role_definition_id,
        "name": guid,
        "type": DEFINITION_TYPE,
        "properties": {
            "roleName": name,
            "type": "BuiltInRole",
            "assignableScopes": ["/"],
            "permissions": [
                {
                    "actions": actions,
                    "notActions": not_actions,
                    "dataActions": data_actions,
                    "notDataActions": [],
                }
            ],
        },
    }


def allowed(store: ResourceStore, principal: str, action: str, scope: str, *, data: bool = False) -> bool:
    """Whether a role assigned to ``principal`` at ``scope`` or above allows ``action``."""
    if principal == OWNER_PRINCIPAL:
        return True
    for assignment in store.list(type=ASSIGNMENT_TYPE):
        props = assignment["properties"]
        if str(props.get("principalId", "")).lower() != principal.lower() or not _within(
            scope, props["scope"]
        ):
            continue
        role = definition(store, str(props.get("roleDefinitionId", "")))
        for block in (role or {}).get("properties", {}).get("permissions", []):
            yes, no = ("dataActions", "notDataActions") if data else ("actions", "notActions")
            if matches(block.get(yes) or [], action) and not matches(block.get(no) or [], action):
                return True
    return False


def check(
    store: ResourceStore, headers: Mapping[str, str], action: str, scope: str, *, data: bool = False
) -> None:
    """Raise ARM's 403 ``AuthorizationFailed`` unless the caller may perform ``action`` over ``scope``."""
    principal = principal_of(headers)
    if allowed(store, principal, action, scope, data=data):
        return
    raise SimError(
        403,
        "AuthorizationFailed",
        f"The client '{principal}' with object id '{principal}' does not have authorization to perform "
        f"action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, "
        "please refresh your credentials.",
    )


# -- custom role definitions ----------------------------------------------------------------------
def _definition_id(req: SimRequest) -> str:
    return "/" + req.params["scope"].strip("/") + f"/providers/{DEFINITION_TYPE}/{req.params['name']}"


async def put_definition(req: SimRequest) -> web.StreamResponse:
    props = dict(body_object(req).get("properties") or {})
    if not props.get("roleName") or not isinstance(props.get("permissions"), list):
        raise SimError(
            400, "InvalidRoleDefinition", "properties.roleName and properties.permissions are required."
        )
    props.setdefault("type", "CustomRole")
    props.setdefault("assignableScopes", ["/" + req.params["scope"].strip("/")])
    resource_id = _definition_id(req)
    existed = req.sim.store.get(resource_id) is not None
    return ok(req.sim.store.put(resource_id, {"properties": props}), 200 if existed else 201)


async def get_definition(req: SimRequest) -> web.StreamResponse:
    found = definition(req.sim.store, _definition_id(req))
    if found is None:
        raise SimError(404, "RoleDefinitionDoesNotExist", "The specified role definition does not exist.")
    return ok(
        public(found) if "id" in found and found.get("properties", {}).get("type") != "BuiltInRole" else found
    )


async def delete_definition(req: SimRequest) -> web.StreamResponse:
    found = req.sim.store.get(_definition_id(req))
    if found is None:
        return web.Response(status=204)
    req.sim.store.delete(_definition_id(req))
    return ok(public(found))


async def list_definitions(req: SimRequest) -> web.StreamResponse:
    scope = "/" + req.params["scope"].strip("/")
    built_in = [
        _built_in(name, f"{scope}/providers/{DEFINITION_TYPE}/{guid}")
        for name, (guid, *_r) in BUILT_IN.items()
    ]
    custom = [public(d) for d in req.sim.store.list(type=DEFINITION_TYPE)]
    wanted = req.query.get("$filter", "")
    name = re.search(r"roleName eq '([^']*)'", wanted)
    found = [d for d in built_in + custom if name is None or d["properties"]["roleName"] == name.group(1)]
    return web.json_response({"value": found})


def register(router: Router) -> None:
    defs = "/{scope:path}/providers/Microsoft.Authorization/roleDefinitions"
    router.add("PUT", defs + "/{name}", put_definition, op="authorization.definition.put")
    router.add("GET", defs + "/{name}", get_definition, op="authorization.definition.get")
    router.add("DELETE", defs + "/{name}", delete_definition, op="authorization.definition.delete")
    router.add("GET", defs, list_definitions, op="authorization.definition.list")
