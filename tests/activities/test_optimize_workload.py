"""optimize.workload: staged and verified with the other artifacts, then run as a step after customization."""

from __future__ import annotations

import hashlib

from activities import stage_artifacts, steps
from shared import naming
from shared.models import ImageTemplate, TemplateProperties
from shared.models.build import workload_step
from shared.models.durable import ArtifactsInput, StepInput
from tests.activities.support import deployed, fetched, linux_template, poll, world
from tests.fakes import ScriptOutcome, arm_id

SCRIPT = b"#!/bin/sh\necho tuning for the workload\n"
URI = "https://example.com/optimize.sh"


def _workload(state: str) -> dict[str, object]:
    return {
        "workload": {"state": state, "scriptUri": URI, "sha256Checksum": hashlib.sha256(SCRIPT).hexdigest()}
    }


def _props(**properties: object) -> TemplateProperties:
    return ImageTemplate.model_validate(linux_template(**properties)).properties


def test_only_an_enabled_workload_with_a_script_is_a_step_in_the_vms_shell() -> None:
    assert workload_step(_props(), "Linux") is None
    assert workload_step(_props(optimize=_workload("Disabled")), "Linux") is None
    assert workload_step(_props(optimize={"workload": {"state": "Enabled"}}), "Linux") is None
    linux = workload_step(_props(optimize=_workload("Enabled")), "Linux")
    windows = workload_step(_props(optimize=_workload("Enabled")), "Windows")
    assert linux is not None and (linux.phase, linux.index, linux.kind) == ("optimize", 0, "Shell")
    assert windows is not None and windows.kind == "PowerShell" and windows.os_type == "Windows"


def test_the_enabled_workload_script_runs_as_staged_and_lands_in_customization_log() -> None:
    fake = world()
    fake.fetcher.pages[URI] = SCRIPT
    template = linux_template(optimize=_workload("Enabled"))
    run, _, _, vm = deployed(fake, template)
    staged = stage_artifacts.run(ArtifactsInput(run=run, template=template, vm=vm), ports=fake)
    assert staged.error is None and [s.phase for s in staged.staged] == ["optimize"]
    fake.run_commands.outcomes.append(ScriptOutcome("optimize step 0 'workload'", stdout="tuned\n"))
    step = workload_step(ImageTemplate.model_validate(template).properties, "Linux")
    assert step is not None
    inp = StepInput(run=run, vm=vm, step=step)

    assert steps.start(inp, ports=fake).error is None
    rid = arm_id(
        vm.resource_group,
        "Microsoft.Compute/virtualMachines/runCommands",
        vm.vm_name,
        steps.command_name(inp),
    )
    script = fake.cloud.get(rid)["spec"].script
    outcome = poll(steps.check, inp, fake).outcome
    assert outcome is not None

    assert fetched(fake, script) == SCRIPT and "KILN_EOF" not in script  # the VM downloads it
    assert outcome.succeeded and outcome.log_tail == ["tuned"]
    blobs = fake.blobs(account_url=fake.storage_account_url(vm.storage_account))
    log = blobs.download(container=naming.LOG_CONTAINER, name=naming.customization_log_blob(run.run_id))
    assert "optimize step 0 'workload' (Shell) attempt 0: Succeeded, exit code 0" in log.decode()


def test_a_failing_workload_script_is_an_optimization_failure_naming_the_field() -> None:
    fake = world()
    fake.fetcher.pages[URI] = SCRIPT
    template = linux_template(optimize=_workload("Enabled"))
    run, _, _, vm = deployed(fake, template)
    stage_artifacts.run(ArtifactsInput(run=run, template=template, vm=vm), ports=fake)
    fake.run_commands.outcomes.append(ScriptOutcome("optimize step 0", exit_code=3, stderr="no tuned\n"))
    step = workload_step(ImageTemplate.model_validate(template).properties, "Linux")
    assert step is not None
    inp = StepInput(run=run, vm=vm, step=step)

    steps.start(inp, ports=fake)
    outcome = poll(steps.check, inp, fake).outcome
    assert outcome is not None

    assert not outcome.succeeded and outcome.error is not None
    assert outcome.error.code == "OptimizationFailed" and outcome.error.phase == "optimize"
    assert outcome.error.target == "properties.optimize.workload"
    assert "exit code 3" in outcome.error.message
