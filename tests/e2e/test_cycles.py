"""A patch cycle under devhost + azuresim: many templates on one schedule, a build cap of 20, devhost
SIGKILLed mid-cycle and restarted on the same state, the cycle timer ticking every two seconds throughout.

One cycle proves it all: the schedule comes due once, so exactly one ``patch_cycle`` instance and one cycle
document exist although the timer fired for that window again and again (and again after the restart); every
template is built exactly once and Succeeds; at no moment were more than 20 builds in flight, measured from
the run documents' start and end times.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cli.client import ApiError
from tests.support.scenarios import linux_template, managed_image_target, shell
from tests.support.stack import KilnStack

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]
TEMPLATES = int(os.environ.get("KILN_E2E_CYCLE_TEMPLATES", "200"))
CAP = 20
CYCLE = "e2e-linux"
SETTINGS = {
    "KILN_CYCLE_TICK_SCHEDULE": "*/2 * * * * *",
    "KILN_CYCLE_MAX_BUILDS": str(CAP),
    "KILN_CYCLE_POLL_SECONDS": "500",  # × the latency scale 0.001: every half second
    "KILN_CYCLE_START_SPACING_SECONDS": "20",  # 20 ms ± 50 % between starts
}


class CycleStack(KilnStack):
    def kiln_settings(self) -> dict[str, str]:
        return {**super().kiln_settings(), **SETTINGS}


def max_overlap(intervals: list[tuple[str, str]]) -> int:
    """The most intervals open at one instant (an end at t closes before a start at t opens)."""
    events = sorted(
        [(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals], key=lambda x: (x[0], x[1])
    )
    peak = current = 0
    for _, step in events:
        current += step
        peak = max(peak, current)
    return peak


def _in_parallel(fn: Any, items: list[Any]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=6) as pool:
        return list(pool.map(fn, items))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Any:
    running = CycleStack(Path(tmp_path_factory.mktemp("cycles"))).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def cycle(stack: CycleStack) -> dict[str, Any]:
    names = [f"cyc{i:03d}" for i in range(TEMPLATES)]
    body = linux_template(
        customize=[shell("patch", "apt-get upgrade -y")], distribute=[managed_image_target("x")]
    )

    def create(name: str) -> None:
        own = {
            **body,
            "properties": {**body["properties"], "distribute": [managed_image_target(f"img-{name}")]},
        }
        stack.create_template(name, own)

    _in_parallel(create, names)
    due = (datetime.now(UTC) + timedelta(seconds=15 + 0.25 * TEMPLATES)).replace(microsecond=0)
    schedule = f"{due.second} {due.minute} {due.hour} * * *"

    def trigger(name: str) -> None:
        path = stack.client.template_path(name) + "/triggers/patch"
        props = {"kind": "Schedule", "schedule": schedule, "timeZone": "UTC", "cycleName": CYCLE}
        resp = stack.client.request("PUT", path, json={"properties": props})
        assert resp.status_code in (200, 201), resp.text

    _in_parallel(trigger, names)
    assert datetime.now(UTC) < due, "the triggers took longer to create than the test allowed"
    cycle_id = f"{CYCLE}-{due.strftime('%Y%m%dT%H%M%SZ')}"
    provider = f"/subscriptions/{stack.connection().subscription}/providers/Microsoft.VirtualMachineImages"
    cycles_path = provider + "/patchCycles"

    def get_cycle() -> dict[str, Any] | None:
        try:
            return stack.client.json("GET", f"{cycles_path}/{cycle_id}")  # type: ignore[no-any-return]
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    deadline = time.monotonic() + 120 + (due - datetime.now(UTC)).total_seconds()
    killed = False
    while time.monotonic() < deadline + 600:
        doc = get_cycle()
        props = (doc or {}).get("properties", {})
        if not killed and props.get("counts", {}).get("started", 0) >= TEMPLATES // 3:
            stack.kill_devhost()  # mid-cycle: builds in flight, members still waiting
            time.sleep(1)
            stack.restart_devhost()
            killed = True
        if props.get("state") in ("Succeeded", "PartiallySucceeded", "Failed"):
            break
        time.sleep(1)
    assert killed, f"the cycle never got going: {doc}"
    listed = stack.client.list_all(cycles_path)
    runs = {name: stack.client.list_runs(name) for name in names}
    instances = [i for i in _instances(stack) if i.startswith("patch-cycle-")]
    return {"doc": doc, "listed": listed, "runs": runs, "instances": instances, "cycle_id": cycle_id}


def _instances(stack: CycleStack) -> list[str]:
    """The ids of the patch cycle instances devhost holds (the Durable instance query by prefix)."""
    rpc = stack.proc("devhost").info["rpcUrl"].rstrip("/")
    with urllib.request.urlopen(
        f"{rpc}/durabletask/instances/?instanceIdPrefix=patch-cycle-&top=1000", timeout=30
    ) as resp:
        found = json.loads(resp.read())
    return [str(i["instanceId"]) for i in (found if isinstance(found, list) else found.get("value", []))]


def test_one_cycle_for_the_window_although_the_timer_fired_for_it_again_and_again(
    cycle: dict[str, Any],
) -> None:
    assert [c["name"] for c in cycle["listed"]] == [cycle["cycle_id"]]
    assert len(cycle["instances"]) == 1
    props = cycle["doc"]["properties"]
    assert props["state"] == "Succeeded" and props["late"] is False
    assert props["counts"]["templates"] == TEMPLATES == props["counts"]["succeeded"]


def test_every_template_built_exactly_once_even_with_devhost_killed_mid_cycle(cycle: dict[str, Any]) -> None:
    for name, runs in cycle["runs"].items():
        assert len(runs) == 1, f"{name}: {[r['name'] for r in runs]}"
        props = runs[0]["properties"]
        assert props["trigger"] == "Schedule" and props["runState"] == "Succeeded"
        assert props["cycle"] == cycle["cycle_id"] and props["inputs"]["fingerprint"]


def test_never_more_than_the_cap_in_flight_measured_from_the_run_documents(cycle: dict[str, Any]) -> None:
    intervals = [
        (r[0]["properties"]["startTime"], r[0]["properties"]["endTime"]) for r in cycle["runs"].values()
    ]
    peak = max_overlap(intervals)
    assert peak <= CAP
    assert peak >= min(CAP, TEMPLATES) // 2  # the window really ran builds side by side
