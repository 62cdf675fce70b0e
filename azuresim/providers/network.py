"""Microsoft.Network REST endpoints: virtual networks (+ subnets), NSGs, public IPs, NICs.

PUT answers 201 (new) or 200 (same name again: the same resource, same id) with ``Azure-AsyncOperation``;
DELETE answers 202 as an LRO, 204 when there is nothing to delete, and 400 with Azure's code when the resource
is still in use (NicInUse, PublicIPAddressCannotBeDeleted, InUseNetworkSecurityGroupCannotBeDeleted,
InUseSubnetCannotBeDeleted).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from azuresim import lro
from azuresim.providers import network_model as model
from azuresim.providers import network_usage as usage
from azuresim.providers.common import body_object, get_or_404, require_location, require_rg, rg_id
from azuresim.router import Router, SimRequest
from azuresim.state import canonicalize

Handler = Callable[[SimRequest], Awaitable[web.StreamResponse]]

# (URL type path, full type, op prefix)
_KINDS = [
    ("virtualNetworks/{name}", model.VNET, "network.vnet"),
    ("virtualNetworks/{vnet}/subnets/{name}", model.SUBNET, "network.subnet"),
    ("networkSecurityGroups/{name}", model.NSG, "network.nsg"),
    ("publicIPAddresses/{name}", model.PIP, "network.pip"),
    ("networkInterfaces/{name}", model.NIC, "network.nic"),
]


def _resource_id(req: SimRequest, type_name: str) -> str:
    base = f"{rg_id(req.params['sub'], req.params['rg'])}/providers/{model.NS}"
    if type_name == model.SUBNET:
        return canonicalize(f"{base}/virtualNetworks/{req.params['vnet']}/subnets/{req.params['name']}")
    return canonicalize(f"{base}/{type_name.split('/', 1)[1]}/{req.params['name']}")


def _put(type_name: str, op: str) -> Handler:
    async def handler(req: SimRequest) -> web.StreamResponse:
        require_rg(req)
        body = body_object(req)
        if type_name != model.SUBNET:
            require_location(body)
        resource_id = _resource_id(req, type_name)
        existed = req.sim.store.get(resource_id) is not None
        stored = model.create(req.sim.store, resource_id, type_name, body)
        # The Network RP shows "Updating" while a PUT runs, for a create as for an update.
        stored["properties"]["provisioningState"] = "Updating"
        return await lro.begin(
            req,
            op=f"{op}.put",
            resource_id=stored["id"],
            status=200 if existed else 201,
            body=usage.served(req.sim.store, stored),
            location=stored.get("location") or "eastus",
            start_state="Updating",
        )

    return handler


def _get(type_name: str) -> Handler:
    async def handler(req: SimRequest) -> web.StreamResponse:
        resource = get_or_404(req, _resource_id(req, type_name), type_name)
        return web.json_response(usage.served(req.sim.store, resource))

    return handler


def _delete(type_name: str, op: str) -> Handler:
    async def handler(req: SimRequest) -> web.StreamResponse:
        store = req.sim.store
        resource = store.get(_resource_id(req, type_name))
        if resource is None:
            require_rg(req)
            return web.Response(status=204)
        usage.check_delete(store, resource)

        async def work() -> None:
            usage.delete(store, resource)

        return await lro.begin(
            req,
            op=f"{op}.delete",
            resource_id=resource["id"],
            work=work,
            location=resource.get("location") or "eastus",
        )

    return handler


def _list(type_name: str) -> Handler:
    async def handler(req: SimRequest) -> web.StreamResponse:
        require_rg(req)
        store = req.sim.store
        if type_name == model.SUBNET:
            vnet_id = (
                f"{rg_id(req.params['sub'], req.params['rg'])}/providers/{model.VNET}/{req.params['vnet']}"
            )
            vnet = get_or_404(req, vnet_id, model.VNET)
            items = [s for s in store.children(vnet["id"]) if s["type"] == model.SUBNET]
        else:
            items = store.list(resource_group=(req.params["sub"], req.params["rg"]), type=type_name)
        return web.json_response({"value": [usage.served(store, r) for r in items]})

    return handler


def register(router: Router) -> None:
    base = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/"
    for path, type_name, op in _KINDS:
        router.add("PUT", base + path, _put(type_name, op), op=f"{op}.put")
        router.add("GET", base + path, _get(type_name), op=f"{op}.get")
        router.add("DELETE", base + path, _delete(type_name, op), op=f"{op}.delete")
        router.add("GET", base + path.rsplit("/", 1)[0], _list(type_name), op=f"{op}.list")
