"""Distribution inside ``build_image``: every target at once, each a ``distribute`` activity called again
until its artifact is done.

A SharedImage target is one gallery image version with every target region; the activity follows all its
regions in one look (a version's replication status carries every region) and comes back early when a
region fails, so the orchestration asks the gallery to replicate it again, once (user-pain-points 2:
replication is its own phase, region by region, not one opaque build timeout). Each region's deadline is
kept here: a region still replicating at its deadline is TimedOut and fails its target. The serial
baseline (``distribution: serial``) does one target after another and adds one region at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from orchestrators.flow import Flow, Yields
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
from shared.models.durable import DISTRIBUTE, UNDO_DISTRIBUTE, DistributeInput, TargetProgress, UndoInput

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

    @property
    def name(self) -> str:
        return self.inp.target.run_output_name

    def next_input(self, flow: Flow, retry: list[str] | None = None) -> DistributeInput:
        return self.inp.model_copy(
            update={
                "started": self.started,
                "retry_regions": retry or [],
                "retried": list(self.retried),
                "wait": flow.wait(self.deadline),
            }
        )


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


def distribute(flow: Flow, targets: list[Target], report: RunStatusUpdate) -> Yields:
    """Follow every target to its end (the serial baseline: one after another); their results."""
    if flow.build.distribution == "serial":
        for target in targets:
            yield from _serially(flow, target, report if target is targets[0] else None)
        return [t.result for t in targets]
    for i, target in enumerate(targets):
        first = target.next_input(flow).model_copy(update={"report": report if i == 0 else None})
        target.task = flow.task(DISTRIBUTE, first)
    pending = list(targets)
    while pending:
        done = yield from flow.race(*[t.task for t in pending])
        target = next(t for t in pending if t.task is done)
        if _settle(flow, target, TargetProgress.model_validate(done.result)):
            pending.remove(target)
    return [t.result for t in targets]


def _settle(flow: Flow, target: Target, progress: TargetProgress) -> bool:
    """Take in one answer; True when the target has ended, else its next call is scheduled."""
    target.started = progress.started or target.started
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
