"""``distribute_target``: one distribute target as a sub-orchestration.

ManagedImage and VHD targets are started and polled. A SharedImage target is started once (one gallery image
version with every target region), then each region is watched by its own branch with its own timeout; a
region that fails is asked to replicate again once before the target gives up on it (user-pain-points 2:
replication is its own phase, region by region, not one opaque build timeout).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from orchestrators.poll import Yields, poll, polled, retry_options
from shared.models import SharedImageDistributor
from shared.models.build import DistributeStarted, PhaseError, TargetResult
from shared.models.durable import (
    CHECK_DISTRIBUTE,
    CHECK_REGION,
    RETRY_REGION,
    START_DISTRIBUTE,
    Activity,
    DistributeTargetInput,
    RegionProbe,
    TargetProbe,
)

REGION_RETRIES = 1


class _Target:
    def __init__(self, context: df.DurableOrchestrationContext, inp: DistributeTargetInput) -> None:
        self.ctx = context
        self.inp = inp.target
        self.timing = inp.timing
        self.timeout = timedelta(minutes=inp.timing.region_timeout_minutes)

    @property
    def name(self) -> str:
        return self.inp.target.run_output_name

    def call(self, activity: Activity[Any, Any], inp: Any) -> Any:
        return self.ctx.call_activity_with_retry(
            activity.name, retry_options(self.timing), inp.model_dump(mode="json")
        )

    def start(self) -> Yields:
        return START_DISTRIBUTE.output.model_validate((yield self.call(START_DISTRIBUTE, self.inp)))

    def probe(self, started: DistributeStarted) -> TargetProbe:
        return TargetProbe(run=self.inp.run, vm=self.inp.vm, target=self.inp.target, started=started)

    def region(self, started: DistributeStarted, region: str) -> RegionProbe:
        return RegionProbe(**self.probe(started).model_dump(), region=region)

    def poll(self, activity: Activity[Any, Any], inp: Any, message: str) -> Any:
        timeout_at = self.ctx.current_utc_datetime + self.timeout
        return poll(
            self.ctx, self.timing, activity, inp, timeout_at=timeout_at, message=message, phase="distribute"
        )

    def failed(self, error: PhaseError, **extra: Any) -> dict[str, Any]:
        target = self.inp.target
        return TargetResult(
            run_output_name=target.run_output_name, type=target.type, succeeded=False, error=error, **extra
        ).model_dump(mode="json")


def distribute_target(context: df.DurableOrchestrationContext) -> Yields:
    raw = DistributeTargetInput.model_validate(context.get_input())
    target = _Target(context, raw)
    started: DistributeStarted = yield from target.start()
    if started.error is not None:
        return target.failed(started.error)
    regions: dict[str, str] = {}
    gallery = isinstance(target.inp.target.spec, SharedImageDistributor) and bool(started.regions)
    if gallery and raw.serial:
        started, regions = yield from _one_region_after_another(target, started)
    elif gallery:
        regions = yield from _watch_regions(target, started)
    message = f"Distribution '{target.name}' did not finish in time."
    final = polled(CHECK_DISTRIBUTE, (yield target.poll(CHECK_DISTRIBUTE, target.probe(started), message)))
    if final.result is None:
        error = final.error or PhaseError(
            code="DistributeFailed", message=f"Distribution '{target.name}' failed."
        )
        return target.failed(error, regions=regions)
    result = final.result
    if regions:
        result = result.model_copy(update={"regions": {**result.regions, **regions}})
    if any(state != "Completed" for state in regions.values()) and result.succeeded:
        failed = sorted(r for r, s in regions.items() if s != "Completed")
        error = PhaseError(
            code="ReplicationFailed",
            message=f"Replication of '{target.name}' did not complete in: {', '.join(failed)}.",
            phase="distribute",
            target=target.name,
        )
        result = result.model_copy(update={"succeeded": False, "error": error})
    return result.model_dump(mode="json")


def _watch_regions(target: _Target, started: DistributeStarted) -> Yields:
    """One branch per region, each with its own timeout; a failed region is retried once."""
    pending = list(started.regions)
    states: dict[str, str] = {}
    for attempt in range(REGION_RETRIES + 1):
        tasks = [
            target.poll(
                CHECK_REGION,
                target.region(started, region),
                f"Replication of '{target.name}' to {region} did not finish in time.",
            )
            for region in pending
        ]
        outcomes = yield target.ctx.task_all(tasks)
        retry: list[str] = []
        for region, raw in zip(pending, outcomes, strict=True):
            outcome = polled(CHECK_REGION, raw)
            states[region] = "Completed" if outcome.succeeded else (outcome.state or "Failed")
            if not outcome.succeeded:
                retry.append(region)
        if not retry or attempt == REGION_RETRIES:
            break
        for region in retry:
            yield target.call(RETRY_REGION, target.region(started, region))
        pending = retry
    return states


def _one_region_after_another(target: _Target, started: DistributeStarted) -> Yields:
    """Serial baseline: wait for each region before adding the next one to the image version."""
    spec = target.inp.target.spec
    assert isinstance(spec, SharedImageDistributor)
    every = len(spec.targetRegions or spec.replicationRegions or [])
    states: dict[str, str] = {}
    for count in range(1, every + 1):
        if count > 1:
            widened = target.inp.target.model_copy(update={"region_limit": count, "version": started.version})
            target.inp = target.inp.model_copy(update={"target": widened})
            started = yield from target.start()
            if started.error is not None:
                break
        region = started.regions[-1]
        message = f"Replication of '{target.name}' to {region} did not finish in time."
        outcome = polled(
            CHECK_REGION, (yield target.poll(CHECK_REGION, target.region(started, region), message))
        )
        states[region] = "Completed" if outcome.succeeded else (outcome.state or "Failed")
    return started, states
