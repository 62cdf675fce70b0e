"""A patch cycle's document and how the cycle's steps change it: pure functions on plain JSON.

``patchCycles/{sub}/{cycleId}.json`` (docs/cycles.md, docs/store.md)::

    {"schemaVersion": 1, "name": cycleId, "type": "Microsoft.VirtualMachineImages/patchCycles",
     "id": "/subscriptions/{sub}/providers/Microsoft.VirtualMachineImages/patchCycles/{cycleId}",
     "properties": {cycleName, dueTime, late, lateBySeconds, missedWindows, state, createdTime, startTime,
                    endTime},
     "kiln": {"instanceId", "members": [{template, ref: [sub, rg, name], trigger, mode,
                                         outcome: {state, runId?, reason?, time, endTime?}}]}}

A member's ``outcome.state`` is ``started`` → ``succeeded`` | ``failed``, or one of ``skippedUnchanged``,
``skippedInFlight``, ``skippedDisabled``, ``skipped`` (the template is gone), or ``failed`` (the run could not
start). The resource callers see lists each of them with its run id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

CYCLE_TYPE = "Microsoft.VirtualMachineImages/patchCycles"
TERMINAL = frozenset({"Succeeded", "PartiallySucceeded", "Failed"})
_LISTS = (
    "started",
    "skippedUnchanged",
    "skippedInFlight",
    "skippedDisabled",
    "skipped",
    "succeeded",
    "failed",
)


def cycle_id(cycle_name: str, due: datetime) -> str:
    """``{cycleName}-{yyyymmddThhmmssZ}``: one id per cycle and due window."""
    return f"{cycle_name}-{due.strftime('%Y%m%dT%H%M%SZ')}"


def new_cycle(
    *,
    subscription: str,
    cid: str,
    cycle_name: str,
    due: str,
    created: str,
    late_by: float,
    late: bool,
    missed: int,
    instance_id: str,
    members: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "schemaVersion": 1,
        "id": f"/subscriptions/{subscription}/providers/Microsoft.VirtualMachineImages/patchCycles/{cid}",
        "name": cid,
        "type": CYCLE_TYPE,
        "properties": {
            "cycleName": cycle_name,
            "dueTime": due,
            "late": late,
            "lateBySeconds": round(late_by, 1),
            "missedWindows": missed,
            "state": "Pending",
            "createdTime": created,
            "startTime": None,
            "endTime": None,
        },
        "kiln": {"instanceId": instance_id, "members": members},
    }


def member(template_id: str, ref: tuple[str, str, str], trigger: str, mode: str) -> dict[str, Any]:
    return {"template": template_id, "ref": list(ref), "trigger": trigger, "mode": mode, "outcome": None}


def final_state(doc: dict[str, Any]) -> str:
    states = [(m.get("outcome") or {}).get("state") for m in doc["kiln"]["members"]]
    failed, succeeded = states.count("failed"), states.count("succeeded")
    if not failed:
        return "Succeeded"
    return "Failed" if not succeeded else "PartiallySucceeded"


def counts(doc: dict[str, Any]) -> dict[str, int]:
    out = {name: 0 for name in _LISTS}
    out.update(templates=len(doc["kiln"]["members"]), inFlight=0, pending=0)
    for m in doc["kiln"]["members"]:
        outcome = m.get("outcome")
        if outcome is None:
            out["pending"] += 1
            continue
        state = outcome["state"]
        if outcome.get("runId") and state in ("started", "succeeded", "failed"):
            out["started"] += 1
        if state == "started":
            out["inFlight"] += 1
        elif state in out:
            out[state] += 1
    return out


def render(doc: dict[str, Any]) -> dict[str, Any]:
    """The patch cycle resource: its times and state, the counts, and every member under its outcome."""
    props = dict(doc["properties"])
    lists: dict[str, list[dict[str, Any]]] = {name: [] for name in _LISTS}
    for m in doc["kiln"]["members"]:
        outcome = m.get("outcome")
        if outcome is None:
            continue
        entry = {"template": m["template"], **{k: v for k, v in outcome.items() if k != "state"}}
        if outcome.get("runId") and outcome["state"] in ("started", "succeeded", "failed"):
            lists["started"].append({"template": m["template"], "runId": outcome["runId"]})
        if outcome["state"] != "started":
            lists[outcome["state"]].append(entry)
    props.update(lists)
    props["counts"] = counts(doc)
    props["durationSeconds"] = _duration(props.get("startTime"), props.get("endTime"))
    return {"id": doc["id"], "name": doc["name"], "type": doc["type"], "properties": props}


def _duration(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    a = datetime.fromisoformat(start.replace("Z", "+00:00"))
    b = datetime.fromisoformat(end.replace("Z", "+00:00"))
    return round((b - a).total_seconds(), 3)
