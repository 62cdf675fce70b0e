"""Starting instances, activity results and failures, orchestrator failures, status shape and logs."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from devhost.engine import DurableEngine, InstanceExists, UnknownFunction
from tests.devhost.engine.helpers import brief, completed, wait_until

pytestmark = pytest.mark.timeout(60)


def test_activity_sequence_uses_one_sequence_id_per_call_in_yield_order(engine: DurableEngine) -> None:
    iid = engine.start_new("sequence", "seq-1", json.dumps(["Oslo", "Lima"]))
    status = completed(engine, iid)
    assert status["output"] == ["Hello Oslo!", "Hello Lima!"]
    assert status["input"] == ["Oslo", "Lima"]
    assert brief(engine, iid) == "TS#0 TC#0 TS#1 TC#1"


def test_status_has_the_durable_http_api_shape(engine: DurableEngine) -> None:
    iid = engine.start_new("sequence", "shape-1", None)
    completed(engine, iid)
    status = engine.get_status(iid)
    assert status is not None
    assert set(status) == {
        "name",
        "instanceId",
        "runtimeStatus",
        "input",
        "output",
        "customStatus",
        "createdTime",
        "lastUpdatedTime",
    }
    assert status["name"] == "sequence" and status["instanceId"] == "shape-1"
    assert status["createdTime"].endswith("Z") and len(status["createdTime"]) == 20
    assert engine.get_status(iid, show_input=False)["input"] is None  # type: ignore[index]
    assert engine.get_status("nobody") is None


def test_history_output_is_hidden_unless_requested(engine: DurableEngine) -> None:
    iid = engine.start_new("sequence", "hist-1", json.dumps(["Rome"]))
    completed(engine, iid)
    plain = engine.get_status(iid, show_history=True)["historyEvents"]  # type: ignore[index]
    full = engine.get_status(iid, show_history=True, show_history_output=True)["historyEvents"]  # type: ignore[index]
    assert [e["EventType"] for e in plain] == [
        "ExecutionStarted",
        "TaskScheduled",
        "TaskCompleted",
        "ExecutionCompleted",
    ]
    assert "Result" not in plain[2] and full[2]["Result"] == '"Hello Rome!"'


def test_async_activity_is_awaited_and_new_uuid_is_replay_stable(engine: DurableEngine) -> None:
    iid = engine.start_new("mixed", None, None)
    output = completed(engine, iid)["output"]
    assert output["echo"] == {"echo": {"n": 1}}
    assert output["again"] is True
    # The output comes from the last replay (episode 2) but new_uuid() ran before the first yield, so it must
    # be derived from episode 1's OrchestratorStarted time, as the SDK does: replayed history is identical.
    started = engine.get_status(iid, show_history=True)["historyEvents"][0]  # type: ignore[index]
    assert started["EventType"] == "ExecutionStarted"
    namespace = uuid.uuid5(uuid.NAMESPACE_OID, "9e952958-5e33-4daf-827f-2fa12937b875")  # the SDK's
    assert output["uuid"] == str(uuid.uuid5(namespace, f"{iid}_{started['Timestamp']}_0"))


def test_activity_exception_reaches_the_orchestrator_with_the_host_reason(engine: DurableEngine) -> None:
    iid = engine.start_new("activity_failure", None, None)
    expected = "Activity function 'fail_always' failed: RuntimeError: disk full "  # "{Reason} \n {Details}"
    assert completed(engine, iid)["output"] == expected
    assert brief(engine, iid) == "TS#0 TF#0"


def test_orchestrator_exception_fails_the_instance_with_its_message(engine: DurableEngine) -> None:
    iid = engine.start_new("failing", None, None)
    status = engine.wait_for(iid, 10)
    assert status is not None and status["runtimeStatus"] == "Failed"
    assert status["output"] == "orchestrator gave up"


def test_start_new_rejects_unknown_orchestrators_and_running_ids(engine: DurableEngine, testapp: Any) -> None:
    with pytest.raises(UnknownFunction):
        engine.start_new("no_such_orchestrator", None, None)
    with pytest.raises(UnknownFunction):
        engine.start_new("hello", None, None)  # an activity is not an orchestrator
    with pytest.raises(ValueError, match="Invalid instance id"):
        engine.start_new("sequence", "bad/id", None)
    gate = testapp.gate("exists")
    engine.start_new("gated", "busy-1", json.dumps("exists"))
    with pytest.raises(InstanceExists):
        engine.start_new("gated", "busy-1", json.dumps("exists"))
    gate.set()
    assert completed(engine, "busy-1")["output"] == "gate exists passed"


def test_a_finished_instance_id_is_replaced_by_a_new_run(engine: DurableEngine) -> None:
    engine.start_new("failing", "reuse-1", None)
    assert engine.wait_for("reuse-1", 10)["runtimeStatus"] == "Failed"  # type: ignore[index]
    engine.start_new("sequence", "reuse-1", json.dumps(["Kyiv"]))
    status = completed(engine, "reuse-1")
    assert status["name"] == "sequence" and status["output"] == ["Hello Kyiv!"]
    assert brief(engine, "reuse-1") == "TS#0 TC#0"


def test_every_function_execution_is_logged(engine: DurableEngine, logs: list[dict[str, Any]]) -> None:
    iid = engine.start_new("activity_failure", None, None)
    completed(engine, iid)
    mine = [entry for entry in logs if entry["instanceId"] == iid]
    activity = [e for e in mine if e["kind"] == "activity"]
    assert [(e["function"], e["outcome"]) for e in activity] == [("fail_always", "Failed")]
    assert "disk full" in activity[0]["error"]
    episodes = [e for e in mine if e["kind"] == "orchestrator"]
    assert len(episodes) == 2 and all(e["function"] == "activity_failure" for e in episodes)
    assert all(e["outcome"] == "Succeeded" and e["durationMs"] >= 0 for e in episodes)


def test_unknown_activity_fails_the_task_not_the_host(engine: DurableEngine) -> None:
    iid = engine.start_new("missing_activity", None, None)
    output = completed(engine, iid)["output"]
    assert output.startswith("Activity function 'ghost' failed: LookupError: The function 'ghost' doesn't")


def test_stats_report_queue_sizes(engine: DurableEngine, testapp: Any) -> None:
    gate = testapp.gate("stats")
    engine.start_new("gated", "stats-1", json.dumps("stats"))
    wait_until(lambda: engine.stats()["runningActivities"] == 1)
    stats = engine.stats()
    assert set(stats) >= {"queuedActivities", "runningEpisodes", "pendingTimers"}
    gate.set()
    completed(engine, "stats-1")
    assert engine.stats()["runningActivities"] == 0
