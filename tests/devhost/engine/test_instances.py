"""Sub-orchestrations, terminate, purge and instance queries."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from devhost.engine import DurableEngine
from tests.devhost.engine.helpers import brief, completed, wait_until

pytestmark = pytest.mark.timeout(60)


def test_sub_orchestrations_complete_back_to_the_parent(engine: DurableEngine) -> None:
    iid = engine.start_new("parent", "par-1", json.dumps({"child_id": "named-child"}))
    output = completed(engine, iid)["output"]
    assert output["first"] == {"greeting": "Hello a!", "parent": "par-1"}
    assert output["named"] == {"greeting": "Hello b!", "parent": "par-1"}
    assert output["outcome"] == "child c ok"
    assert brief(engine, iid) == " ".join(f"SubCreated#{n} SubCompleted#{n}" for n in range(3))
    # child ids: "{parent}:{seq}" unless given
    assert completed(engine, "par-1:0")["input"] == {"name": "a"}
    assert completed(engine, "named-child")["output"]["greeting"] == "Hello b!"
    assert completed(engine, "par-1:2")["name"] == "child"


def test_sub_orchestration_failure_is_raised_in_the_parent(engine: DurableEngine) -> None:
    iid = engine.start_new("parent", "par-2", json.dumps({"fail": True}))
    # the parent sees Exception(f"{Reason} \n {Details}")
    assert completed(engine, iid)["output"]["outcome"] == "caught: child c exploded "
    child = engine.get_status("par-2:2")
    assert child is not None and child["runtimeStatus"] == "Failed" and child["output"] == "child c exploded"


def test_terminate_stops_the_instance_and_ignores_the_running_activity(
    engine: DurableEngine, testapp: Any, logs: list[dict[str, Any]]
) -> None:
    gate = testapp.gate("terminate")
    iid = engine.start_new("gated", "term-1", json.dumps("terminate"))
    wait_until(lambda: engine.stats()["runningActivities"] == 1)
    assert engine.terminate(iid, "operator said stop") == "accepted"
    status = engine.wait_for(iid, 10)
    assert status is not None and status["runtimeStatus"] == "Terminated"
    assert status["output"] == "operator said stop"
    gate.set()  # the activity finishes (termination does not interrupt it); its result is dropped
    wait_until(lambda: any(e["kind"] == "activity" and e["instanceId"] == iid for e in logs))
    wait_until(lambda: engine.stats()["runningActivities"] == 0)
    assert engine.get_status(iid)["runtimeStatus"] == "Terminated"  # type: ignore[index]
    assert brief(engine, iid) == "TS#0"
    assert engine.terminate(iid, "again") == "gone"
    assert engine.terminate("nobody", None) == "not_found"


def test_terminating_a_child_fails_the_parents_task(engine: DurableEngine, testapp: Any) -> None:
    engine.start_new("gated_parent", "gp-1", json.dumps("gp-child"))
    wait_until(lambda: (engine.get_status("gp-child") or {}).get("runtimeStatus") == "Running")
    assert engine.terminate("gp-child", "not needed") == "accepted"
    assert completed(engine, "gp-1")["output"] == "child failed: Sub-orchestration was terminated: not needed"
    testapp.gate("parent-gate").set()  # let the orphaned activity end


def test_purge_removes_finished_instances_only(engine: DurableEngine, testapp: Any) -> None:
    done = engine.start_new("sequence", "purge-done", None)
    completed(engine, done)
    gate = testapp.gate("purge")
    engine.start_new("gated", "purge-running", json.dumps("purge"))
    assert engine.purge("purge-running") == 0  # running instances are not purged
    assert engine.purge(done) == 1
    assert engine.get_status(done) is None
    assert engine.purge(done) == 0
    gate.set()
    completed(engine, "purge-running")


def test_purge_by_filters_on_status_and_creation_time(engine: DurableEngine) -> None:
    before = dt.datetime.now(dt.UTC)
    ok = [engine.start_new("sequence", f"pb-ok-{i}", None) for i in range(3)]
    bad = engine.start_new("failing", "pb-bad", None)
    for iid in ok:
        completed(engine, iid)
    engine.wait_for(bad, 10)
    assert engine.purge_by(runtime_status=["Failed"]) == 1
    assert engine.purge_by(created_to=before - dt.timedelta(hours=1)) == 0
    assert engine.purge_by(created_from=before, runtime_status=["Completed", "Running"]) == 3
    assert engine.query()[0] == []


def test_query_filters_and_pages_with_a_continuation_token(engine: DurableEngine) -> None:
    ids = [engine.start_new("sequence", f"q-{i:02d}", json.dumps([str(i)])) for i in range(7)]
    engine.start_new("failing", "other-1", None)
    for iid in ids:
        completed(engine, iid)
    engine.wait_for("other-1", 10)
    pages, token = [], None
    while True:
        page, token = engine.query(instance_id_prefix="q-", top=3, continuation=token)
        pages.append([s["instanceId"] for s in page])
        if token is None:
            break
    assert pages == [ids[0:3], ids[3:6], ids[6:7]]
    failed, _ = engine.query(runtime_status=["Failed"], show_input=True)
    assert [s["instanceId"] for s in failed] == ["other-1"]
    everything, token = engine.query()
    assert token is None and len(everything) == 8 and everything[0]["input"] is None
    future = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    assert engine.query(created_from=future)[0] == []
    with pytest.raises(ValueError, match="Invalid continuation token"):
        engine.query(continuation="not-a-token")


def test_a_child_id_that_is_already_running_fails_the_parents_task(
    engine: DurableEngine, testapp: Any
) -> None:
    iid = engine.start_new("twin_children", None, None)
    output = completed(engine, iid)["output"]
    assert output == "An orchestration with instance id 'twin' already exists and is Pending"
    testapp.gate("twin-gate").set()
    assert completed(engine, "twin")["output"] == "gate twin-gate passed"
