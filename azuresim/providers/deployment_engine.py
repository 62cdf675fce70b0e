"""The deployment engine: validate a template, order its resources by ``dependsOn``, create them.

Resources of the types azuresim serves are created through their providers (so a deployed VM, NIC or storage
account is the same resource a direct PUT makes); any other type is stored as given. Each resource waits its
type's latency (``<provider>.<type>.put``) before it is created; independent resources are created in
parallel.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from azuresim.errors import SimError
from azuresim.providers import identity, network_model, storage
from azuresim.providers.deployment_params import Prepared
from azuresim.state import public
from azuresim.template import Context, evaluate, invalid

_TEMPLATE_KEYS = {"type", "apiVersion", "name", "dependsOn", "condition", "comments", "metadata", "scope"}
_OPS = {
    network_model.VNET: "network.vnet.put",
    network_model.SUBNET: "network.subnet.put",
    network_model.NSG: "network.nsg.put",
    network_model.PIP: "network.pip.put",
    network_model.NIC: "network.nic.put",
    storage.TYPE: "storage.account.put",
    identity.TYPE: "identity.user.put",
    "Microsoft.Compute/virtualMachines": "compute.vm.put",
}


def now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Planned:
    index: int
    type: str
    id: str
    name: str
    api_version: str
    raw: dict[str, Any]
    depends: set[int] = field(default_factory=set)


def plan(prepared: Prepared, ctx: Context) -> list[Planned]:
    """Resource ids and the dependency graph; InvalidTemplate for unknown dependencies or a cycle."""
    from azuresim.template import resource_id

    planned: list[Planned] = []
    for i, raw in enumerate(prepared.resources):
        if "copy" in raw or "resources" in raw:
            raise invalid(f"resource {i}: 'copy' loops and nested 'resources' are not supported by azuresim")
        if "condition" in raw and not evaluate(raw["condition"], ctx):
            continue
        type_name = str(evaluate(raw.get("type", ""), ctx))
        name = str(evaluate(raw.get("name", ""), ctx))
        if type_name.count("/") < 1 or not name or not raw.get("apiVersion"):
            raise invalid(f"The resource at index {i} needs 'type' (Namespace/type), 'name' and 'apiVersion'")
        rid = resource_id(ctx.sub, ctx.rg, type_name, name.split("/"))
        planned.append(Planned(i, type_name, rid, name, str(raw["apiVersion"]), raw))
    by_key = {p.id.lower(): p for p in planned}
    by_key.update({p.name.lower(): p for p in planned})
    by_key.update({f"{p.type}/{p.name}".lower(): p for p in planned})
    for p in planned:
        for dep in p.raw.get("dependsOn") or []:
            target = by_key.get(str(evaluate(dep, ctx)).lower())
            if target is None:
                raise invalid(f"The resource '{evaluate(dep, ctx)}' is not defined in the template")
            p.depends.add(target.index)
    _check_cycles(planned)
    return planned


def _check_cycles(planned: list[Planned]) -> None:
    done: set[int] = set()
    remaining = {p.index: p for p in planned}
    while remaining:
        ready = [i for i, p in remaining.items() if p.depends <= done]
        if not ready:
            names = ", ".join(p.name for p in remaining.values())
            raise invalid(f"Circular dependency detected on resource: {names}")
        for i in ready:
            done.add(i)
            del remaining[i]


def _body(p: Planned, ctx: Context) -> dict[str, Any]:
    return evaluate({k: v for k, v in p.raw.items() if k not in _TEMPLATE_KEYS}, ctx)  # type: ignore[no-any-return]


def create_resource(sim: Any, p: Planned, body: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Create one template resource through its provider (or store it as given)."""
    body.setdefault("location", ctx.location)
    store = sim.store
    if p.type in (
        network_model.VNET,
        network_model.SUBNET,
        network_model.NSG,
        network_model.PIP,
        network_model.NIC,
    ):
        return network_model.create(store, p.id, p.type, body)
    if p.type == storage.TYPE:
        return storage.create(store, p.id, body, sim.blobs.blob_endpoint)
    if p.type == identity.TYPE:
        return identity.create(store, p.id, body)
    if p.type == "Microsoft.Compute/virtualMachines":
        return _create_vm(sim, p, body)
    existing = store.get(p.id)
    resource = {**(existing or {}), **body}
    resource["properties"] = {**dict(body.get("properties") or {}), "provisioningState": "Succeeded"}
    return store.put(p.id, resource)  # type: ignore[no-any-return]


