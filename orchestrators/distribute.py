"""Distribution inside ``build_image``: every target at once, each a ``distribute`` activity called again
until its artifact is done.

A SharedImage target is one gallery image version with every target region; the activity follows all its
regions in one look (a version's replication status carries every region) and comes back early when a
region fails, so the orchestration asks the gallery to replicate it again, once (user-pain-points 2:
replication is its own phase, region by region, not one opaque build timeout). Each region's deadline is
kept here: a region still replicating at its deadline is TimedOut and fails its target. The serial
baseline (``distribution: serial``) does one target after another and adds one region at a time.

The build VM goes as soon as no target needs it (``VmRelease``): each target's calls come back once it is
captured — a managed image or a VHD when it has ended, a gallery version when its own region holds its copy —
and once every target is captured or ended, the VM's deletion starts beside the replication that goes on
(docs/build.md, phase 9). Its answer is taken in the cleanup phase.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from orchestrators.flow import Flow, Interrupted, Undo, Yields, undo_timed_out
from shared.models import SharedImageDistributor
from shared.models.access import template_identity
from shared.models.build import (
    BuildVm,
    DistributeStarted,
    DistributeTarget,
    PhaseError,
    ResolvedSource,
    RunStatusUpdate,
    TargetResult,
)
from shared.models.durable import (
    DELETE_BUILD_VM,
    DISTRIBUTE,
    UNDO_DISTRIBUTE,
    DistributeInput,
    TargetProgress,
    UndoInput,
    UndoOutput,
)

REGION_RETRIES = 1


@dataclass
class Target:
    """One distribute target as the orchestration follows it."""

    inp: DistributeInput
    deadline: datetime
    started: DistributeStarted | None = None
    retried: list[str] = field(default_factory=list)
    regions: dict[str, str] = field(default_factory=dict)
    result: TargetResult | None = None
    task: Any = None
    captured: bool = False  # the target needs the build VM no more
    release: bool = False  # a VmRelease follows this target's capture

    @property
    def name(self) -> str:
        return self.inp.target.run_output_name

    @property
    def needs_vm(self) -> bool:
        return not self.captured and self.result is None

    def next_input(self, flow: Flow, retry: list[str] | None = None) -> DistributeInput:
        return self.inp.model_copy(
            update={
                "started": self.started,
                "retry_regions": retry or [],
                "retried": list(self.retried),
                "wait": flow.wait(self.deadline),
                "until_captured": self.release and not self.captured,
            }
        )


@dataclass
class VmRelease:
    """The build VM's deletion during distribution: due once no target needs the VM (``start``), scheduled
    with the next wait for the targets, answered in the cleanup phase (``finish``). A run that fails or is
    cancelled before its answer puts the deletion back on the undo stack (``unfinished``): deleting a VM twice
    is harmless, leaking one is not."""

    undo: Undo | None = None
    task: Any = None
    deadline: datetime | None = None
    answer: UndoOutput | None = None

    @property
    def due(self) -> bool:
        return self.undo is not None or self.answer is not None

    @property
    def running(self) -> bool:
        return self.task is not None and self.answer is None

    def start(self, flow: Flow) -> None:
        """The targets need the VM no more: take its deletion off the undo stack, to run beside them."""
        self.undo = flow.drop_undo(DELETE_BUILD_VM)
        if self.undo is None:  # kept (errorHandling) or never deployed: nothing to delete
            self.answer = UndoOutput(done=True, succeeded=True, message="no build VM to delete")
            return
        self.deadline = flow.now + timedelta(minutes=flow.timing.undo_timeout_minutes)

    def racing(self, flow: Flow) -> list[Any]:
        """The deletion's task to wait for beside the targets (scheduled by the first wait that has it)."""
        if self.undo is None or self.answer is not None or self.deadline is None:
            return []
        if self.task is None:
            activity, inp = self.undo
            self.task = flow.undo_task(activity, inp, self.deadline)
        return [self.task]

    def settle(self, flow: Flow, result: object) -> None:
        """Take in the deletion's answer; asked again (same deadline) while the VM is not gone yet."""
        answer = UndoOutput.model_validate(result)
        if self.undo is None or answer.done:
            self.answer = answer
            return
        activity, inp = self.undo
        if self.deadline is None or flow.now >= self.deadline:
            self.answer = undo_timed_out(activity)
            return
        self.task = flow.undo_task(activity, inp.model_copy(update={"report": None}), self.deadline)

    def failed(self, exc: BaseException) -> None:
        self.answer = UndoOutput(
            done=True, succeeded=False, error=PhaseError(code="UndoFailed", message=str(exc))
        )

    def finish(self, flow: Flow, undo: Undo | None, report: RunStatusUpdate) -> Yields:
        """The deletion's end, as the cleanup phase: waited for when it runs beside distribution, else run
        now with ``report`` (``undo``: the VM's undo when no target released it: the serial baseline); the
        problem it met, or None."""
        if self.undo is None and self.answer is None:
            self.undo = undo
        if self.undo is not None and self.task is None and self.answer is None:
            activity, inp = self.undo
            self.answer = yield from flow.run_undo(activity, inp.model_copy(update={"report": report}))
        while self.running:
            try:
                self.settle(flow, (yield self.task))
            except Exception as exc:  # a deletion never fails the run; the janitor is the backstop
                self.failed(exc)
        answer = self.answer
        if answer is not None and answer.error is not None and not answer.succeeded:
            return f"{DELETE_BUILD_VM.name}: {answer.error.message}"
        return None

    def unfinished(self) -> Undo | None:
        """The deletion to run again in compensation: due but not known to have ended."""
        if self.undo is not None and (self.answer is None or not self.answer.done):
            return self.undo
        return None


