"""Who uses a network resource: the back-references Azure computes, the "in use" conflicts of a delete, and
the served form of a network resource."""

from __future__ import annotations

from typing import Any

from azuresim.errors import SimError
from azuresim.state import ResourceStore, public

NS = "Microsoft.Network"
VNET = "Microsoft.Network/virtualNetworks"
SUBNET = "Microsoft.Network/virtualNetworks/subnets"
NIC = "Microsoft.Network/networkInterfaces"
NSG = "Microsoft.Network/networkSecurityGroups"
PIP = "Microsoft.Network/publicIPAddresses"
VM = "Microsoft.Compute/virtualMachines"


def nics_using(store: ResourceStore, key: str, target_id: str) -> list[str]:
    """Ids of the NIC IP configurations (or NICs, for an NSG) that reference ``target_id`` under ``key``."""
    target = target_id.lower()
    found: list[str] = []
    for nic in store.list(type=NIC):
        if key == "networkSecurityGroup":
            if str((nic["properties"].get(key) or {}).get("id", "")).lower() == target:
                found.append(nic["id"])
            continue
        for config in nic["properties"].get("ipConfigurations", []):
            if str((config["properties"].get(key) or {}).get("id", "")).lower() == target:
                found.append(config["id"])
    return found


def vm_using_nic(store: ResourceStore, nic: dict[str, Any]) -> str | None:
    attached = (nic["properties"].get("virtualMachine") or {}).get("id")
    if attached and store.get(attached) is not None:
        return str(store.get(attached)["id"])  # type: ignore[index]
    for vm in store.list(type=VM):
        for ref in (vm.get("properties", {}).get("networkProfile") or {}).get("networkInterfaces") or []:
            if isinstance(ref, dict) and str(ref.get("id", "")).lower() == nic["id"].lower():
                return str(vm["id"])
    return None


def delete(store: ResourceStore, resource: dict[str, Any]) -> None:
    """Delete a network resource and its children; a NIC takes along the public IPs it references with
    ``deleteOption: Delete``."""
    cascade: list[str] = []
    if resource["type"] == NIC:
        for config in resource["properties"].get("ipConfigurations", []):
            ref = config["properties"].get("publicIPAddress") or {}
            if str((ref.get("properties") or {}).get("deleteOption", "")).lower() == "delete":
                cascade.append(str(ref.get("id")))
    for child in store.children(resource["id"]):
        store.delete(child["id"])
    store.delete(resource["id"])
    for pip_id in cascade:
        store.delete(pip_id)


def users_of(store: ResourceStore, resource: dict[str, Any]) -> list[str]:
    """Ids of what keeps ``resource`` in use: a NIC's VM, a public IP's or subnet's IP configurations, an
    NSG's NICs and subnets, the users of a VNet's subnets."""
    rid, kind = resource["id"], resource["type"]
    if kind == NIC:
        vm = vm_using_nic(store, resource)
        return [vm] if vm else []
    if kind == PIP:
        return nics_using(store, "publicIPAddress", rid)
    if kind == SUBNET:
        return nics_using(store, "subnet", rid)
    if kind == NSG:
        return nics_using(store, "networkSecurityGroup", rid) + [
            s["id"]
            for s in store.list(type=SUBNET)
            if str((s["properties"].get("networkSecurityGroup") or {}).get("id", "")).lower() == rid.lower()
        ]
    if kind == VNET:
        return [u for c in store.children(rid) if c["type"] == SUBNET for u in users_of(store, c)]
    return []


# Azure's wording of each deletion-order conflict: (code, message template).
_CONFLICTS = {
    NIC: (
        "NicInUse",
        "Network Interface {id} is used by existing resource {user}. In order to delete the network "
        "interface, it must be dissociated from the resource. To learn more, see aka.ms/deletenic.",
    ),
    PIP: (
        "PublicIPAddressCannotBeDeleted",
        "Public IP address {id} can not be deleted since it is still allocated to resource {user}. In "
        "order to delete the public IP, disassociate/detach the Public IP address from the resource. To "
        "learn how to do this, see aka.ms/deletepublicip.",
    ),
    NSG: (
        "InUseNetworkSecurityGroupCannotBeDeleted",
        "Network security group {id} cannot be deleted because it is in use by the following resources: "
        "{users}. In order to delete the Network security group, remove the association with the "
        "resource(s). To learn how to do this, see aka.ms/deletensg.",
    ),
    SUBNET: (
        "InUseSubnetCannotBeDeleted",
        "Subnet {name} is in use by {user} and cannot be deleted. In order to delete the subnet, delete "
        "all the resources within the subnet. See aka.ms/deletesubnet.",
    ),
}


def check_delete(store: ResourceStore, resource: dict[str, Any]) -> None:
    """Raise the 400 Azure answers when ``resource`` is still in use (the deletion-order conflicts)."""
    users = users_of(store, resource)
    if not users:
        return
    if resource["type"] == VNET:
        # A VNet is blocked by its busy subnet, and Azure names the subnet.
        subnet = next(c for c in store.children(resource["id"]) if c["type"] == SUBNET and users_of(store, c))
        check_delete(store, subnet)
        return
    code, template = _CONFLICTS[resource["type"]]
    message = template.format(id=resource["id"], name=resource["name"], user=users[0], users=", ".join(users))
    raise SimError(400, code, message)


def served(store: ResourceStore, resource: dict[str, Any]) -> dict[str, Any]:
    """The resource as Azure serves it, with embedded subnets and computed back-references."""
    out = public(resource)
    props = out["properties"] = dict(out.get("properties") or {})
    kind = resource["type"]
    if kind == VNET:
        props["subnets"] = [served(store, s) for s in store.children(resource["id"]) if s["type"] == SUBNET]
    elif kind == SUBNET:
        users = nics_using(store, "subnet", resource["id"])
        if users:
            props["ipConfigurations"] = [{"id": u} for u in users]
    elif kind == PIP:
        users = nics_using(store, "publicIPAddress", resource["id"])
        if users:
            props["ipConfiguration"] = {"id": users[0]}
    elif kind == NIC:
        vm = vm_using_nic(store, resource)
        if vm:
            props["virtualMachine"] = {"id": vm}
    elif kind == NSG:
        nics = nics_using(store, "networkSecurityGroup", resource["id"])
        if nics:
            props["networkInterfaces"] = [{"id": n} for n in nics]
    return out
