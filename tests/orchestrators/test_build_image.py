"""build_image through the real SDK replay: the phases in AIB's order, compensation, cancel and timeout."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest

from orchestrators.steps import restart_timeout
from shared.models.build import BUILD_SCHEMA, PhaseError, StepOutcome, TargetResult
from shared.models.durable import DeployOutput, Polled, TargetProgress, UndoOutput
from tests.orchestrators.conftest import FAST, Harness, build_input, template
from tests.orchestrators.scripted_app import VM, Behaviour, checked_step, pending, progress

PHASES = [
    "resolve_source",
    "preflight",
    "prepare_staging_group",
    "deploy_build_vm",
    "stage_artifacts",
]


def error(code: str = "Boom", message: str = "it broke") -> dict[str, Any]:
    return PhaseError(code=code, message=message).model_dump(mode="json")


def statuses(h: Harness) -> list[dict[str, Any]]:
    return h.script.reports()


def test_happy_path_runs_every_phase_in_aib_order_and_cleans_up_once(harness: Harness) -> None:
    harness.start(build_input())
    output = harness.finish()

    assert output["run_state"] == "Succeeded"
    names = harness.script.names()
    assert names[:7] == [*PHASES, "run_step", "run_step"]
    assert names.index("generalize_vm") < names.index("distribute")
    assert names.index("record_outputs") < names.index("delete_build_vm")
    assert names.count("delete_build_vm") == 1 and names.count("distribute") == 2
    assert "undo_distribute" not in names
    gallery = next(t for t in output["targets"] if t["run_output_name"] == "gallery")
    assert gallery["regions"] == {"eastus": "Completed", "westeurope": "Completed", "japaneast": "Completed"}
    assert {t["run_output_name"] for t in output["targets"]} == {"managed", "gallery"}
    sub_states = [s["run_sub_state"] for s in statuses(harness) if s.get("run_sub_state")]
    assert sub_states == ["Building", "Building", "Customizing", "Distributing", "Distributing"]
    phases = [s["phase"] for s in statuses(harness) if s.get("phase")]
    assert phases[:5] == ["resolve", "preflight", "staging", "deploy", "artifacts"]
    assert phases[-3:] == ["outputs", "cleanup", "cleanup"]  # outputs, then the VM's deletion, then the end
    assert statuses(harness)[-1]["finished"] is True
    # Only the phases' first activities carry reports: one update_run_status of its own, the final one.
    assert len(harness.script.payloads("update_run_status")) == 1


@pytest.mark.parametrize("phase", PHASES)
def test_a_permanent_error_at_each_early_phase_fails_the_run_and_undoes_what_was_started(
    harness: Harness, phase: str
) -> None:
    failing: dict[str, Behaviour] = {
        "resolve_source": lambda p: {"error": error()},
        "preflight": lambda p: {"error": error()},
        "prepare_staging_group": lambda p: {"error": error()},
        "deploy_build_vm": lambda p: DeployOutput(
            done=True, succeeded=False, error=PhaseError(code="Boom", message="it broke")
        ).model_dump(),
        "stage_artifacts": lambda p: {"error": error()},
    }
    harness.script.behaviours[phase] = failing[phase]
    harness.start(build_input())
    output = harness.finish()

    assert output["run_state"] == "Failed"
    assert "it broke" in output["message"]
    names = harness.script.names()
    assert names[-1] == phase or names[-1] == "delete_build_vm"
    created_vm = PHASES.index(phase) >= PHASES.index("deploy_build_vm")
    assert ("delete_build_vm" in names) == created_vm
    assert "run_step" not in names


def test_a_failed_customizer_names_its_index_name_exit_code_and_log_tail(harness: Harness) -> None:
    outcome = StepOutcome(succeeded=False, exit_code=3, log_tail=[f"line {i}" for i in range(30)])

    def run_step(payload: dict[str, Any]) -> dict[str, Any]:
        ok = payload["step"]["index"] == 0
        return checked_step(StepOutcome(succeeded=True, exit_code=0) if ok else outcome)

    harness.script.behaviours["run_step"] = run_step
    harness.start(build_input())
    output = harness.finish()

    assert output["run_state"] == "Failed"
    message = output["message"]
    assert "Shell customizer 1 'second'" in message and "exit code 3" in message
    assert "line 29" in message and "line 10" in message and "line 9\n" not in message
    assert harness.script.names()[-1] == "delete_build_vm"
    assert "generalize_vm" not in harness.script.names()


def test_error_handling_abort_keeps_the_build_vm_and_says_where_it_is(harness: Harness) -> None:
    harness.script.behaviours["run_step"] = lambda p: checked_step(StepOutcome(succeeded=False, exit_code=1))
    harness.start(build_input(template(errorHandling={"onCustomizerError": "abort"})))
    output = harness.finish()

    assert output["run_state"] == "Failed"
    assert "delete_build_vm" not in harness.script.names()
    assert "kilnabcd1234" in output["message"] and "kiln-admin-abcd1234" in output["message"]
    final = statuses(harness)[-1]
    assert final["kept_vm"]["vm_name"] == "kilnabcd1234"


def test_a_failed_distribute_target_gives_partially_succeeded_and_undoes_only_that_target(
    harness: Harness,
) -> None:
    def distribute(payload: dict[str, Any]) -> dict[str, Any]:
        target = payload["target"]
        if target["run_output_name"] != "managed":
            return progress(payload)
        error = PhaseError(code="ImageFailed", message="quota exceeded")
        result = TargetResult(run_output_name="managed", type=target["type"], succeeded=False, error=error)
        return TargetProgress(done=True, result=result, error=error).model_dump(mode="json")

    harness.script.behaviours["distribute"] = distribute
    harness.start(build_input())
    output = harness.finish()

    assert output["run_state"] == "PartiallySucceeded"
    assert "managed: quota exceeded" in output["message"]
    undone = [p["target"]["run_output_name"] for p in harness.script.payloads("undo_distribute")]
    assert undone == ["managed"]
    names = harness.script.names()
    assert names.index("undo_distribute") < names.index("delete_build_vm")


def test_a_region_that_fails_is_retried_once_and_then_reported(harness: Harness) -> None:
    def distribute(payload: dict[str, Any]) -> dict[str, Any]:
        gallery = payload["target"]["type"] == "SharedImage"
        return progress(payload, failed=("japaneast",) if gallery else ())

    harness.script.behaviours["distribute"] = distribute
    harness.start(build_input())
    output = harness.finish()

    asked = [p["retry_regions"] for p in harness.script.payloads("distribute") if p["retry_regions"]]
    assert asked == [["japaneast"]]
    gallery = next(t for t in output["targets"] if t["run_output_name"] == "gallery")
    assert gallery["succeeded"] is False and gallery["regions"]["japaneast"] == "Failed"
    assert gallery["regions"]["eastus"] == "Completed"
    assert output["run_state"] == "PartiallySucceeded"


def test_cancel_during_customization_cleans_up_and_ends_canceled(harness: Harness) -> None:
    harness.script.behaviours["run_step"] = pending
    harness.start(build_input())
    harness.wait_until_called("run_step")
    assert harness.engine.raise_event("run-1", "cancel", "null") == "accepted"
    output = harness.finish()

    assert output["run_state"] == "Canceled"
    # The interrupted step's activity may still be waiting; the run's own last act is the cleanup.
    assert [n for n in harness.script.names() if n != "run_step"][-1] == "delete_build_vm"
    states = [s.get("run_state") for s in statuses(harness)]
    assert states.index("Canceling") < states.index("Canceled")


def test_cancel_during_distribution_undoes_targets_newest_first_then_the_vm(harness: Harness) -> None:
    harness.script.behaviours["distribute"] = pending
    harness.start(build_input())
    harness.wait_until_called("distribute")
    harness.engine.raise_event("run-1", "cancel", "null")
    output = harness.finish()

    assert output["run_state"] == "Canceled"
    undone = [p["target"]["run_output_name"] for p in harness.script.payloads("undo_distribute")]
    assert undone == ["gallery", "managed"]
    assert [n for n in harness.script.names() if n != "distribute"][-1] == "delete_build_vm"


def test_the_build_timeout_ends_the_run_failed_with_a_message_that_says_so(harness: Harness) -> None:
    harness.script.behaviours["run_step"] = pending
    timing = FAST.model_copy(update={"timeout_scale": 1 / 600})  # 10 minutes -> 1 second
    harness.start(build_input(template(buildTimeoutInMinutes=10), timing=timing))
    output = harness.finish()

    assert output["run_state"] == "Failed"
    assert (
        "context deadline exceeded" in output["message"]
        and "buildTimeoutInMinutes (10 minutes)" in output["message"]
    )
    assert "during customize" in output["message"]
    assert [n for n in harness.script.names() if n != "run_step"][-1] == "delete_build_vm"


def test_validation_failure_with_continue_distribute_still_distributes_but_reports_failed(
    harness: Harness,
) -> None:
    def run_step(payload: dict[str, Any]) -> dict[str, Any]:
        ok = payload["step"]["phase"] != "validate"
        return checked_step(StepOutcome(succeeded=ok, exit_code=0 if ok else 7))

    harness.script.behaviours["run_step"] = run_step
    validate = {
        "continueDistributeOnFailure": True,
        "inVMValidations": [{"type": "Shell", "inline": ["false"]}],
    }
    harness.start(build_input(template(validate=validate)))
    output = harness.finish()

    assert output["run_state"] == "Failed"
    assert "distribute" in harness.script.names()
    assert "exit code 7" in output["message"]


def test_source_validation_only_validates_without_customizing_or_distributing(harness: Harness) -> None:
    validate = {"sourceValidationOnly": True, "inVMValidations": [{"type": "Shell", "inline": ["true"]}]}
    harness.start(build_input(template(validate=validate)))
    output = harness.finish()

    assert output["run_state"] == "Succeeded"
    steps = [p["step"]["phase"] for p in harness.script.payloads("run_step")]
    assert steps == ["validate"]
    assert "distribute" not in harness.script.names()
    assert harness.script.names()[-1] == "delete_build_vm"


def test_windows_update_runs_rounds_with_restarts_until_no_update_remains(harness: Harness) -> None:
    rounds = iter([(3, 2, True), (2, 0, True)])

    def run_step(payload: dict[str, Any]) -> dict[str, Any]:
        if payload["step"]["kind"] != "WindowsUpdate":
            return checked_step(StepOutcome(succeeded=True))
        installed, remaining, reboot = next(rounds)
        outcome = StepOutcome(
            succeeded=True, updates_installed=installed, updates_remaining=remaining, needs_restart=reboot
        )
        return checked_step(outcome)

    harness.script.behaviours["run_step"] = run_step
    customize = [
        {"type": "WindowsUpdate", "updateLimit": 40},
        {"type": "WindowsRestart", "restartTimeout": "10m"},
    ]
    harness.start(build_input(template(customize=customize)))
    output = harness.finish()

    assert output["run_state"] == "Succeeded"
    assert harness.script.names().count("restart_vm") == 3  # two update rounds, then the WindowsRestart step
    attempts = [
        p["attempt"] for p in harness.script.payloads("run_step") if p["step"]["kind"] == "WindowsUpdate"
    ]
    assert attempts == [0, 1]


def _never_restarts(payload: dict[str, Any]) -> dict[str, Any]:
    return Polled(done=False, state="not restarted yet").model_dump(mode="json")


def test_a_windows_restart_waits_its_compound_restart_timeout() -> None:
    assert restart_timeout("1h30m") == timedelta(minutes=90)  # not 5 minutes
    assert restart_timeout("2h5m30s") == timedelta(hours=2, minutes=5, seconds=30)
    assert restart_timeout(None) == restart_timeout("") == timedelta(minutes=5)  # AIB's default


def test_a_restart_that_never_happens_fails_the_run_saying_what_was_last_seen(harness: Harness) -> None:
    harness.script.behaviours["restart_vm"] = _never_restarts
    harness.start(build_input(template(customize=[{"type": "WindowsRestart", "restartTimeout": "1s"}])))
    output = harness.finish()

    assert output["run_state"] == "Failed"
    expected = "did not restart and come back within restartTimeout (1s); last seen: not restarted yet."
    assert expected in output["message"]
    later = harness.script.payloads("restart_vm")[1:]
    assert later and all(p["begin"] is False for p in later)  # restarted once, then only looked at


def test_a_waiting_activity_is_called_again_until_done_and_only_its_first_call_reports(
    harness: Harness,
) -> None:
    calls = {"n": 0}

    def deploy(payload: dict[str, Any]) -> dict[str, Any]:
        calls["n"] += 1
        answer = DeployOutput(done=calls["n"] >= 4, succeeded=True, vm=VM)
        return answer.model_dump(mode="json")

    harness.script.behaviours["deploy_build_vm"] = deploy
    harness.start(build_input())
    output = harness.finish()

    assert output["run_state"] == "Succeeded"
    payloads = harness.script.payloads("deploy_build_vm")
    assert len(payloads) == 4
    assert payloads[0]["report"]["phase"] == "deploy" and all(p["report"] is None for p in payloads[1:])
    assert all(p["wait"]["until"] <= "2030" for p in payloads)


def test_a_wait_past_its_phase_timeout_fails_the_phase_and_still_cleans_up(harness: Harness) -> None:
    harness.script.behaviours["deploy_build_vm"] = lambda p: {**pending(p), "vm": VM.model_dump(mode="json")}
    timing = FAST.model_copy(update={"deploy_timeout_minutes": 0.005})  # 0.3 s
    harness.start(build_input(timing=timing))
    output = harness.finish()

    assert output["run_state"] == "Failed"
    assert "deployment did not finish in time" in output["message"]
    deletes = harness.script.payloads("delete_build_vm")
    assert len(deletes) == 1 and deletes[0]["vm"]["vm_name"] == VM.vm_name


def test_a_history_grows_with_the_phases_not_with_the_waits(harness: Harness) -> None:
    """The same build with a deployment that keeps its activity waiting: the history does not grow."""
    harness.start(build_input(), "quick")
    harness.finish("quick")
    harness.script.behaviours["deploy_build_vm"] = lambda p: (
        time.sleep(0.15),
        DeployOutput(done=True, succeeded=True, vm=VM).model_dump(mode="json"),
    )[1]
    harness.start(build_input(), "slow")
    harness.finish("slow")
    quick = harness.engine.get_status("quick", show_history=True)
    slow = harness.engine.get_status("slow", show_history=True)
    assert quick and slow and len(slow["historyEvents"]) == len(quick["historyEvents"])
    assert len(quick["historyEvents"]) <= 120
    assert (
        harness.engine.query(instance_id_prefix="quick:") == ([], None)
        or not harness.engine.query(instance_id_prefix="quick:")[0]
    )


def test_serial_distribution_adds_one_region_after_another_and_one_target_after_another(
    harness: Harness,
) -> None:
    payload = build_input()
    serial = payload.replace('"distribution": "parallel"', '"distribution": "serial"')
    assert serial != payload
    harness.start(serial)
    output = harness.finish()

    assert output["run_state"] == "Succeeded"
    calls = harness.script.payloads("distribute")
    assert [p["target"]["run_output_name"] for p in calls] == ["managed", "gallery", "gallery", "gallery"]
    gallery = [p["target"]["region_limit"] for p in calls if p["target"]["type"] == "SharedImage"]
    assert gallery == [1, 2, 3]
    assert [p["started"] is None for p in calls] == [True, True, True, True]  # the version PUT again, wider
    result = next(t for t in output["targets"] if t["run_output_name"] == "gallery")
    assert list(result["regions"]) == ["eastus", "westeurope", "japaneast"]


def test_an_enabled_workload_optimization_runs_after_the_customizers_and_before_validation(
    harness: Harness,
) -> None:
    optimize = {"workload": {"state": "Enabled", "scriptUri": "https://example.com/tune.sh"}}
    validate = {"inVMValidations": [{"type": "Shell", "inline": ["true"]}]}
    harness.start(build_input(template(optimize=optimize, validate=validate)))
    output = harness.finish()

    assert output["run_state"] == "Succeeded"
    phases = [p["step"]["phase"] for p in harness.script.payloads("run_step")]
    assert phases == ["customize", "customize", "optimize", "validate", "generalize"]
    sub_states = [s["run_sub_state"] for s in statuses(harness) if s.get("run_sub_state")]
    assert sub_states.index("Optimizing") < sub_states.index("Validating")


def test_an_input_of_another_kiln_version_ends_the_run_failed_without_running_a_phase(
    harness: Harness,
) -> None:
    older = build_input().replace(
        f'"schema_version": {BUILD_SCHEMA}', f'"schema_version": {BUILD_SCHEMA - 1}'
    )
    assert older != build_input()
    harness.start(older)
    output = harness.finish()

    assert output["run_state"] == "Failed" and "another version of kiln" in output["message"]
    assert harness.script.names() == []
    assert statuses(harness)[-1]["finished"] is True and statuses(harness)[-1]["run_state"] == "Failed"


def _captured_then_replicating(harness: Harness, payload: dict[str, Any]) -> dict[str, Any]:
    """A gallery target whose own region is captured at once and whose other regions replicate until the
    build VM's deletion has been asked for; a managed image that ends at once."""
    if payload["target"]["type"] != "SharedImage":
        return progress(payload)
    if "delete_build_vm" in harness.script.names():
        return progress(payload)
    answer = TargetProgress.model_validate(progress(payload))
    regions = [r.model_copy(update={"state": "Completed" if i == 0 else "Replicating"}) for i, r in
               enumerate(answer.regions)]  # fmt: skip
    time.sleep(0.02)
    waiting = TargetProgress(done=False, started=answer.started, regions=regions, captured=True)
    return waiting.model_dump(mode="json")


