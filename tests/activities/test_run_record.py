"""update_run_status and record_outputs through the run recorder the root wires: run documents, lastRunStatus,
operations, run outputs — and the same update delivered twice."""

from __future__ import annotations

from typing import Any

import pytest

from activities import run_record
from shared.bootstrap import Kiln, Overrides, bootstrap
from shared.models.build import PhaseError, RunRef, RunStatusUpdate, TargetResult, TimingPolicy
from shared.models.durable import RecordOutputsInput
from shared.service import ApiService, Caller, NothingToClean
from shared.service.deletion import TemplateDeletion
from shared.settings import Settings
from shared.store import JsonStore, TemplateRef, keys
from tests.api import bodies
from tests.fakes import FakeAzure, InMemoryDocuments

REF = TemplateRef(bodies.SUB, bodies.RG, "Tpl1")
V = "2025-10-01"


@pytest.fixture
def kiln() -> Kiln:
    overrides = Overrides(azure=FakeAzure(), documents=InMemoryDocuments())
    settings = Settings(api_page_size=10, timing_profile="local", time_scale=0.02)
    return bootstrap(settings, overrides=overrides)


@pytest.fixture
def store(kiln: Kiln) -> JsonStore:
    return kiln.store


@pytest.fixture
def service(kiln: Kiln) -> ApiService:
    svc = kiln.service
    svc.templates.put(REF, bodies.ubuntu(), api_version=V, caller=Caller())
    return svc


def _ref(run_id: str) -> RunRef:
    return RunRef(
        subscription_id=REF.subscription,
        resource_group=REF.resource_group,
        template_name=REF.name,
        run_id=run_id,
        location="eastus",
    )


def _update(run_id: str, time: str, **fields: Any) -> RunStatusUpdate:
    return RunStatusUpdate(run=_ref(run_id), time=time, **fields)


def _ports(service: ApiService) -> FakeAzure:
    """Activity ports whose run recorder is the service's, over the test's store (as the root wires it)."""
    ports = FakeAzure()
    ports.runs = service.records  # type: ignore[assignment]
    return ports


def _apply(service: ApiService, update: RunStatusUpdate) -> dict[str, Any]:
    """The activity ``update_run_status``, as the function app calls it."""
    state: dict[str, Any] = run_record.update_status(update, ports=_ports(service)).model_dump(mode="json")
    return state


def _record(service: ApiService, run: RunRef, targets: list[TargetResult]) -> list[str]:
    """The activity ``record_outputs``: the names written."""
    inp = RecordOutputsInput(run=run, targets=targets)
    return run_record.record_outputs(inp, ports=_ports(service)).written


def _template(service: ApiService) -> dict[str, Any]:
    props: dict[str, Any] = service.templates.get(REF, api_version=V)["properties"]
    return props


def test_a_sequence_of_updates_builds_phases_step_targets_and_last_run_status(service: ApiService) -> None:
    start = service.runs.begin(REF)
    rid = start.run_id
    ok = TargetResult(
        run_output_name="img", type="SharedImage", succeeded=True, artifact_id="/x/versions/1.0.0"
    )
    _apply(
        service,
        _update(
            rid,
            "2026-01-01T00:00:00Z",
            run_state="Running",
            run_sub_state="Queued",
            phase="resolve",
            message="Run started.",
        ),
    )
    _apply(service, _update(rid, "2026-01-01T00:00:05Z", phase="preflight", exact_version="24.04.202601"))
    _apply(
        service,
        _update(
            rid,
            "2026-01-01T00:00:09Z",
            run_sub_state="Building",
            phase="staging",
            exact_staging_resource_group="IT_rg-images_Tpl1_abc",
        ),
    )
    step = {"phase": "customize", "index": 0, "name": "apt", "state": "Running"}
    _apply(service, _update(rid, "2026-01-01T00:01:00Z", run_sub_state="Customizing", phase="customize"))
    _apply(service, _update(rid, "2026-01-01T00:01:01Z", step=step))
    _apply(
        service,
        _update(rid, "2026-01-01T00:02:00Z", phase="distribute", regions={"img": {"eastus": "Replicating"}}),
    )
    _apply(service, _update(rid, "2026-01-01T00:03:00Z", targets=[ok]))
    final = _apply(
        service,
        _update(
            rid,
            "2026-01-01T00:04:00Z",
            run_state="Succeeded",
            message="Run succeeded.",
            finished=True,
            phase="cleanup",
        ),
    )
    assert final == {"run_state": "Succeeded", "run_sub_state": "Customizing", "finished": True}

    run = service.runs.get(REF, rid)["properties"]
    assert [p["phase"] for p in run["phases"]] == [
        "resolve",
        "preflight",
        "staging",
        "customize",
        "distribute",
        "cleanup",
    ]
    assert all(p["state"] == "Succeeded" and p["endTime"] for p in run["phases"])
    assert run["phases"][1] == {
        "phase": "preflight",
        "startTime": "2026-01-01T00:00:05Z",
        "endTime": "2026-01-01T00:00:09Z",
        "state": "Succeeded",
    }
    assert run["step"] == {**step, "state": "Succeeded"}
    assert run["targets"] == [
        {
            "runOutputName": "img",
            "type": "SharedImage",
            "state": "Succeeded",
            "artifactId": "/x/versions/1.0.0",
            "artifactUri": None,
            "regions": {"eastus": "Replicating"},
            "error": None,
        }
    ]
    assert (run["startTime"] != "", run["endTime"]) == (True, "2026-01-01T00:04:00Z")

    props = _template(service)
    assert props["lastRunStatus"]["runState"] == "Succeeded"
    assert props["lastRunStatus"]["endTime"] == "2026-01-01T00:04:00Z"
    assert props["source"]["exactVersion"] == "24.04.202601"
    assert props["exactStagingResourceGroup"].endswith("/resourceGroups/IT_rg-images_Tpl1_abc")
    assert service.operations.get(REF.subscription, start.operation["id"])["status"] == "Succeeded"
    assert service.runs.active_run(REF) is None


