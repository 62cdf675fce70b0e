"""run_step's start and check, restart and the ready check: Run Command steps, their log and their outcome."""

from __future__ import annotations

import asyncio
import base64
import re
from typing import Any

from activities import steps, vm_power
from shared import naming
from shared.models.build import BuildVm, RunRef, StepOutcome, StepSpec
from shared.models.durable import Polled, RestartInput, StepInput
from tests.activities.support import (
    deployed,
    fetched,
    linux_template,
    poll,
    stage,
    wait,
    windows_template,
    world,
)
from tests.fakes import FakeAzure, ScriptOutcome, arm_id


def _step(
    kind: str,
    spec: dict[str, Any],
    *,
    index: int = 0,
    name: str = "",
    os_type: str = "Linux",
    phase: str = "customize",
) -> StepSpec:
    customizer = None if kind == "Deprovision" else {"type": kind, **spec}
    return StepSpec(phase=phase, index=index, name=name, kind=kind, os_type=os_type, spec=customizer)


def _run_step(fake: FakeAzure, run: RunRef, vm: BuildVm, step: StepSpec, attempt: int = 0) -> StepOutcome:
    inp = StepInput(run=run, vm=vm, step=step, attempt=attempt)
    started = steps.start(inp, ports=fake)
    assert started.error is None, started.error
    out = poll(steps.check, inp, fake)
    assert out.outcome is not None, out.error
    return out.outcome


def _log(fake: FakeAzure, run: RunRef, vm: BuildVm) -> str:
    blobs = fake.blobs(account_url=fake.storage_account_url(vm.storage_account))
    return blobs.download(
        container=naming.LOG_CONTAINER, name=naming.customization_log_blob(run.run_id)
    ).decode()


def _spec_named(fake: FakeAzure, vm: BuildVm, name: str) -> Any:
    """The RunCommandSpec PUT for the VM's Run Command ``name``."""
    rid = arm_id(vm.resource_group, "Microsoft.Compute/virtualMachines/runCommands", vm.vm_name, name)
    return fake.cloud.get(rid)["spec"]


def _spec(fake: FakeAzure, vm: BuildVm, inp: StepInput) -> Any:
    return _spec_named(fake, vm, steps.command_name(inp))


def _script(fake: FakeAzure, vm: BuildVm, inp: StepInput) -> str:
    return str(_spec(fake, vm, inp).script)


def _script_named(fake: FakeAzure, vm: BuildVm, name: str) -> str:
    return str(_spec_named(fake, vm, name).script)


def _embedded(script: str) -> bytes:
    body = re.search(r"<<'KILN_EOF'\n(.*?)\nKILN_EOF", script, re.S)
    assert body is not None
    return base64.b64decode(body.group(1))


def test_an_inline_shell_step_runs_and_its_output_lands_in_customization_log() -> None:
    fake = world()
    run, _, _, vm = deployed(fake, linux_template())
    fake.run_commands.outcomes.append(
        ScriptOutcome(pattern="customize step 0 'setup'", stdout="hello from the vm\n")
    )

    outcome = _run_step(fake, run, vm, _step("Shell", {"inline": ["echo one", "echo two"]}, name="setup"))

    assert outcome.succeeded and outcome.exit_code == 0
    assert outcome.log_tail == ["hello from the vm"]
    log = _log(fake, run, vm)
    assert "customize step 0 'setup' (Shell) attempt 0: Succeeded, exit code 0" in log
    assert "hello from the vm" in log
    # The Run Command is removed once its outcome is recorded (Azure limits how many a VM keeps).
    assert not [r for r in fake.cloud.resources if "/runcommands/" in r]


def test_a_running_steps_output_reaches_customization_log_while_it_runs_each_line_once() -> None:
    fake = world()
    run, _, _, vm = deployed(fake, linux_template())
    fake.run_commands.outcomes.append(ScriptOutcome(pattern="customize step 0 'long'", stdout="", reads=3))
    inp = StepInput(run=run, vm=vm, step=_step("Shell", {"inline": ["make"]}, name="long"))
    assert steps.start(inp, ports=fake).error is None
    spec = _spec(fake, vm, inp)
    output = fake.run_commands._writable(spec, spec.output_blob_uri)
    assert output is not None

    def prints(text: str) -> None:  # what Run Command appends to the output blob as the script prints
        fake.cloud.blobs.setdefault(output, bytearray()).extend(text.encode())

    prints("compiling 1/2\ncompiling 2")
    assert not steps.check(inp, ports=fake).done
    while_running = _log(fake, run, vm)
    prints("/2\n")
    assert not steps.check(inp, ports=fake).done
    prints("linked\n")
    outcome = poll(steps.check, inp, fake).outcome

    assert outcome is not None and outcome.succeeded
    assert "customize step 0 'long' (Shell) attempt 0: running" in while_running
    assert "    compiling 1/2" in while_running and "compiling 2" not in while_running.replace("1/2", "")
    log = _log(fake, run, vm)
    lines = [line for line in log.splitlines() if line.startswith("    ")]
    assert lines == ["    compiling 1/2", "    compiling 2/2", "    linked"]
    assert log.rstrip().endswith("customize step 0 'long' (Shell) attempt 0: Succeeded, exit code 0")
    assert outcome.log_tail == ["compiling 1/2", "compiling 2/2", "linked"]


