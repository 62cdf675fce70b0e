"""The ``patch_cycle`` orchestration replayed by the real SDK in devhost's engine, its steps scripted: the
sliding window over the members, and a cycle whose step fails for good ends its document Failed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.models import cycles as c
from tests.orchestrators.conftest import Harness

pytestmark = pytest.mark.timeout(120)
REF = c.CycleRef(subscription_id="s", cycle_id="weekly-20261205T020000Z")


def _start(harness: Harness, **policy: Any) -> str:
    inp = c.CycleInput(cycle=REF, policy=c.CyclePolicy(poll_seconds=0.01, start_spacing_seconds=0, **policy))
    return harness.engine.start_new(
        c.PATCH_CYCLE.name, "patch-cycle-1", json.dumps(inp.model_dump(mode="json"))
    )


def test_a_cycle_admits_its_members_watches_their_builds_and_finishes(harness: Harness) -> None:
    members = 3
    script = harness.script
    script.behaviours[c.CYCLE_BEGIN.name] = lambda p: c.CycleBegun(members=members).model_dump(mode="json")

    def admit(p: dict[str, Any]) -> dict[str, Any]:
        start = p["next_index"]
        taken = range(start, min(members, start + p["want"]))
        started = [c.InFlight(index=i, run_id=f"run-{i}") for i in taken]
        return c.Admitted(started=started, next_index=start + len(started)).model_dump(mode="json")

    script.behaviours[c.CYCLE_ADMIT.name] = admit
    _start(harness, max_builds=2)

    status = harness.engine.wait_for("patch-cycle-1", 60)
    assert status is not None and status["runtimeStatus"] == "Completed", status
    assert status["output"]["state"] == "Succeeded"
    admitted = [p["next_index"] for p in script.payloads(c.CYCLE_ADMIT.name)]
    assert admitted[0] == 0 and max(len(p["in_flight"]) for p in script.payloads(c.CYCLE_CHECK.name)) <= 2
    checked = {b["run_id"] for p in script.payloads(c.CYCLE_CHECK.name) for b in p["in_flight"]}
    assert checked == {"run-0", "run-1", "run-2"}
    assert script.names()[-1] == c.CYCLE_FINISH.name and c.CYCLE_FAIL.name not in script.names()


def test_a_step_that_fails_for_good_ends_the_cycles_document_failed_and_the_orchestration_failed(
    harness: Harness,
) -> None:
    script = harness.script
    script.behaviours[c.CYCLE_BEGIN.name] = lambda p: c.CycleBegun(members=4).model_dump(mode="json")

    def broken(p: dict[str, Any]) -> Any:
        raise RuntimeError("the store is unreachable")

    script.behaviours[c.CYCLE_ADMIT.name] = broken
    _start(harness)

    status = harness.engine.wait_for("patch-cycle-1", 90)
    assert status is not None and status["runtimeStatus"] == "Failed", status
    assert len(script.payloads(c.CYCLE_ADMIT.name)) == 5  # every attempt of its retry policy
    (failure,) = script.payloads(c.CYCLE_FAIL.name)
    assert failure["cycle"] == REF.model_dump(mode="json")
    assert "the store is unreachable" in failure["message"]
    assert c.CYCLE_FINISH.name not in script.names()
