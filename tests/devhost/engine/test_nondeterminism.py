"""The host's non-determinism check: replayed scheduling must match history by sequence id."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from devhost.engine import DurableEngine
from tests.devhost.engine.helpers import wait_until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def drift(testapp: Any) -> Iterator[dict[str, str]]:
    testapp.NONDETERMINISM["mode"] = "activity"
    yield testapp.NONDETERMINISM
    testapp.NONDETERMINISM["mode"] = "activity"


@pytest.mark.parametrize(
    ("mode", "scheduled"),
    [("timer", "CreateTimer"), ("other_activity", "CallActivity 'double'")],
)
def test_changed_scheduling_fails_the_instance_naming_both_actions(
    engine: DurableEngine, drift: dict[str, str], mode: str, scheduled: str, logs: list[dict[str, Any]]
) -> None:
    iid = engine.start_new("drifting", None, None)
    wait_until(lambda: engine.get_status(iid)["customStatus"] == "waiting")  # type: ignore[index]
    drift["mode"] = mode  # the code "changed" between episodes
    engine.raise_event(iid, "E", json.dumps(1))
    status = engine.wait_for(iid, 10)
    assert status is not None and status["runtimeStatus"] == "Failed"
    assert status["output"] == (
        "Non-deterministic orchestrator 'drifting': sequence id 0 was CallActivity 'hello' in history "
        f"but the replay scheduled {scheduled}"
    )
    failed = [e for e in logs if e["instanceId"] == iid and e["outcome"] == "Failed"]
    assert failed and "Non-deterministic" in failed[-1]["error"]


def test_unchanged_code_replays_without_complaint(engine: DurableEngine, drift: dict[str, str]) -> None:
    iid = engine.start_new("drifting", None, None)
    wait_until(lambda: engine.get_status(iid)["customStatus"] == "waiting")  # type: ignore[index]
    engine.raise_event(iid, "E", json.dumps(1))
    status = engine.wait_for(iid, 10)
    assert status is not None and status["runtimeStatus"] == "Completed" and status["output"] == "finished"


@pytest.mark.parametrize(("mode", "action"), [("signal", "SignalEntity"), ("http", "CallHttp")])
def test_unsupported_actions_fail_the_instance_clearly(engine: DurableEngine, mode: str, action: str) -> None:
    iid = engine.start_new("uses_unsupported", None, json.dumps(mode))
    status = engine.wait_for(iid, 10)
    assert status is not None and status["runtimeStatus"] == "Failed"
    assert "devhost does not support" in status["output"] and action in status["output"]