def test_the_looks_of_one_run_step_call_read_the_copied_offset_once() -> None:
    fake = world()
    run, _, _, vm = deployed(fake, linux_template())
    fake.run_commands.outcomes.append(ScriptOutcome(pattern="customize step 0 'quiet'", stdout="", reads=4))
    inp = StepInput(run=run, vm=vm, step=_step("Shell", {"inline": ["make"]}, name="quiet"))
    assert steps.start(inp, ports=fake).error is None
    live = steps.live_log(inp)

    while not steps.check(inp, ports=fake, live=live).done:
        pass

    marker_reads = [c for c in fake.cloud.calls if c.startswith("blobs.download") and c.endswith(".copied")]
    assert len(marker_reads) == 1  # the later looks of the same call know how far the log got


def test_inline_lines_run_as_one_sh_e_script() -> None:
    fake = world()
    run, _, _, vm = deployed(fake, linux_template())
    inp = StepInput(run=run, vm=vm, step=_step("Shell", {"inline": ["echo one", "echo two"]}))

    steps.start(inp, ports=fake)

    assert _embedded(_script(fake, vm, inp)) == b"#!/bin/sh -e\necho one\necho two\n"


def test_a_staged_script_is_what_the_vm_runs() -> None:
    fake = world()
    run, _, _, vm = deployed(fake, linux_template())
    stage(fake, vm, run, "customize", 2, b"#!/bin/bash\napt-get -y install nginx\n")
    inp = StepInput(run=run, vm=vm, step=_step("Shell", {"scriptUri": "https://example.com/x.sh"}, index=2))

    steps.start(inp, ports=fake)

    script = _script(fake, vm, inp)
    assert fetched(fake, script) == b"#!/bin/bash\napt-get -y install nginx\n"
    assert "nginx" not in script  # the command carries a read-only URL of the staged blob, not its bytes


def test_a_failing_step_names_phase_index_name_exit_code_and_last_lines() -> None:
    fake = world()
    run, _, _, vm = deployed(fake, linux_template())
    lines = "".join(f"line {i}\n" for i in range(30))
    fake.run_commands.outcomes.append(
        ScriptOutcome(pattern="customize step 1", exit_code=3, stdout=lines, stderr="E: boom\n")
    )

    outcome = _run_step(fake, run, vm, _step("Shell", {"inline": ["false"]}, index=1, name="install"))

    assert not outcome.succeeded and outcome.exit_code == 3
    assert outcome.error is not None
    assert outcome.error.code == "CustomizerFailed" and outcome.error.target == "properties.customize[1]"
    assert "customize step 1 'install' (Shell) failed with exit code 3" in outcome.error.message
    assert len(outcome.log_tail) == 20 and outcome.log_tail[-1] == "E: boom"
    assert "E: boom" in outcome.error.message
    assert "stderr" in _log(fake, run, vm)


def test_powershell_exit_codes_are_judged_by_valid_exit_codes() -> None:
    fake = world()
    run, _, _, vm = deployed(fake, windows_template())
    fake.run_commands.outcomes.append(ScriptOutcome(pattern="customize step 0", exit_code=3010))
    fake.run_commands.outcomes.append(ScriptOutcome(pattern="customize step 1", exit_code=3010))

    allowed = _run_step(
        fake, run, vm, _step("PowerShell", {"inline": ["x"], "validExitCodes": [0, 3010]}, os_type="Windows")
    )
    refused = _run_step(fake, run, vm, _step("PowerShell", {"inline": ["x"]}, index=1, os_type="Windows"))

    assert allowed.succeeded
    assert not refused.succeeded and refused.error is not None
    assert "valid exit codes: [0]" in refused.error.message