def test_the_build_vm_is_deleted_once_every_target_is_captured_while_regions_still_replicate(
    harness: Harness,
) -> None:
    harness.script.behaviours["distribute"] = lambda p: _captured_then_replicating(harness, p)
    harness.start(build_input())
    output = harness.finish()

    assert output["run_state"] == "Succeeded"
    names = harness.script.names()
    assert names.count("delete_build_vm") == 1
    calls = [(n, p) for n, p in harness.script.calls if n != "update_run_status"]  # as names() counts
    last_gallery_call = max(
        i for i, (n, p) in enumerate(calls) if n == "distribute" and p["target"]["type"] == "SharedImage"
    )
    assert names.index("delete_build_vm") < last_gallery_call < names.index("record_outputs")
    gallery = [p for p in harness.script.payloads("distribute") if p["target"]["type"] == "SharedImage"]
    assert gallery[0]["until_captured"] is True  # come back when captured, not only when replicated
    assert all(p["until_captured"] is False for p in gallery[1:])
    assert all(t["succeeded"] for t in output["targets"])
    assert statuses(harness)[-1]["phase"] == "cleanup"


def test_a_cancel_while_the_captured_vm_is_being_deleted_deletes_it_again_in_compensation(
    harness: Harness,
) -> None:
    canceled = threading.Event()
    harness.script.behaviours["distribute"] = lambda p: _captured_then_replicating(harness, p)
    # The VM is not gone before the cancel; compensation's own deletion then ends.
    harness.script.behaviours["delete_build_vm"] = lambda p: (
        UndoOutput(done=True).model_dump(mode="json") if canceled.is_set() else pending(p)
    )
    harness.start(build_input())
    harness.wait_until_called("delete_build_vm")
    harness.engine.raise_event("run-1", "cancel", "null")
    canceled.set()
    output = harness.finish()

    assert output["run_state"] == "Canceled"
    # The deletion begun beside the replication had not ended: compensation asks for it again, last.
    assert [n for n in harness.script.names() if n not in ("distribute",)][-1] == "delete_build_vm"
    assert harness.script.names().count("delete_build_vm") >= 2
