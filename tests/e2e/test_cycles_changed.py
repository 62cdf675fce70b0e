"""``whenChanged`` patch cycles under devhost + azuresim: over templates whose inputs did not change a
cycle starts no build; after azuresim publishes a new Marketplace version of one SKU, the next cycle rebuilds
exactly the templates built from that SKU, and what it publishes carries its provenance.

Six templates, three on Ubuntu 24.04 ``server`` and three on ``server-gen1``, each built once by hand first.
A seventh, on a schedule due every minute, fails three cycle builds in a row (meanwhile): its schedule is
disabled, and a successful manual run re-arms it.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cli.client import ApiError
from shared import naming
from tests.support.scenarios import UBUNTU, linux_template, managed_image_target, shell
from tests.support.stack import KilnStack

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(600)]
SERVER = [f"chg-srv{i}" for i in range(3)]
GEN1 = [f"chg-gen1-{i}" for i in range(3)]
NEW_VERSION = "24.04.299912310"
CYCLE = "e2e-changed"
SETTINGS = {"KILN_CYCLE_TICK_SCHEDULE": "*/2 * * * * *", "KILN_CYCLE_POLL_SECONDS": "500"}


class ChangedStack(KilnStack):
    def kiln_settings(self) -> dict[str, str]:
        return {**super().kiln_settings(), **SETTINGS}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Any:
    running = ChangedStack(tmp_path_factory.mktemp("changed")).start()
    try:
        yield running
    finally:
        running.stop()


def _provider(stack: KilnStack) -> str:
    return f"/subscriptions/{stack.connection().subscription}/providers/Microsoft.VirtualMachineImages"


def _schedule_all(stack: KilnStack, names: list[str]) -> str:
    """(Re)create every template's whenChanged schedule, due a few seconds from now; the cycle's id."""
    due = (datetime.now(UTC) + timedelta(seconds=8)).replace(microsecond=0)
    props = {
        "kind": "Schedule",
        "schedule": f"{due.second} {due.minute} {due.hour} * * *",
        "timeZone": "UTC",
        "mode": "whenChanged",
        "cycleName": CYCLE,
    }
    for name in names:
        path = stack.client.template_path(name) + "/triggers/patch"
        stack.client.request("DELETE", path)
        stack.client.request("PUT", path, json={"properties": props})
    assert datetime.now(UTC) < due
    return f"{CYCLE}-{due.strftime('%Y%m%dT%H%M%SZ')}"


def _wait_cycle(stack: KilnStack, cycle_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        try:
            cycle: dict[str, Any] = stack.client.json("GET", f"{_provider(stack)}/patchCycles/{cycle_id}")
        except ApiError as exc:
            if exc.status != 404:
                raise
        else:
            if cycle["properties"]["state"] in ("Succeeded", "PartiallySucceeded", "Failed"):
                return cycle
        time.sleep(1)
    raise AssertionError(f"cycle {cycle_id} did not end")


def _short(entries: list[dict[str, Any]]) -> list[str]:
    return sorted(str(e["template"]).rsplit("/", 1)[-1] for e in entries)


FLAKY = "chg-flaky"
FLAKY_STEP = "flaky-e2e-patch-breaks"


@pytest.fixture(scope="module")
def flaky(stack: ChangedStack) -> Any:
    """A template whose customizer always fails, on a schedule due every minute (schedules come due at most
    once a minute): set up before the other cycles run, so its three windows pass meanwhile."""
    rule = {"pattern": FLAKY_STEP, "exitCode": 1, "stderr": "E: the e2e mirror is broken\n"}
    stack.add_outcomes(rule)
    body = linux_template(
        customize=[shell(FLAKY_STEP, "apt-get upgrade -y")], distribute=[managed_image_target("img-flaky")]
    )
    stack.create_template(FLAKY, body)
    second = (datetime.now(UTC) + timedelta(seconds=10)).second
    props = {
        "kind": "Schedule",
        "schedule": f"{second} * * * * *",
        "timeZone": "UTC",
        "cycleName": "e2e-flaky",
    }
    trigger = stack.client.template_path(FLAKY) + "/triggers/patch"
    assert stack.client.request("PUT", trigger, json={"properties": props}).status_code == 201
    try:
        yield {"trigger": trigger, "rule": rule}
    finally:
        stack.client.request("DELETE", trigger)


@pytest.fixture(scope="module")
def cycles(stack: ChangedStack, flaky: dict[str, Any]) -> dict[str, Any]:
    def build(name: str) -> None:
        source = {**UBUNTU, "sku": "server" if name in SERVER else "server-gen1"}
        body = linux_template(
            customize=[shell("patch", "apt-get upgrade -y")], distribute=[managed_image_target(f"img-{name}")]
        )
        body["properties"]["source"] = source
        stack.create_template(name, body)
        run = stack.wait_run(name, stack.start_run(name))
        assert run["properties"]["runState"] == "Succeeded", run["properties"]

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(build, SERVER + GEN1))
    unchanged = _wait_cycle(stack, _schedule_all(stack, SERVER + GEN1))
    source = {k: UBUNTU[k] for k in ("publisher", "offer")} | {"sku": "server", "version": NEW_VERSION}
    stack.control("POST", "/_sim/marketplace/versions", source | {"location": "eastus"})
    outdated = stack.client.json("GET", _provider(stack) + "/outdatedImageTemplates")["value"]
    changed = _wait_cycle(stack, _schedule_all(stack, SERVER + GEN1))
    after = stack.client.json("GET", _provider(stack) + "/outdatedImageTemplates")["value"]
    runs = {name: stack.client.list_runs(name) for name in SERVER + GEN1}
    return {"unchanged": unchanged, "changed": changed, "outdated": outdated, "after": after, "runs": runs}


def test_a_when_changed_cycle_over_unchanged_templates_starts_no_build(cycles: dict[str, Any]) -> None:
    props = cycles["unchanged"]["properties"]
    assert props["counts"]["started"] == 0 and props["state"] == "Succeeded"
    assert _short(props["skippedUnchanged"]) == sorted(SERVER + GEN1)


def test_a_new_marketplace_version_rebuilds_exactly_the_templates_built_from_it(
    cycles: dict[str, Any],
) -> None:
    props = cycles["changed"]["properties"]
    assert _short(props["succeeded"]) == sorted(SERVER) and props["counts"]["started"] == 3
    assert _short(props["skippedUnchanged"]) == sorted(GEN1)
    assert {n: len(r) for n, r in cycles["runs"].items()} == {
        **dict.fromkeys(SERVER, 2),
        **dict.fromkeys(GEN1, 1),
    }
    for name in SERVER:
        newest = cycles["runs"][name][0]["properties"]
        assert newest["trigger"] == "Schedule" and newest["exactVersion"] == NEW_VERSION
        assert newest["inputs"]["sourceVersion"] == NEW_VERSION


def test_outdated_lists_the_templates_behind_their_source_until_the_cycle_rebuilt_them(
    cycles: dict[str, Any],
) -> None:
    assert sorted(str(o["template"]).rsplit("/", 1)[-1] for o in cycles["outdated"]) == sorted(SERVER)
    assert all(o["latest"] == NEW_VERSION and o["builtFrom"] != NEW_VERSION for o in cycles["outdated"])
    assert cycles["after"] == []


def test_the_published_image_and_its_run_output_carry_the_provenance(
    stack: ChangedStack, cycles: dict[str, Any]
) -> None:
    name = SERVER[0]
    run = cycles["runs"][name][0]
    output = stack.run_outputs(name)[f"img-{name}"]
    tags = output["properties"]["provenance"]
    assert tags[naming.OUTPUT_RUN_TAG] == run["name"]
    assert tags[naming.SOURCE_VERSION_TAG] == NEW_VERSION
    assert tags[naming.FINGERPRINT_TAG] == run["properties"]["inputs"]["fingerprint"]
    assert tags[naming.OUTPUT_TEMPLATE_TAG].lower().endswith(f"/imagetemplates/{name}")
    image = next(
        r for r in stack.inventory() if r["id"].lower() == output["properties"]["artifactId"].lower()
    )
    assert {k: (image.get("tags") or {}).get(k) for k in tags} == tags


def test_three_failed_cycle_builds_disable_the_schedule_and_a_manual_success_re_arms_it(
    stack: ChangedStack, flaky: dict[str, Any]
) -> None:
    trigger, rule = flaky["trigger"], flaky["rule"]
    deadline = time.monotonic() + 300  # three windows a minute apart, from before the other cycles ran
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = stack.client.json("GET", trigger)["properties"]["status"]
        if status["code"] == "Disabled":
            break
        time.sleep(2)
    runs = stack.client.list_runs(FLAKY)
    assert status["code"] == "Disabled", (status, [r["properties"] for r in runs])
    assert len(runs) == 3 and all(r["properties"]["trigger"] == "Schedule" for r in runs)
    assert all(r["properties"]["runState"] == "Failed" for r in runs)
    assert "the last 3 builds" in status["message"] and all(r["name"] in status["message"] for r in runs)

    current = stack.control("GET", "/_sim/runcommand-outcomes") or []
    stack.control("PUT", "/_sim/runcommand-outcomes", [r for r in current if r != rule])
    manual = stack.wait_run(FLAKY, stack.start_run(FLAKY))
    assert manual["properties"]["runState"] == "Succeeded", manual["properties"]
    assert stack.client.json("GET", trigger)["properties"]["status"]["code"] == "Healthy"