def test_a_validator_failure_is_a_validation_error() -> None:
    fake = world()
    run, _, _, vm = deployed(fake, linux_template())
    fake.run_commands.outcomes.append(ScriptOutcome(pattern="validate step 0", exit_code=1))

    outcome = _run_step(fake, run, vm, _step("Shell", {"inline": ["test -f /nope"]}, phase="validate"))

    assert outcome.error is not None and outcome.error.code == "ValidationFailed"
    assert outcome.error.target == "properties.validate.inVMValidations[0]"


def test_checking_a_finished_step_again_returns_the_same_outcome_without_logging_twice() -> None:
    fake = world()
    run, _, _, vm = deployed(fake, linux_template())
    fake.run_commands.outcomes.append(ScriptOutcome(pattern="customize step 0", stdout="once\n"))
    inp = StepInput(run=run, vm=vm, step=_step("Shell", {"inline": ["echo once"]}))
    steps.start(inp, ports=fake)
    first = poll(steps.check, inp, fake)

    second = steps.check(inp, ports=fake)

    assert second == first
    assert _log(fake, run, vm).count("once") == 1


def test_a_linux_file_step_may_only_write_under_tmp() -> None:
    fake = world()
    run, _, _, vm = deployed(fake, linux_template())
    stage(fake, vm, run, "customize", 0, b"payload")
    bad = StepInput(
        run=run, vm=vm, step=_step("File", {"sourceUri": "https://e.com/f", "destination": "/etc/f"})
    )
    good = StepInput(
        run=run, vm=vm, step=_step("File", {"sourceUri": "https://e.com/f", "destination": "/tmp/f"})
    )

    refused = steps.start(bad, ports=fake)
    steps.start(good, ports=fake)

    assert refused.error is not None and refused.error.code == "InvalidDestination"
    assert refused.error.target == "properties.customize[0].destination"
    script = _script(fake, vm, good)
    assert fetched(fake, script) == b"payload" and "kiln_fetch 'https://" in script
    assert "mv -f '/tmp/f.kiln-part' '/tmp/f'" in script  # moved into place once its sha256 is right


def test_windows_update_rounds_restart_until_no_update_remains() -> None:
    fake = world()
    run, _, _, vm = deployed(fake, windows_template())
    fake.run_commands.outcomes += [
        ScriptOutcome(
            pattern="WindowsUpdate\\) attempt 0", stdout="KILN-WU installed=3 remaining=2 reboot=true\n"
        ),
        ScriptOutcome(
            pattern="WindowsUpdate\\) attempt 1", stdout="KILN-WU installed=2 remaining=0 reboot=false\n"
        ),
    ]
    step = _step(
        "WindowsUpdate",
        {"updateLimit": 5, "filters": ["exclude:$_.Title -like '*Preview*'", "include:$true"]},
        os_type="Windows",
    )
    rounds, installed = [], 0
    for attempt in range(10):  # the orchestrator's bounded loop
        outcome = _run_step(fake, run, vm, step, attempt)
        rounds.append(outcome)
        installed += outcome.updates_installed
        if not outcome.needs_restart and not outcome.updates_remaining:
            break
        restart = StepInput(run=run, vm=vm, step=step, attempt=attempt)
        assert _restart(fake, restart)[-1].succeeded

    assert [r.updates_remaining for r in rounds] == [2, 0]
    assert installed == 5
    assert fake.cloud.get(vm.resource_ids[0])["agent_ready"] is True
    assert "restarting" in _log(fake, run, vm)


def test_windows_update_renders_limit_criteria_and_filters() -> None:
    fake = world()
    run, _, _, vm = deployed(fake, windows_template())
    step = _step(
        "WindowsUpdate",
        {
            "updateLimit": 5,
            "searchCriteria": "IsInstalled=0",
            "filters": ["include:$_.Title -like '*Cumulative*'"],
        },
        os_type="Windows",
    )
    inp = StepInput(run=run, vm=vm, step=step)

    steps.start(inp, ports=fake)

    script = _script(fake, vm, inp)
    assert "$selected.Count -ge 5" in script
    assert "Search('IsInstalled=0')" in script
    assert "Include = $true; Test = { $_.Title -like '*Cumulative*' }" in script


def test_a_windows_update_round_without_its_result_line_fails() -> None:
    fake = world()
    run, _, _, vm = deployed(fake, windows_template())

    outcome = _run_step(fake, run, vm, _step("WindowsUpdate", {}, os_type="Windows"))

    assert not outcome.succeeded and outcome.error is not None
    assert "KILN-WU" in outcome.error.message