def test_the_same_update_twice_changes_nothing_and_a_late_old_one_is_ignored(
    service: ApiService, store: JsonStore
) -> None:
    rid = service.runs.begin(REF).run_id
    first = _update(rid, "2026-01-01T00:00:00Z", run_state="Running", phase="resolve", message="Run started.")
    second = _update(rid, "2026-01-01T00:00:10Z", phase="preflight", message="Preflight.")
    _apply(service, first)
    _apply(service, second)
    key = keys.child(keys.RUNS, REF, rid)
    before = store.get(key)
    template_before = store.get(keys.template(REF))
    assert before is not None and template_before is not None
    _apply(service, second)  # redelivered
    _apply(service, first)  # redelivered late, after a newer one
    after = store.get(key)
    assert after is not None and after.body == before.body
    template_after = store.get(keys.template(REF))
    assert template_after is not None
    assert template_after.body["readOnly"] == template_before.body["readOnly"]
    assert [p["phase"] for p in after.body["properties"]["phases"]] == ["resolve", "preflight"]


def test_a_second_run_while_one_is_in_flight_is_refused_naming_it(service: ApiService) -> None:
    rid = service.runs.begin(REF).run_id
    with pytest.raises(Exception) as caught:
        service.runs.begin(REF)
    assert getattr(caught.value, "status", None) == 409
    assert rid in str(caught.value)
    _apply(service, _update(rid, "2026-01-01T00:00:00Z", run_state="Failed", message="boom", finished=True))
    again = service.runs.begin(REF)
    assert "-run-00002-" in again.run_id
    assert [r["name"] for r in service.runs.list(REF, token=None)[0]] == [again.run_id, rid]


def test_a_failed_run_fails_its_operation_with_the_runs_message_and_records_errors(
    service: ApiService,
) -> None:
    start = service.runs.begin(REF)
    rid = start.run_id
    bad = TargetResult(
        run_output_name="vhd",
        type="VHD",
        succeeded=False,
        error=PhaseError(code="CopyFailed", message="copy failed", phase="distribute"),
    )
    _apply(service, _update(rid, "2026-01-01T00:00:00Z", phase="distribute", targets=[bad]))
    _apply(
        service,
        _update(
            rid,
            "2026-01-01T00:00:01Z",
            run_state="Failed",
            finished=True,
            message="Some distribute targets failed: vhd: copy failed",
            phase="distribute",
        ),
    )
    op = service.operations.get(REF.subscription, start.operation["id"])
    assert op["status"] == "Failed"
    assert op["error"] == {"code": "RunFailed", "message": "Some distribute targets failed: vhd: copy failed"}
    run = service.runs.get(REF, rid)["properties"]
    assert run["phases"][-1]["state"] == "Failed"
    assert {"code": "CopyFailed", "message": "copy failed", "target": "vhd"} in run["errors"]
    assert _template(service)["lastRunStatus"]["runState"] == "Failed"


