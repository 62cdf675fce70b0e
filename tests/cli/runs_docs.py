"""Run documents as ``GET {base}/runs/{runId}`` returns them, at the moments a build passes through."""

from __future__ import annotations

import copy
from typing import Any

RUN_ID = "t0123456789abcde-run-00001"
START = "2026-11-26T10:00:00Z"


def _phase(name: str, start: str, end: str | None, state: str) -> dict[str, Any]:
    phase: dict[str, Any] = {"phase": name, "startTime": start, "state": state}
    if end:
        phase["endTime"] = end
    return phase


def queued() -> dict[str, Any]:
    return {
        "name": RUN_ID,
        "properties": {
            "runState": "Running",
            "runSubState": "Queued",
            "startTime": START,
            "phases": [_phase("resolve", START, None, "Running")],
        },
    }


def customizing() -> dict[str, Any]:
    run = queued()
    run["properties"].update(
        runSubState="Customizing",
        phases=[
            _phase("resolve", START, "2026-11-26T10:00:00.400Z", "Succeeded"),
            _phase("preflight", "2026-11-26T10:00:00.400Z", "2026-11-26T10:00:01Z", "Succeeded"),
            _phase("deploy", "2026-11-26T10:00:01Z", "2026-11-26T10:01:31Z", "Succeeded"),
            _phase("customize", "2026-11-26T10:01:31Z", None, "Running"),
        ],
        step={"phase": "customize", "index": 1, "name": "install-tools", "state": "Running"},
    )
    return run


def distributing() -> dict[str, Any]:
    run = customizing()
    props = run["properties"]
    props["runSubState"] = "Distributing"
    props["phases"][-1].update(endTime="2026-11-26T10:03:00Z", state="Succeeded")
    props["phases"].append(_phase("distribute", "2026-11-26T10:03:00Z", None, "Running"))
    props["step"] = {"phase": "customize", "index": 1, "name": "install-tools", "state": "Succeeded"}
    props["targets"] = [
        {
            "runOutputName": "ubuntu-2404-gallery",
            "type": "SharedImage",
            "state": "Running",
            "regions": {"eastus": "Succeeded", "westeurope": "Replicating", "southeastasia": "Queued"},
        }
    ]
    return run


def succeeded() -> dict[str, Any]:
    run = distributing()
    props = run["properties"]
    props.update(runState="Succeeded", runSubState=None, endTime="2026-11-26T10:05:07Z", message="")
    props["phases"][-1].update(endTime="2026-11-26T10:05:00Z", state="Succeeded")
    target = props["targets"][0]
    target.update(
        state="Succeeded",
        regions={"eastus": "Succeeded", "westeurope": "Succeeded", "southeastasia": "Succeeded"},
        artifactId="/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/galleries/x/images/y/versions/1.0.0",
    )
    return run


def failed() -> dict[str, Any]:
    run = copy.deepcopy(customizing())
    props = run["properties"]
    props.update(
        runState="Failed",
        runSubState="Customizing",
        endTime="2026-11-26T10:02:00Z",
        message="customize[1] install-tools failed with exit code 100",
    )
    props["phases"][-1].update(endTime="2026-11-26T10:02:00Z", state="Failed")
    props["step"]["state"] = "Failed"
    return run
