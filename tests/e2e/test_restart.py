"""SIGKILL of devhost mid-build — while the deployment is polled, while a customizer runs, while a region
replicates — and a restart on the same state: the build finishes exactly once and creates nothing twice.

azuresim is slowed for this module (the build VM takes ~15 s, a region ~15 s, one customizer 15 s) so each
kill lands inside its phase.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from shared import naming
from tests.support.scenarios import gallery_target, linux_template, managed_image_target, shell
from tests.support.stack import KilnStack

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(600)]
NAME = "restart"
SLOW = {"compute.vm.put": 15_000.0, "gallery.replicate": 15_000.0}  # seconds at scale 1


def wait_until(stack: KilnStack, run_id: str, ready: Callable[[dict[str, Any]], bool], what: str) -> None:
    stack.wait_for(NAME, run_id, ready, timeout=240, what=what, interval=0.3)


def phase_of(props: dict[str, Any]) -> str:
    phases = props.get("phases") or []
    return str(phases[-1]["phase"]) if phases else ""


def put_seen(stack: KilnStack, fragment: str) -> bool:
    return any(r["method"] == "PUT" and fragment in r["path"].lower() for r in stack.request_log())


def crash_and_restart(stack: KilnStack) -> None:
    stack.kill_devhost()
    stack.restart_devhost()


@pytest.fixture(scope="module")
def crashed_build(stack: KilnStack) -> dict[str, Any]:
    stack.control("PUT", "/_sim/latency", {"scale": stack.latency_scale, "ops": SLOW})
    stack.add_outcomes({"pattern": "long-step-e2e-restart", "exitCode": 0, "durationSeconds": 15})
    definition = stack.define_image("e2e-restart")
    body = linux_template(
        customize=[shell("quick", "echo quick"), shell("long-step-e2e-restart", "make all")],
        distribute=[
            gallery_target(definition, "restart-gallery", ("eastus", "westeurope")),
            managed_image_target("e2e-restart-mi"),
        ],
    )
    stack.create_template(NAME, body)
    run_id = stack.start_run(NAME)
    deployment = naming.deployment_name(run_id).lower()
    kills = []

    def polling_deployment(props: dict[str, Any]) -> bool:
        return phase_of(props) == "deploy" and put_seen(stack, f"/deployments/{deployment}")

    def running_long_step(props: dict[str, Any]) -> bool:
        step = props.get("step") or {}
        return step.get("phase") == "customize" and step.get("index") == 1 and step.get("state") == "Running"

    def replicating(props: dict[str, Any]) -> bool:
        return phase_of(props) == "distribute" and put_seen(stack, "/images/e2e-restart/versions/")

    for what, ready in (
        ("deployment polling", polling_deployment),
        ("the long customizer", running_long_step),
        ("replication", replicating),
    ):
        wait_until(stack, run_id, ready, what)
        crash_and_restart(stack)
        kills.append(what)
    return {"run_id": run_id, "kills": kills, "run": stack.wait_run(NAME, run_id, timeout=300)}


def test_the_build_killed_three_times_succeeds_once(stack: KilnStack, crashed_build: dict[str, Any]) -> None:
    props = crashed_build["run"]["properties"]
    assert crashed_build["kills"] == ["deployment polling", "the long customizer", "replication"]
    assert props["runState"] == "Succeeded", props["message"]
    runs = stack.client.list_runs(NAME)
    assert [r["name"] for r in runs] == [crashed_build["run_id"]]
    outputs = stack.run_outputs(NAME)
    assert sorted(outputs) == ["e2e-restart-mi", "restart-gallery"]
    assert all(o["properties"].get("artifactId") for o in outputs.values())
    status = stack.durable_status(crashed_build["run_id"])
    assert status["runtimeStatus"] == "Completed"


def test_no_resource_was_created_twice(stack: KilnStack, crashed_build: dict[str, Any]) -> None:
    creates = Counter(
        r["path"].lower() for r in stack.request_log() if r["method"] == "PUT" and r["status"] == 201
    )
    assert len(creates) > 10, "azuresim's request log should hold the build's creates"
    twice = {path: n for path, n in creates.items() if n > 1}
    assert twice == {}


def test_nothing_temporary_is_left_after_the_restarts(
    stack: KilnStack, crashed_build: dict[str, Any]
) -> None:
    assert stack.leftovers(crashed_build["run_id"]) == []