def test_cancel_marks_canceling_and_completes_when_the_run_is_canceled(service: ApiService) -> None:
    with pytest.raises(Exception) as caught:
        service.runs.begin_cancel(REF)
    assert getattr(caught.value, "code", None) == "NoRunInFlight"
    start = service.runs.begin(REF)
    _apply(
        service, _update(start.run_id, "2026-01-01T00:00:00Z", run_state="Running", message="Run started.")
    )
    run_id, op = service.runs.begin_cancel(REF)
    assert run_id == start.run_id and op["status"] == "InProgress"
    assert _template(service)["lastRunStatus"]["runState"] == "Canceling"
    # An update sent before the orchestration saw the cancel does not undo "Canceling".
    _apply(service, _update(run_id, "2026-01-01T00:00:01Z", run_state="Running", run_sub_state="Building"))
    assert service.runs.get(REF, run_id)["properties"]["runState"] == "Canceling"
    _apply(
        service,
        _update(
            run_id,
            "2026-01-01T00:00:02Z",
            run_state="Canceled",
            finished=True,
            message="The run was canceled; everything it created was cleaned up.",
        ),
    )
    assert service.operations.get(REF.subscription, op["id"])["status"] == "Succeeded"
    run_op = service.operations.get(REF.subscription, start.operation["id"])
    assert run_op["status"] == "Canceled" and run_op["error"]["code"] == "RunCanceled"
    assert _template(service)["lastRunStatus"]["runState"] == "Canceled"


def test_record_outputs_writes_succeeded_targets_and_replaces_older_ones(service: ApiService) -> None:
    first = service.runs.begin(REF).run_id
    good = TargetResult(run_output_name="img", type="ManagedImage", succeeded=True, artifact_id="/images/a")
    failed = TargetResult(run_output_name="vhd", type="VHD", succeeded=False)
    assert _record(service, _ref(first), [good, failed]) == ["img"]
    assert _record(service, _ref(first), [good, failed]) == ["img"]  # at least once: same result
    _apply(service, _update(first, "2026-01-01T00:00:00Z", run_state="Succeeded", finished=True))
    second = service.runs.begin(REF).run_id
    newer = good.model_copy(update={"artifact_id": "/images/b"})
    _record(service, _ref(second), [newer])
    # A late redelivery of the first run's outputs does not replace the second run's.
    assert _record(service, _ref(first), [good, failed]) == []
    listed = service.run_outputs.list(REF, token=None).items
    template_id = service.templates.get(REF, api_version=V)["id"]
    provenance = listed[0]["properties"].pop("provenance")
    assert provenance["kiln.outputOfRun"] == second and provenance["kiln.outputOfTemplate"] == template_id
    assert len(provenance["kiln.fingerprint"]) == 64
    assert listed == [
        {
            "id": f"{template_id}/runOutputs/img",
            "name": "img",
            "type": "Microsoft.VirtualMachineImages/imageTemplates/runOutputs",
            "properties": {"artifactId": "/images/b", "provisioningState": "Succeeded"},
        }
    ]


def test_the_run_input_carries_the_template_the_expiry_and_the_timing(service: ApiService) -> None:
    start = service.runs.begin(REF)
    build = start.input
    assert build["run"]["run_id"] == start.run_id and build["run"]["template_name"] == "Tpl1"
    assert build["template"]["properties"]["source"]["type"] == "PlatformImage"
    assert build["timing"] == TimingPolicy().scaled(0.02).model_dump(mode="json")
    assert build["expires_at"] == build["run"]["expires_at"] and build["expires_at"].endswith("Z")


def test_an_update_for_a_deleted_template_leaves_no_run_document(
    service: ApiService, store: JsonStore
) -> None:
    rid = service.runs.begin(REF).run_id
    # A cleanup with nothing to wait for: the template goes while its reserved run has not reported yet.
    deletion = TemplateDeletion(store, operations=service.operations, cleanup=NothingToClean())
    operation = deletion.delete(REF).operation
    assert operation is not None and operation["status"] == "Succeeded"
    state = _apply(service, _update(rid, "2026-01-01T00:00:00Z", run_state="Canceled", finished=True))
    assert state["run_state"] == "Canceled"
    assert store.list_all_keys(keys.children_prefix(keys.RUNS, REF)) == []
    assert store.get(keys.template(REF)) is None
