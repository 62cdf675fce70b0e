"""Orphan waits stop: once compensation deleted what a waiting activity follows, its next look ends it.

A cancel or the build timeout interrupts the orchestrator, but the waiting activity of the phase in flight
keeps looking until its ``Wait.until``; each look must therefore end the wait (``NotFound`` or
``OperationCanceled``) instead of answering "not yet" or raising until then.
"""

from __future__ import annotations

import asyncio
from typing import Any

from activities import delete_build_vm as cleanup
from activities import deploy_vm, distribute, steps, vm_power
from shared.models.build import DistributeTarget, RunRef, StepSpec
from shared.models.durable import (
    DeployInput,
    DistributeInput,
    Polled,
    StepInput,
    UndoInput,
)
from tests.activities.support import (
    MANAGED_IMAGE,
    UBUNTU_DEF,
    deployed,
    linux_template,
    resolved,
    run_ref,
    world,
)
from tests.activities.test_distribute import generalized
from tests.fakes import FakeAzure, ScriptOutcome


def _cleaned_up(fake: FakeAzure, inp: UndoInput) -> None:
    for _ in range(10):
        if cleanup.delete_round(inp, ports=fake).done:
            return
    raise AssertionError("delete_build_vm never finished")


def _ended(out: Polled, *codes: str) -> None:
    assert out.done and not out.succeeded, out
    assert out.error is not None and out.error.code in codes, out.error


def test_a_step_poll_ends_with_not_found_once_cleanup_deleted_the_build_vm() -> None:
    fake = world()
    run, _, plan, vm = deployed(fake, linux_template())
    fake.run_commands.outcomes = [ScriptOutcome(".*", reads=50)]  # a long step
    step = StepSpec(
        phase="customize", index=0, name="long", kind="Shell", spec={"type": "Shell", "inline": ["sleep 600"]}
    )
    inp = StepInput(run=run, vm=vm, step=step)
    assert steps.start(inp, ports=fake).error is None
    assert not steps.check(inp, ports=fake).done

    _cleaned_up(fake, UndoInput(run=run, vm=vm, staging=plan))

    _ended(steps.check(inp, ports=fake), "NotFound")


def test_vm_polls_end_with_operation_canceled_while_the_vm_is_deleted_then_not_found() -> None:
    fake = world()
    run, _, plan, vm = deployed(fake, linux_template())
    fake.cloud.lro_reads = 5
    assert not cleanup.delete_round(UndoInput(run=run, vm=vm, staging=plan), ports=fake).done  # VM: Deleting

    _ended(vm_power.check_ready(vm, ports=fake), "OperationCanceled")
    _ended(vm_power.deallocate(vm, ports=fake), "OperationCanceled")
    _cleaned_up(fake, UndoInput(run=run, vm=vm, staging=plan))
    _ended(vm_power.check_ready(vm, ports=fake), "NotFound")
    _ended(vm_power.deallocate(vm, ports=fake), "NotFound")


def test_a_deployment_poll_ends_with_not_found_once_its_group_is_gone() -> None:
    fake = world()
    run: RunRef = run_ref()
    template = linux_template()
    source = resolved(fake, template, run)
    _, _, plan, _ = deployed(fake, template, run_ref(7))  # the staging group exists
    fake.cloud.lro_reads = 50
    inp = DeployInput(run=run, template=template, source=source, staging=plan)
    started = asyncio.run(deploy_vm.run(inp, ports=fake))  # no wait: one look after the start
    assert not started.done and started.vm is not None

    fake.resource_groups.begin_delete(name=plan.resource_group)  # template DELETE took the group

    _ended(deploy_vm.check(started.vm, ports=fake), "NotFound")


def _started(fake: FakeAzure, spec: dict[str, Any]) -> tuple[RunRef, DistributeInput, DistributeTarget, Any]:
    run, source, vm = generalized(fake)
    target = DistributeTarget(index=0, type=spec["type"], run_output_name=spec["runOutputName"], spec=spec)
    inp = DistributeInput(run=run, vm=vm, source=source, target=target)
    started = distribute.start(inp, ports=fake)
    assert started.error is None, started.error
    return run, inp.model_copy(update={"started": started}), target, started


def test_a_managed_image_poll_ends_with_not_found_once_undo_deleted_the_image() -> None:
    fake = world()
    spec = {"type": "ManagedImage", "imageId": MANAGED_IMAGE, "location": "westus2", "runOutputName": "mi"}
    run, probe, target, started = _started(fake, spec)
    fake.cloud.lro_reads = 50

    distribute.undo_round(UndoInput(run=run, target=target, started=started), ports=fake)

    _ended(distribute.check(probe, ports=fake), "NotFound")


def test_gallery_polls_end_and_a_late_region_retry_never_recreates_a_deleted_version() -> None:
    fake = world()
    spec = {
        "type": "SharedImage",
        "galleryImageId": UBUNTU_DEF,
        "runOutputName": "sig",
        "replicationRegions": ["westus2", "eastus"],
    }
    run, probe, target, started = _started(fake, spec)

    distribute.undo_round(UndoInput(run=run, target=target, started=started), ports=fake)

    _ended(distribute.check(probe, ports=fake), "NotFound")
    late = probe.model_copy(update={"retry_regions": ["eastus"], "retried": ["eastus"]})
    _ended(distribute.retry_regions(late, started, fake), "NotFound")
    assert fake.cloud.find(started.artifact_id or "") is None


def test_a_vhd_copy_poll_ends_with_not_found_once_undo_deleted_the_blob() -> None:
    fake = world()
    run, probe, target, started = _started(fake, {"type": "VHD", "runOutputName": "vhd"})

    distribute.undo_round(UndoInput(run=run, vm=probe.vm, target=target, started=started), ports=fake)

    _ended(distribute.check(probe, ports=fake), "NotFound")