def _create_vm(sim: Any, p: Planned, body: dict[str, Any]) -> dict[str, Any]:
    from azuresim.providers import compute

    existing = sim.store.get(p.id)
    if existing is not None:
        # Incremental mode over a live VM: the VM is kept; tags follow the template.
        existing["tags"] = dict(body.get("tags") or {})
        return sim.store.put(p.id, existing)  # type: ignore[no-any-return]
    vm: dict[str, Any] = compute.create_vm_resource(
        sim, p.id, body.get("properties") or {}, body["location"], body.get("tags"), body.get("identity")
    )
    if body.get("plan"):
        vm["plan"] = body["plan"]
    return vm


def _operation(dep_id: str, p: Planned) -> dict[str, Any]:
    op_id = uuid.uuid4().hex[:16].upper()
    return {
        "id": f"{dep_id}/operations/{op_id}",
        "operationId": op_id,
        "properties": {
            "provisioningOperation": "Create",
            "provisioningState": "Running",
            "timestamp": now(),
            "duration": "PT0S",
            "trackingId": str(uuid.uuid4()),
            "serviceRequestId": str(uuid.uuid4()),
            "targetResource": {
                "id": p.id,
                "resourceType": p.type,
                "resourceName": p.name,
                "apiVersion": p.api_version,
            },
        },
    }


async def run(sim: Any, deployment: dict[str, Any], planned: list[Planned], ctx: Context) -> list[str]:
    """Create the planned resources in dependency order; returns the created ids, raises DeploymentFailed."""
    operations: list[dict[str, Any]] = deployment.setdefault("_operations", [])
    done: set[int] = set()
    failed: list[dict[str, Any]] = []
    created: list[str] = []
    pending = {p.index: p for p in planned}

    async def one(p: Planned) -> None:
        op = _operation(deployment["id"], p)
        operations.append(op)
        props = op["properties"]
        await asyncio.sleep(sim.latency.delay(_OPS.get(p.type, "resources.resource.put")))
        try:
            existed = sim.store.get(p.id) is not None
            body = _body(p, ctx)
            _injected_fault(sim, p.id, body)
            created.append(create_resource(sim, p, body, ctx)["id"])
            props.update(provisioningState="Succeeded", statusCode="OK" if existed else "Created")
            done.add(p.index)
        except SimError as exc:
            props.update(provisioningState="Failed", statusCode=_status_text(exc.status))
            props["statusMessage"] = {"status": "Failed", "error": exc.body()["error"]}
            failed.append(exc.body()["error"])
        props["timestamp"] = now()

    while pending and not failed:
        ready = [p for p in pending.values() if p.depends <= done]
        for p in ready:
            del pending[p.index]
        await asyncio.gather(*(one(p) for p in ready))
        sim.persist()
    if failed:
        raise SimError(
            400,
            "DeploymentFailed",
            "At least one resource deployment operation failed. Please list deployment operations for "
            "details. "
            "Please see https://aka.ms/arm-deployment-operations for usage details.",
            details=failed,
        )
    return created


def _injected_fault(sim: Any, resource_id: str, body: dict[str, Any]) -> None:
    """Fault rules apply to each resource as a PUT of its id (ARM calls the resource provider so)."""
    rule = sim.faults.pick("PUT", resource_id, json.dumps(body), async_=None) if sim.faults.rules else None
    if rule is not None and rule.status is not None:
        raise SimError(rule.status, rule.code, rule.message)


def _status_text(status: int) -> str:
    return {400: "BadRequest", 404: "NotFound", 409: "Conflict", 500: "InternalServerError"}.get(
        status, str(status)
    )


def reference_lookup(sim: Any, planned: list[Planned]) -> Any:
    """``reference(x)``: the properties of the resource with id or template name ``x``."""

    def lookup(key: str) -> Any:
        by_name = {p.name.lower(): p.id for p in planned}
        found = sim.store.get(by_name.get(key.lower(), key))
        return public(found).get("properties") if found is not None else None

    return lookup
