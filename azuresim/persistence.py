"""The state file: resources, control settings, latency table and recent operations, as one JSON document.

A restart cannot resume work in flight, so loading settles it: resources being created or updated are taken
as done (providers store them whole before their operation starts), resources being deleted are gone with
everything below them, and a deployment that was running ends Failed (its remaining resources were never
made). Operations are kept so a client polling across the restart gets the settled status, not a 404.
"""

from __future__ import annotations

import json
import os
from dataclasses import fields
from pathlib import Path
from typing import Any

from azuresim.lro import Operation

OPERATIONS_SAVED = 2000
_INTERRUPTED = {
    "code": "DeploymentFailed",
    "message": "azuresim restarted while this deployment was running; its other resources were not created.",
}


def save(sim: Any, path: Path) -> None:
    operations = list(sim.operations.values())[-OPERATIONS_SAVED:]
    data = {
        "resources": sim.store.dump(),
        "control": sim.control,
        "latency": sim.latency.to_json(),
        # Not dataclasses.asdict: it would deep-copy the operation's asyncio task.
        "operations": [
            {f.name: getattr(o, f.name) for f in fields(o) if f.name != "task"} for o in operations
        ],
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.parent.mkdir(parents=True, exist_ok=True)
    # The state holds Key Vault secrets and storage keys: readable by its owner only, from creation on.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(json.dumps(data, default=str))
    os.replace(tmp, path)


def load(sim: Any, path: Path) -> None:
    data = json.loads(path.read_text())
    resources: list[dict[str, Any]] = data.get("resources", [])
    failed: set[str] = set()
    gone = [r["id"].lower() for r in resources if _state(r) == "Deleting"]
    for r in resources:
        props = r.get("properties")
        if not isinstance(props, dict):
            continue
        if r["type"] == "Microsoft.Resources/deployments" and props.get("provisioningState") in (
            "Accepted",
            "Running",
        ):
            props.update(provisioningState="Failed", error=dict(_INTERRUPTED))
            failed.add(r["id"].lower())
        elif props.get("provisioningState") in ("Creating", "Updating"):
            props["provisioningState"] = "Succeeded"
    sim.store.load([r for r in resources if not any(_under(r["id"].lower(), g) for g in gone)])
    sim.control = data.get("control", {})
    sim.latency.ops.update(data.get("latency", {}).get("ops", {}))
    for saved in data.get("operations", []):
        oper = Operation(**{k: v for k, v in saved.items() if k in Operation.__dataclass_fields__})
        if oper.status == "InProgress":
            interrupted = (oper.resource_id or "").lower() in failed
            oper.status = "Failed" if interrupted else "Succeeded"
            oper.error = dict(_INTERRUPTED) if interrupted else None
        oper.done_at = 0.0
        sim.operations[oper.id] = oper


def _state(resource: dict[str, Any]) -> Any:
    props = resource.get("properties")
    return props.get("provisioningState") if isinstance(props, dict) else None


def _under(resource_id: str, prefix: str) -> bool:
    return resource_id == prefix or resource_id.startswith(prefix + "/")
