"""Cancel at several phases, and buildTimeoutInMinutes exceeded: the run ends Canceled / Failed and nothing
temporary is left.

A build left alone beside them shows the build VM deleted right after the capture, long before its second
region has replicated. This module's azuresim is slowed where the cancels land (the build VM takes ~20 s to
deploy, a region ~30 s to replicate) and one customizer of the customize scenario runs a minute, so each
cancel reliably arrives while its phase is running. All scenarios run at once.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

import pytest

from shared import naming
from tests.support.scenarios import gallery_target, linux_template, outcome, run_parallel, shell
from tests.support.stack import KilnStack

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(600)]
# Local mode scales buildTimeoutInMinutes by the simulator's clock (TimingPolicy.scaled: the latency scale,
# at least 0.005): 100 minutes are 30 s here, after this module's 20 s deployment, in the endless customizer.
TIMEOUT_MINUTES = 100
SLOW = {"compute.vm.put": 20_000.0, "gallery.replicate": 30_000.0}  # seconds at scale 1


def cancel_in(stack: KilnStack, name: str, phase: str, body: dict[str, Any]) -> dict[str, Any]:
    stack.create_template(name, body)
    run_id = stack.start_run(name)
    stack.wait_phase(name, run_id, phase, timeout=240)
    resp = stack.client.cancel_run(name)
    assert resp.status_code == 202, resp.text
    run = stack.wait_run(name, run_id, timeout=240)
    # What a deployment still running makes after the run ended would leak: look once it has ended.
    stack.wait_deployments_settled(run_id)
    return {"run_id": run_id, "run": run}


QUICK = [shell("quick", "echo quick")]


def own_target(stack: KilnStack, name: str, regions: tuple[str, ...] = ("eastus",)) -> list[dict[str, Any]]:
    return [gallery_target(stack.define_image(f"e2e-{name}"), "out", regions)]


def cancel_deploy(stack: KilnStack) -> dict[str, Any]:
    body = linux_template(customize=QUICK, distribute=own_target(stack, "cancel-deploy"))
    return cancel_in(stack, "cancel-deploy", "deploy", body)


def cancel_customize(stack: KilnStack) -> dict[str, Any]:
    slow = [*QUICK, shell("slow-e2e-cancel", "sleep 60")]
    body = linux_template(customize=slow, distribute=own_target(stack, "cancel-customize"))
    return cancel_in(stack, "cancel-customize", "customize", body)


def cancel_distribute(stack: KilnStack) -> dict[str, Any]:
    target = own_target(stack, "cancel-dist", ("eastus", "westeurope"))
    return cancel_in(
        stack, "cancel-distribute", "distribute", linux_template(customize=QUICK, distribute=target)
    )


def time_out(stack: KilnStack) -> dict[str, Any]:
    endless = [shell("endless-e2e-timeout", "sleep infinity")]
    target = own_target(stack, "timeout")
    stack.create_template(
        "timeout", linux_template(customize=endless, distribute=target, buildTimeoutInMinutes=TIMEOUT_MINUTES)
    )
    run_id = stack.start_run("timeout")
    scale = stack.durable_status(run_id)["input"]["timing"]["timeout_scale"]
    seconds = TIMEOUT_MINUTES * 60 * scale
    # Unscaled, the timeout is hours away: fail now, saying why, instead of waiting.
    assert seconds <= 120, f"local mode does not scale buildTimeoutInMinutes enough (timeout_scale={scale})"
    limit = seconds + 120  # the scaled timeout, then compensation
    return {"run_id": run_id, "run": stack.wait_run("timeout", run_id, timeout=limit)}


def early_release(stack: KilnStack) -> dict[str, Any]:
    """A build left alone, with a region that replicates for ~30 s after the capture."""
    body = linux_template(customize=QUICK, distribute=own_target(stack, "early-vm", ("eastus", "westeurope")))
    stack.create_template("early-vm", body)
    run_id = stack.start_run("early-vm")
    return {"run_id": run_id, "run": stack.wait_run("early-vm", run_id, timeout=240)}


SCENARIOS = {
    "early": early_release,
    "deploy": cancel_deploy,
    "customize": cancel_customize,
    "distribute": cancel_distribute,
    "timeout": time_out,
}


@pytest.fixture(scope="module")
def runs(stack: KilnStack) -> dict[str, Any]:
    stack.control("PUT", "/_sim/latency", {"scale": stack.latency_scale, "ops": SLOW})
    stack.add_outcomes(
        {"pattern": "slow-e2e-cancel", "exitCode": 0, "durationSeconds": 60},
        {"pattern": "endless-e2e-timeout", "exitCode": 0, "durationSeconds": 900},
    )
    return run_parallel({key: functools.partial(scenario, stack) for key, scenario in SCENARIOS.items()})


@pytest.mark.parametrize("phase", ["deploy", "customize", "distribute"])
def test_cancel_during_a_phase_ends_canceled_without_run_outputs(
    stack: KilnStack, runs: dict[str, Any], phase: str
) -> None:
    result = outcome(runs, phase)
    props = result["run"]["properties"]
    assert props["runState"] == "Canceled", props["message"]
    assert "cancel" in props["message"].lower()
    assert phase in [p["phase"] for p in props["phases"]]
    assert stack.run_outputs(f"cancel-{phase}") == {}


@pytest.mark.parametrize(
    "phase",
    [
        "deploy",
        "customize",
        "distribute",
    ],
)
def test_cancel_during_a_phase_leaves_nothing_temporary(
    stack: KilnStack, runs: dict[str, Any], phase: str
) -> None:
    assert stack.leftovers(outcome(runs, phase)["run_id"]) == []


def test_cancel_during_distribute_removes_the_partial_image_version(
    stack: KilnStack, runs: dict[str, Any]
) -> None:
    outcome(runs, "distribute")
    versions = [r["id"] for r in stack.inventory() if "/images/e2e-cancel-dist/versions/" in r["id"].lower()]
    assert versions == []


def test_a_build_exceeding_its_timeout_fails_with_the_timeout_message_and_leaves_nothing(
    stack: KilnStack, runs: dict[str, Any]
) -> None:
    result = outcome(runs, "timeout")
    props = result["run"]["properties"]
    assert props["runState"] == "Failed", props["message"]
    assert f"buildTimeoutInMinutes ({TIMEOUT_MINUTES} minutes)" in props["message"]
    assert "context deadline exceeded" in props["message"]
    assert "during customize" in props["message"], "the timeout should have stopped the endless customizer"
    assert stack.leftovers(result["run_id"]) == []
    assert stack.run_outputs("timeout") == {}


def test_the_build_vm_is_gone_long_before_the_slowest_region_has_replicated(
    stack: KilnStack, runs: dict[str, Any]
) -> None:
    result = outcome(runs, "early")
    props = result["run"]["properties"]
    assert props["runState"] == "Succeeded", props["message"]
    vm_name = f"/virtualmachines/{naming.build_vm_name(result['run_id'])}"
    lives = stack.control("GET", "/_sim/lifetimes")["lifetimes"]
    [vm] = [life for life in lives if life["id"].lower().endswith(vm_name)]
    distribute = next(p for p in props["phases"] if p["phase"] == "distribute")
    replicated_at = datetime.fromisoformat(distribute["endTime"].replace("Z", "+00:00")).timestamp()
    # The region replicates ~30 s after the capture; the VM went as soon as the capture was done.
    assert vm["gone"] is not None and replicated_at - vm["gone"] > 15, (vm, distribute)
    assert props["phases"][-1]["phase"] == "cleanup"
    assert stack.leftovers(result["run_id"]) == []