def _restart(fake: FakeAzure, inp: StepInput, limit: int = 30) -> list[Polled]:
    """Begin a restart and look at it until done (or ``limit`` looks), as ``restart_vm`` does."""
    assert vm_power.restart(inp, ports=fake).error is None
    looks = []
    for _ in range(limit):
        looks.append(vm_power.restarted(inp, ports=fake))
        if looks[-1].done:
            break
    return looks


def test_a_restart_is_done_only_once_the_vm_went_down_and_came_back() -> None:
    fake = world()
    fake.cloud.lro_reads = 2
    fake.run_commands.outcomes.append(ScriptOutcome(pattern="mark this boot", reads=3))
    run, _, _, vm = deployed(fake, windows_template())
    step = _step("WindowsRestart", {"restartCheckCommand": "Write-Output back"}, os_type="Windows")
    inp = StepInput(run=run, vm=vm, step=step)

    looks = _restart(fake, inp)

    assert looks[-1].succeeded and looks[-1].state == "restarted"
    ops = [c.split()[0] for c in fake.cloud.calls]
    # the boot is marked before Azure restarts the VM, and the proof is asked after it is back
    assert (
        ops.index("run_commands.create")
        < ops.index("vms.restart")
        < len(ops) - ops[::-1].index("run_commands.create")
    )
    assert {"marking the boot", "starting"} <= {look.state for look in looks}
    log = _log(fake, run, vm)
    assert "restarting" in log and "kiln: restarted" in log
    assert not [r for r in fake.cloud.resources if "/runcommands/" in r]
    steps.start(inp.model_copy(update={"attempt": 1}), ports=fake)
    assert "Write-Output back" in _script(fake, vm, inp.model_copy(update={"attempt": 1}))


def test_a_custom_restart_command_runs_after_the_mark_and_azure_does_not_restart_the_vm() -> None:
    fake = world()
    run, _, _, vm = deployed(fake, windows_template())
    step = _step("WindowsRestart", {"restartCommand": "shutdown /r /t 5"}, os_type="Windows")
    inp = StepInput(run=run, vm=vm, step=step)
    vm_power.restart(inp, ports=fake)
    mark = _script_named(fake, vm, vm_power.mark_name(inp))

    looks = _restart(fake, inp)  # the restart begun again finds its command: it is not run twice

    assert looks[-1].succeeded
    assert [c.split()[0] for c in fake.cloud.calls].count("run_commands.create") == 2  # the mark, one proof
    assert "vms.restart" not in [c.split()[0] for c in fake.cloud.calls]
    assert mark.index("CreateSubKey('SOFTWARE\\kiln-restart-pending'") < mark.index("shutdown /r /t 5")


def test_a_restart_command_that_does_not_take_the_vm_down_never_passes_for_a_restart() -> None:
    fake = world()
    run, _, _, vm = deployed(fake, windows_template())
    step = _step("WindowsRestart", {"restartCommand": "Write-Output 'not really'"}, os_type="Windows")
    inp = StepInput(run=run, vm=vm, step=step)

    looks = _restart(fake, inp, limit=12)

    assert not any(look.done for look in looks)
    assert looks[-1].state in ("not restarted yet", "checking the restart")
    assert "kiln: not restarted yet" in _log(fake, run, vm)  # each look asked the VM, and it said so


def test_a_failed_restart_command_that_left_the_vm_up_fails_the_step_with_its_exit_code() -> None:
    fake = world()
    fake.run_commands.outcomes.append(
        ScriptOutcome(pattern="mark this boot", exit_code=5, stdout="no rights\n")
    )
    run, _, _, vm = deployed(fake, windows_template())
    step = _step("WindowsRestart", {"restartCommand": "my-restart.exe"}, os_type="Windows")
    inp = StepInput(run=run, vm=vm, step=step)

    looks = _restart(fake, inp)

    error = looks[-1].error
    assert looks[-1].done and error is not None and error.code == "RestartFailed"
    assert "the restartCommand failed (exit code 5: no rights)" in error.message


def test_one_restart_vm_call_reads_where_its_restart_is_once() -> None:
    fake = world()
    fake.cloud.lro_reads = 3
    run, _, _, vm = deployed(fake, windows_template())
    inp = RestartInput(run=run, vm=vm, step=_step("WindowsRestart", {}, os_type="Windows"), wait=wait())
    before = len(fake.cloud.calls)

    ready = asyncio.run(vm_power.restart_vm(inp, ports=fake))

    calls = fake.cloud.calls[before:]
    assert ready.succeeded and sum(c.startswith("vms.get ") for c in calls) >= 3  # several looks
    assert sum(c.startswith("blobs.download ") and c.endswith(".restart.json") for c in calls) == 1


