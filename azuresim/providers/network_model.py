"""Microsoft.Network resources as azuresim stores them, their validation and their "in use" conflicts.

Both the REST handlers (``network.py``) and the deployment engine create resources through ``create``. Subnets
are stored as child resources and embedded into their virtual network when it is served; the back-references
Azure shows (a NIC's ``virtualMachine``, a public IP's ``ipConfiguration``, a subnet's ``ipConfigurations``)
are computed from the store when served, so they never go stale.
"""

from __future__ import annotations

import copy
import ipaddress
import uuid
from typing import Any

from azuresim.errors import SimError
from azuresim.providers.network_usage import NIC, NS, NSG, PIP, SUBNET, VM, VNET, check_delete, nics_using
from azuresim.state import ResourceStore

__all__ = ["NIC", "NS", "NSG", "PIP", "SUBNET", "VM", "VNET", "create"]


def _props(body: dict[str, Any]) -> dict[str, Any]:
    props = body.get("properties") or {}
    if not isinstance(props, dict):
        raise SimError(400, "InvalidRequestFormat", "properties must be an object.", target="properties")
    return copy.deepcopy(props)


def _network(value: Any, target: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(str(value), strict=False)
    except ValueError as exc:
        raise SimError(
            400, "InvalidAddressPrefixFormat", f"Address prefix {value} does not have a valid format.", target
        ) from exc


def _ref(store: ResourceStore, owner_id: str, ref: Any, target: str) -> dict[str, Any]:
    """The resource a ``{"id": ...}`` reference names, or 400 InvalidResourceReference as Azure words it."""
    ref_id = ref.get("id") if isinstance(ref, dict) else None
    found = store.get(str(ref_id)) if ref_id else None
    if found is None:
        raise SimError(
            400,
            "InvalidResourceReference",
            f"Resource {ref_id} referenced by resource {owner_id} was not found. Please make sure that the "
            "referenced resource exists, and that both resources are in the same region.",
            target,
        )
    return found


def _base(body: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    props["provisioningState"] = "Succeeded"
    props.setdefault("resourceGuid", str(uuid.uuid4()))
    out: dict[str, Any] = {
        "location": str(body.get("location", "")).replace(" ", "").lower(),
        "properties": props,
    }
    out["tags"] = dict(body.get("tags") or {})
    out["etag"] = f'W/"{uuid.uuid4()}"'
    if body.get("sku"):
        out["sku"] = body["sku"]
    return out


def create(store: ResourceStore, resource_id: str, type_name: str, body: dict[str, Any]) -> dict[str, Any]:
    """Validate and store one network resource (create or replace); returns the stored resource."""
    if type_name == SUBNET:
        return _subnet(store, resource_id, body)
    makers = {VNET: _vnet, NIC: _nic, NSG: _nsg, PIP: _pip}
    return makers[type_name](store, resource_id, body)


def _vnet(store: ResourceStore, vnet_id: str, body: dict[str, Any]) -> dict[str, Any]:
    props = _props(body)
    prefixes = (props.get("addressSpace") or {}).get("addressPrefixes") or []
    if not prefixes:
        raise SimError(
            400,
            "InvalidRequestFormat",
            "addressSpace.addressPrefixes is required.",
            "properties.addressSpace",
        )
    spaces = [_network(p, "properties.addressSpace.addressPrefixes") for p in prefixes]
    subnets = props.pop("subnets", None) or []
    wanted = {str(s.get("name", "")).lower() for s in subnets}
    for child in store.children(vnet_id):
        if child["type"] == SUBNET and child["name"].lower() not in wanted:
            check_delete(store, child)
    vnet = store.put(vnet_id, _base(body, props))
    for child in store.children(vnet["id"]):
        if child["type"] == SUBNET and child["name"].lower() not in wanted:
            store.delete(child["id"])
    for sub in subnets:
        if not sub.get("name"):
            raise SimError(
                400, "InvalidRequestFormat", "Each subnet needs a name.", "properties.subnets.name"
            )
        _subnet(store, f"{vnet['id']}/subnets/{sub['name']}", sub, spaces=spaces)
    return vnet


def _subnet(
    store: ResourceStore, subnet_id: str, body: dict[str, Any], spaces: list[Any] | None = None
) -> dict[str, Any]:
    props = _props(body)
    vnet_id = subnet_id.rsplit("/subnets/", 1)[0]
    if spaces is None:
        vnet = store.get(vnet_id)
        if vnet is None:
            raise SimError(
                404, "ResourceNotFound", f"The Resource '{VNET}/{vnet_id.rsplit('/', 1)[1]}' was not found."
            )
        spaces = [_network(p, "addressSpace") for p in vnet["properties"]["addressSpace"]["addressPrefixes"]]
    prefix = props.get("addressPrefix") or (props.get("addressPrefixes") or [None])[0]
    if not prefix:
        raise SimError(400, "InvalidRequestFormat", "addressPrefix is required.", "properties.addressPrefix")
    net = _network(prefix, "properties.addressPrefix")
    if not any(net.version == s.version and net.subnet_of(s) for s in spaces):
        raise SimError(
            400,
            "NetcfgSubnetRangeOutsideVnet",
            f"Subnet '{subnet_id.rsplit('/', 1)[1]}' is not valid because its IP address range is outside "
            "the IP address range of virtual network.",
            "properties.addressPrefix",
        )
    if props.get("networkSecurityGroup"):
        _ref(store, subnet_id, props["networkSecurityGroup"], "properties.networkSecurityGroup")
    props.pop("ipConfigurations", None)
    resource = _base(body, props)
    resource.pop("location")
    resource.pop("tags")
    return store.put(subnet_id, resource)


def _nsg(store: ResourceStore, nsg_id: str, body: dict[str, Any]) -> dict[str, Any]:
    props = _props(body)
    for rule in props.get("securityRules") or []:
        rule["id"] = f"{nsg_id}/securityRules/{rule.get('name')}"
        rule.setdefault("properties", {})["provisioningState"] = "Succeeded"
    props.pop("networkInterfaces", None)
    props.pop("subnets", None)
    return store.put(nsg_id, _base(body, props))


def _pip(store: ResourceStore, pip_id: str, body: dict[str, Any]) -> dict[str, Any]:
    props = _props(body)
    props.setdefault("publicIPAllocationMethod", "Static")
    props.setdefault("publicIPAddressVersion", "IPv4")
    props.setdefault("idleTimeoutInMinutes", 4)
    existing = store.get(pip_id)
    old_ip = existing["properties"].get("ipAddress") if existing else None
    props["ipAddress"] = (
        old_ip or f"20.{uuid.uuid4().int % 250 + 1}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    )
    props.pop("ipConfiguration", None)
    resource = _base(body, props)
    resource.setdefault("sku", {"name": "Standard", "tier": "Regional"})
    return store.put(pip_id, resource)


def _nic(store: ResourceStore, nic_id: str, body: dict[str, Any]) -> dict[str, Any]:
    props = _props(body)
    configs = props.get("ipConfigurations") or []
    if not configs:
        raise SimError(
            400,
            "InvalidRequestFormat",
            "Network interface must have at least one IP configuration.",
            "properties.ipConfigurations",
        )
    if props.get("networkSecurityGroup"):
        _ref(store, nic_id, props["networkSecurityGroup"], "properties.networkSecurityGroup")
    for i, config in enumerate(configs):
        _nic_config(store, nic_id, config, primary=i == 0)
    props.pop("virtualMachine", None)
    props.setdefault("enableAcceleratedNetworking", False)
    props["macAddress"] = "00-0D-3A-" + "-".join(f"{b:02X}" for b in uuid.uuid4().bytes[:3])
    return store.put(nic_id, _base(body, props))


def _nic_config(store: ResourceStore, nic_id: str, config: dict[str, Any], *, primary: bool) -> None:
    cprops = config.setdefault("properties", {})
    config["id"] = f"{nic_id}/ipConfigurations/{config.get('name', 'ipconfig1')}"
    subnet = _ref(store, nic_id, cprops.get("subnet"), "properties.ipConfigurations.properties.subnet")
    cprops["subnet"] = {"id": subnet["id"]}
    if cprops.get("publicIPAddress"):
        pip = _ref(
            store, nic_id, cprops["publicIPAddress"], "properties.ipConfigurations.properties.publicIPAddress"
        )
        # Its own IP configurations do not count: a re-PUT of the same NIC keeps its public IP.
        mine = nic_id.lower() + "/"
        users = [u for u in nics_using(store, "publicIPAddress", pip["id"]) if not u.lower().startswith(mine)]
        if users:
            raise SimError(
                400,
                "PublicIPAddressInUse",
                f"Resource {pip['id']} is referenced by resource {users[0]}, so it cannot be used by "
                f"{nic_id}.",
            )
        # Keep the reference's own properties (deleteOption: Delete removes the IP with the NIC).
        cprops["publicIPAddress"] = {**cprops["publicIPAddress"], "id": pip["id"]}
    cprops.setdefault("privateIPAllocationMethod", "Dynamic")
    cprops.setdefault("privateIPAddressVersion", "IPv4")
    cprops["primary"] = cprops.get("primary", primary)
    cprops["provisioningState"] = "Succeeded"
    if not cprops.get("privateIPAddress"):
        cprops["privateIPAddress"] = _next_ip(store, subnet, nic_id)


def _next_ip(store: ResourceStore, subnet: dict[str, Any], nic_id: str) -> str:
    net = ipaddress.ip_network(subnet["properties"]["addressPrefix"], strict=False)
    used = {
        c["properties"].get("privateIPAddress")
        for n in store.list(type=NIC)
        if n["id"].lower() != nic_id.lower()
        for c in n["properties"].get("ipConfigurations", [])
        if str(c["properties"].get("subnet", {}).get("id", "")).lower() == subnet["id"].lower()
    }
    # Azure reserves the first four addresses of every subnet.
    for i, host in enumerate(net.hosts()):
        if i >= 3 and str(host) not in used:
            return str(host)
    raise SimError(400, "SubnetIsFull", f"Subnet {subnet['name']} has no free address.")
