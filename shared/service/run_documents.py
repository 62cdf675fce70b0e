"""The run document and how a ``RunStatusUpdate`` changes it: pure functions on plain JSON.

A run document (``runs/{sub}/{rg}/{name}/{runId}.json``, see docs/store.md)::

    {"schemaVersion": 1, "id", "name": runId, "type": "…/imageTemplates/runs",
     "properties": {runId, runNumber, trigger, runState, runSubState, message, startTime, endTime,
                    phases: [{phase, startTime, endTime, state}], step: {phase, index, name, state},
                    targets: [{runOutputName, type, state, artifactId, artifactUri, regions, error}],
                    errors: [{code, message, phase?, target?}], exactVersion, stagingResourceGroup,
                    keptBuildVm?: {resourceGroup, vmName, adminSecretName},
                    inputs: {sourceVersion, templateHash, artifacts: {step: sha256}, fingerprint},
                    cycle?: patch cycle id},
     "kiln": {"operations": [{id, kind}], "applied": [fingerprints], "lastUpdate": time, "finished": bool,
              "timeline": {"steps": [{phase, index, name, start, end, state}],
                           "targets": {runOutputName: {end, regions: {region: end}}}}}}

``kiln.timeline`` keeps what the run's trace needs and the document shows only for the moment: when each step
began and ended, and when each distribute target and region ended (``run_trace.py`` makes the spans).

Activities run at least once, so an update is applied only if its fingerprint is new and its time is not
older than the last one applied: the same update twice changes nothing.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from shared import redact
from shared.models import fingerprint as fp
from shared.models.build import BUILD_SCHEMA, TimingPolicy
from shared.service import contract
from shared.store import TemplateRef

RUN_TYPE = "Microsoft.VirtualMachineImages/imageTemplates/runs"
TERMINAL_STATES = frozenset({"Succeeded", "PartiallySucceeded", "Failed", "Canceled"})
_KEEP_FINGERPRINTS = 500
DEFAULT_TIMEOUT_MINUTES = 240
GRACE = timedelta(hours=2)  # after start + buildTimeoutInMinutes, the janitor may sweep what a run left
_PHASE_END = {"Succeeded": "Succeeded", "PartiallySucceeded": "Succeeded", "Failed": "Failed"}
REGION_ENDS = frozenset({"Completed", "Failed", "TimedOut", "Canceled"})


def new_run(
    *, template_id: str, run_id: str, number: int, trigger: str, now: str, template_hash: str | None = None
) -> dict[str, Any]:
    """A run document as the API creates it, before the orchestration reports anything."""
    return {
        "schemaVersion": 1,
        "id": f"{template_id}/runs/{run_id}",
        "name": run_id,
        "type": RUN_TYPE,
        "properties": {
            "runId": run_id,
            "runNumber": number,
            "trigger": trigger,
            "runState": "Running",
            "runSubState": "Queued",
            "message": "Run queued.",
            "startTime": now,
            "endTime": None,
            "phases": [],
            "step": None,
            "targets": [],
            "errors": [],
            "exactVersion": None,
            "stagingResourceGroup": None,
            "inputs": fp.inputs(None, template_hash, {}),
        },
        "kiln": {"operations": [], "applied": [], "lastUpdate": None, "finished": False},
    }


def record_inputs(
    run: dict[str, Any], *, source_version: str | None = None, artifacts: dict[str, str] | None = None
) -> None:
    """Add what the build learnt of its inputs (the exact source version, the artifacts' sha256) in place."""
    props = run["properties"]
    current = props.get("inputs") or fp.inputs(None, None, {})
    version = source_version or current.get("sourceVersion")
    hashes = {**(current.get("artifacts") or {}), **(artifacts or {})}
    props["inputs"] = fp.inputs(version, current.get("templateHash"), hashes)


def fingerprint(update: dict[str, Any]) -> str:
    """A stable digest of an update's JSON (what makes two deliveries of one update equal)."""
    return hashlib.sha256(json.dumps(update, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:32]


def is_finished(run: dict[str, Any]) -> bool:
    return bool(run["kiln"].get("finished")) or run["properties"]["runState"] in TERMINAL_STATES


def apply_update(run: dict[str, Any], update: dict[str, Any]) -> bool:
    """Apply a ``RunStatusUpdate`` (its JSON) to ``run`` in place; False when it changes nothing."""
    kiln = run["kiln"]
    mark = fingerprint(update)
    if mark in kiln["applied"]:
        return False
    time = update["time"]
    if kiln.get("lastUpdate") and time < kiln["lastUpdate"]:
        return False  # a late redelivery of an older update
    if kiln.get("finished") and not update.get("finished"):
        return False
    props = run["properties"]
    # A cancel the API recorded stays visible until the orchestration itself says it is canceling or done.
    keep_canceling = props["runState"] == "Canceling" and update.get("run_state") == "Running"
    for field, key in (("run_state", "runState"), ("run_sub_state", "runSubState"), ("message", "message")):
        if update.get(field) is not None and not (keep_canceling and field in ("run_state", "message")):
            props[key] = update[field]
    if update.get("exact_version"):
        props["exactVersion"] = update["exact_version"]
        record_inputs(run, source_version=update["exact_version"])
    if update.get("exact_staging_resource_group"):
        props["stagingResourceGroup"] = update["exact_staging_resource_group"]
    if update.get("phase"):
        _enter_phase(run, update["phase"], time)
    if update.get("step") is not None:
        props["step"] = dict(update["step"])
        _track_step(run, update["step"], time)
    for target in update.get("targets") or []:
        _merge_target(run, target, time)
    for name, regions in (update.get("regions") or {}).items():
        entry = _target_entry(props, name)
        entry["regions"] = {**entry.get("regions", {}), **regions}
        _regions_ended(run, name, regions, time)
    if update.get("kept_vm"):
        props["keptBuildVm"] = kept_build_vm(update["kept_vm"])
    if update.get("finished"):
        _finish(run, time)
        kiln["finished"] = True
    kiln["applied"] = [*kiln["applied"], mark][-_KEEP_FINGERPRINTS:]
    kiln["lastUpdate"] = max(time, kiln.get("lastUpdate") or time)
    return True


def merge_progress(
    run: dict[str, Any], target: str, regions: Sequence[dict[str, Any]], time: str | None = None
) -> None:
    """Live progress of a target's regions (``regions`` and ``regionProgress`` percentages) on a run still
    going; it never changes the run's state, and the target's final result overwrites it. ``time``: when a
    region seen ended, ended (the end of its span)."""
    if is_finished(run):
        return
    entry = _target_entry(run["properties"], target)
    if entry.get("state") not in (None, "Running"):
        return
    states = {r["region"]: r["state"] for r in regions}
    entry["regions"] = {**entry.get("regions", {}), **states}
    if time is not None:
        _regions_ended(run, target, states, time)
    percent = {r["region"]: r["progress"] for r in regions if r.get("progress") is not None}
    entry["regionProgress"] = {**entry.get("regionProgress", {}), **percent}


def kept_build_vm(vm: dict[str, Any]) -> dict[str, Any]:
    """``keptBuildVm`` of a run whose build VM errorHandling ``abort`` kept: where it is, how to log in."""
    return {
        "resourceGroup": vm.get("resource_group"),
        "vmName": vm.get("vm_name"),
        "adminSecretName": vm.get("admin_secret_name"),
    }


def keeps_build_vm(run: dict[str, Any]) -> bool:
    """Whether the run kept its build VM (errorHandling ``abort``): nothing may sweep it."""
    return run["properties"].get("keptBuildVm") is not None


def timeline(run: dict[str, Any]) -> dict[str, Any]:
    """``kiln.timeline`` of a run document (made on first use: documents older than it have none)."""
    found: dict[str, Any] = run["kiln"].setdefault("timeline", {"steps": [], "targets": {}})
    return found


def _track_step(run: dict[str, Any], step: dict[str, Any], time: str) -> None:
    """A step reported: the step before it (if still open) ended as it began; a final state ends it."""
    steps = timeline(run)["steps"]
    last = steps[-1] if steps else None
    ident = (step["phase"], step["index"], step.get("name", ""))
    if last is not None and last["end"] is None:
        if (last["phase"], last["index"], last["name"]) == ident:
            if step.get("state", "Running") != "Running":
                last.update(end=time, state=step["state"])
            return
        last.update(end=time, state="Succeeded")
    if step.get("state", "Running") == "Running":
        steps.append({"phase": ident[0], "index": ident[1], "name": ident[2], "start": time, "end": None})


def _close_step(run: dict[str, Any], time: str, state: str) -> None:
    steps = timeline(run)["steps"]
    if steps and steps[-1]["end"] is None:
        steps[-1].update(end=time, state=state)


def _regions_ended(run: dict[str, Any], target: str, states: dict[str, str], time: str) -> None:
    ends = timeline(run)["targets"].setdefault(target, {}).setdefault("regions", {})
    for region, state in states.items():
        if state in REGION_ENDS:
            ends.setdefault(region, time)


def _enter_phase(run: dict[str, Any], phase: str, time: str) -> None:
    phases = run["properties"]["phases"]
    if phases and phases[-1]["phase"] == phase and phases[-1]["endTime"] is None:
        return
    if phases and phases[-1]["endTime"] is None:
        phases[-1].update(endTime=time, state="Succeeded")
        _close_step(run, time, "Succeeded")
    phases.append({"phase": phase, "startTime": time, "endTime": None, "state": "Running"})


def _target_entry(props: dict[str, Any], name: str) -> dict[str, Any]:
    for existing in props["targets"]:
        if existing["runOutputName"] == name:
            found: dict[str, Any] = existing
            return found
    entry: dict[str, Any] = {"runOutputName": name, "type": None, "state": "Running", "regions": {}}
    props["targets"].append(entry)
    return entry


def _merge_target(run: dict[str, Any], target: dict[str, Any], time: str) -> None:
    props = run["properties"]
    timeline(run)["targets"].setdefault(target["run_output_name"], {}).setdefault("end", time)
    _regions_ended(run, target["run_output_name"], target.get("regions") or {}, time)
    entry = _target_entry(props, target["run_output_name"])
    entry["type"] = target.get("type")
    entry["state"] = "Succeeded" if target.get("succeeded") else "Failed"
    entry["artifactId"] = target.get("artifact_id")
    entry["artifactUri"] = target.get("artifact_uri")
    entry["regions"] = {**entry.get("regions", {}), **(target.get("regions") or {})}
    error = target.get("error")
    entry["error"] = {"code": error["code"], "message": error["message"]} if error else None
    if error:
        detail = {"code": error["code"], "message": error["message"], "target": target["run_output_name"]}
        if detail not in props["errors"]:
            props["errors"].append(detail)


def _finish(run: dict[str, Any], time: str) -> None:
    props = run["properties"]
    state = props["runState"]
    props["endTime"] = time
    _close_step(run, time, _PHASE_END.get(state, state))
    phases = props["phases"]
    if phases and phases[-1]["endTime"] is None:
        phases[-1].update(endTime=time, state=_PHASE_END.get(state, state))
    step = props.get("step")
    if step and step.get("state") == "Running":
        step["state"] = _PHASE_END.get(state, state)
    if state in ("Failed", "Canceled"):
        failed_phase = phases[-1]["phase"] if phases else None
        detail = {"code": "Run" + state, "message": props["message"], "phase": failed_phase}
        if detail not in props["errors"]:
            props["errors"].append(detail)


def last_run_status(run: dict[str, Any]) -> dict[str, Any]:
    """AIB's ``lastRunStatus`` of the template, from its run document."""
    props = run["properties"]
    status = {k: props.get(k) for k in ("startTime", "endTime", "runState", "runSubState", "message")}
    return {k: v for k, v in status.items() if v is not None}


def render_run(run: dict[str, Any]) -> dict[str, Any]:
    """The run resource as ``GET {base}/runs/{runId}`` shows it."""
    return {k: run[k] for k in ("id", "name", "type", "properties")}


def build_input(
    ref: TemplateRef, body: dict[str, Any], run_id: str, trigger: str, stamp: str, timing: TimingPolicy
) -> dict[str, Any]:
    """The ``BuildInput`` JSON of a run: the template as stored, the run's ref, expiry and timing."""
    spec = copy.deepcopy(body["spec"])
    minutes = int(spec.get("properties", {}).get("buildTimeoutInMinutes") or DEFAULT_TIMEOUT_MINUTES)
    started = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    expires = (started + timedelta(minutes=minutes) + GRACE).isoformat().replace("+00:00", "Z")
    run_ref = {
        "subscription_id": ref.subscription,
        "resource_group": ref.resource_group,
        "template_name": body["readOnly"]["name"],
        "run_id": run_id,
        "location": spec["location"],
        "expires_at": expires,
    }
    template = contract.render_template(spec, api_version=contract.STORAGE_API_VERSION)
    # The input is the Durable history's: no userinfo of an artifact URL travels in it; a SAS does, since
    # kiln reads the artifact with it (docs/security.md).
    template = redact.artifact_uris(template, keep_signatures=True)
    template["name"] = body["readOnly"]["name"]
    return {
        "schema_version": BUILD_SCHEMA,
        "run": run_ref,
        "template": template,
        "trigger": trigger,
        "expires_at": expires,
        "timing": timing.model_dump(mode="json"),
    }