def targets_of(flow: Flow, vm: BuildVm, source: ResolvedSource) -> list[Target]:
    """The template's distribute targets, each with its undo pushed before anything is started."""
    build, run = flow.build, flow.build.run
    tags = dict(build.template.tags or {})
    deadline = flow.now + timedelta(minutes=flow.timing.region_timeout_minutes)
    found = []
    for index, spec in enumerate(build.properties.distribute):
        target = DistributeTarget(
            index=index,
            type=spec.type,
            run_output_name=spec.runOutputName,
            spec=spec,
            identity=template_identity(build.template),
        )
        if build.distribution == "serial" and isinstance(spec, SharedImageDistributor):
            target = target.model_copy(update={"region_limit": 1})
        flow.push_undo(UNDO_DISTRIBUTE, UndoInput(run=run, vm=vm, target=target))
        inp = DistributeInput(
            run=run, vm=vm, source=source, target=target, template_tags=tags, wait=flow.wait(deadline)
        )
        found.append(Target(inp=inp, deadline=deadline))
    return found


def distribute(
    flow: Flow, targets: list[Target], report: RunStatusUpdate, release: VmRelease | None = None
) -> Yields:
    """Follow every target to its end (the serial baseline: one after another); their results. With
    ``release``, the build VM's deletion starts as soon as no target needs the VM."""
    if flow.build.distribution == "serial":
        for target in targets:
            yield from _serially(flow, target, report if target is targets[0] else None)
        return [t.result for t in targets]
    for i, target in enumerate(targets):
        target.release = release is not None
        first = target.next_input(flow).model_copy(update={"report": report if i == 0 else None})
        target.task = flow.task(DISTRIBUTE, first)
    pending = list(targets)
    while pending:
        racing = [t.task for t in pending] + (release.racing(flow) if release is not None else [])
        try:
            done = yield from flow.race(*racing)
        except Interrupted:
            raise
        except Exception as exc:
            task = release.task if release is not None and release.running else None
            if task is None or not task.is_completed or not isinstance(task.result, Exception):
                raise
            assert release is not None
            release.failed(exc)  # the deletion failed for good; distribution goes on
            continue
        if release is not None and release.running and done is release.task:
            release.settle(flow, done.result)
            continue
        target = next(t for t in pending if t.task is done)
        if _settle(flow, target, TargetProgress.model_validate(done.result)):
            pending.remove(target)
        if release is not None and not release.due and not any(t.needs_vm for t in targets):
            release.start(flow)
    return [t.result for t in targets]


def _settle(flow: Flow, target: Target, progress: TargetProgress) -> bool:
    """Take in one answer; True when the target has ended, else its next call is scheduled."""
    target.started = progress.started or target.started
    target.captured = target.captured or progress.captured
    target.regions.update({r.region: r.state for r in progress.regions})
    failed = [r for r, s in target.regions.items() if s == "Failed" and r not in target.retried]
    if failed and target.retried.count(failed[0]) < REGION_RETRIES and target.started is not None:
        target.retried += failed
        target.deadline = max(
            target.deadline, flow.now + timedelta(minutes=flow.timing.region_timeout_minutes)
        )
        target.task = flow.task(DISTRIBUTE, target.next_input(flow, retry=failed))
        return False
    if progress.done:
        target.result = _result(target, progress)
        return True
    if flow.now >= target.deadline:
        target.result = _timed_out(target)
        return True
    target.task = flow.task(DISTRIBUTE, target.next_input(flow))
    return False


def _result(target: Target, progress: TargetProgress) -> TargetResult:
    result = progress.result
    if result is None:
        error = progress.error or PhaseError(
            code="DistributeFailed", message=f"Distribution '{target.name}' failed."
        )
        return TargetResult(
            run_output_name=target.name,
            type=target.inp.target.type,
            succeeded=False,
            error=error,
            regions=target.regions,
        )
    return result.model_copy(update={"regions": {**result.regions, **target.regions}})


def _timed_out(target: Target) -> TargetResult:
    late = sorted(r for r, s in target.regions.items() if s != "Completed")
    regions = {r: (s if s == "Completed" else "TimedOut") for r, s in target.regions.items()}
    where = f" in: {', '.join(late)}" if late else ""
    error = PhaseError(
        code="ReplicationFailed" if late else "OperationTimedOut",
        message=f"Distribution '{target.name}' did not finish in time{where}.",
        phase="distribute",
        target=target.name,
    )
    return TargetResult(
        run_output_name=target.name,
        type=target.inp.target.type,
        succeeded=False,
        error=error,
        regions=regions,
    )


def _serially(flow: Flow, target: Target, report: RunStatusUpdate | None) -> Yields:
    """The serial baseline's target: waited for alone; a gallery target one more region at a time."""
    spec = target.inp.target.spec
    every = (
        len(spec.targetRegions or spec.replicationRegions or [])
        if isinstance(spec, SharedImageDistributor)
        else 1
    )
    for count in range(1, max(1, every) + 1):
        if count > 1 and target.started is not None:
            widened = target.inp.target.model_copy(
                update={"region_limit": count, "version": target.started.version}
            )
            target.inp = target.inp.model_copy(update={"target": widened})
            target.started = None  # PUT the version again with one region more, which has its own deadline
            target.deadline = flow.now + timedelta(minutes=flow.timing.region_timeout_minutes)
        if count == 1:  # one target after another: each has its deadline from its own start
            target.deadline = flow.now + timedelta(minutes=flow.timing.region_timeout_minutes)
        target.task = flow.task(DISTRIBUTE, target.next_input(flow).model_copy(update={"report": report}))
        report = None
        while True:
            done = yield from flow.race(target.task)
            if _settle(flow, target, TargetProgress.model_validate(done.result)):
                break
        if target.result is None or not target.result.succeeded:
            return