def test_a_restart_begun_by_a_kiln_that_did_not_mark_the_boot_is_followed_by_its_agent() -> None:
    # an in-flight run upgraded mid-restart: Azure's restart was asked, no mark command exists
    fake = world()
    fake.cloud.lro_reads = 2
    run, _, _, vm = deployed(fake, windows_template())
    inp = StepInput(run=run, vm=vm, step=_step("WindowsRestart", {}, os_type="Windows"))
    fake.virtual_machines.begin_restart(resource_group=vm.resource_group, name=vm.vm_name)

    looks = [vm_power.restarted(inp, ports=fake) for _ in range(4)]

    assert not looks[0].done and looks[-1].succeeded
    assert [c.split()[0] for c in fake.cloud.calls].count("run_commands.create") == 0


def test_deprovision_honours_a_user_deprovisioning_script() -> None:
    fake = world()
    run, _, _, vm = deployed(fake, linux_template())
    inp = StepInput(run=run, vm=vm, step=_step("Deprovision", {}, phase="generalize"))

    steps.start(inp, ports=fake)

    script = _script(fake, vm, inp)
    assert "if [ -f /tmp/DeprovisioningScript.sh ]" in script
    assert "waagent -force -deprovision+user && export HISTSIZE=0 && sync" in script


def test_powershell_runs_as_aib_runs_it_the_admin_password_only_in_the_puts_protected_parameter() -> None:
    fake = world()
    run, _, _, vm = deployed(fake, windows_template())
    password = fake.cloud.secrets[vm.admin_secret_name or ""]
    modes = {
        "default": {"inline": ["Write-Output a"]},
        "elevated": {"inline": ["Write-Output b"], "runElevated": True},
        "system": {"inline": ["Write-Output c"], "runElevated": True, "runAsSystem": True},
    }
    sent = {}
    for index, (mode, spec) in enumerate(modes.items()):
        inp = StepInput(run=run, vm=vm, step=_step("PowerShell", spec, index=index, os_type="Windows"))
        started = steps.start(inp, ports=fake)
        sent[mode] = _spec(fake, vm, inp)
        checked = poll(steps.check, inp, fake)
        assert started.error is None and checked.succeeded, (mode, checked.error)
        # nothing an activity answers (the orchestration's history) holds the password
        assert password not in started.model_dump_json() + checked.model_dump_json() + inp.model_dump_json()

    assert "RunLevel = 'Limited'" in sent["default"].script
    assert "RunLevel = 'Highest'" in sent["elevated"].script
    assert (
        "run as: LocalSystem" in sent["system"].script
        and "Register-ScheduledTask" not in sent["system"].script
    )
    for mode in ("default", "elevated"):
        assert sent[mode].protected_parameters["KilnPassword"].get_secret_value() == password
        assert password not in sent[mode].script and password not in repr(sent[mode])
    assert sent["system"].protected_parameters == {}
    assert password not in _log(fake, run, vm)


def test_a_powershell_step_as_the_admin_user_needs_the_vms_password_in_key_vault() -> None:
    fake = world()
    run, _, _, vm = deployed(fake, windows_template())
    without = vm.model_copy(update={"admin_secret_name": None})
    inp = StepInput(run=run, vm=without, step=_step("PowerShell", {"inline": ["x"]}, os_type="Windows"))

    started = steps.start(inp, ports=fake)

    assert started.error is not None and started.error.code == "AdminPasswordMissing"


def test_one_call_following_a_step_asks_once_whether_its_outcome_was_recorded() -> None:
    fake = world()
    fake.run_commands.outcomes.append(ScriptOutcome(pattern="'long'", stdout="a\nb\n", reads=6))
    run, _, _, vm = deployed(fake, linux_template())
    step = _step("Shell", {"inline": ["sleep 1"]}, name="long")
    inp = StepInput(run=run, vm=vm, step=step, wait=wait())
    before = len(fake.cloud.calls)

    checked = asyncio.run(steps.run(inp, ports=fake))

    calls = fake.cloud.calls[before:]
    looks = [c for c in calls if c.startswith("run_commands.get ")]
    marker = [c for c in calls if c.startswith("blobs.download ") and c.endswith(".outcome.json")]
    assert checked.succeeded and len(looks) >= 6
    assert len(marker) == 1  # the first look; the call itself records the outcome later
