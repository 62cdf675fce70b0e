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

from orchestrators.flow import POLL_ORCHESTRATOR, Steps, poll_spec, retry_options
from shared.models.build import (
    DistributeInput,
    DistributeStarted,
    PhaseError,
    PollInput,
    PollOutput,
    TargetResult,
    TimingPolicy,
)

REGION_RETRIES = 1


class _Target:
    def __init__(
        self, context: df.DurableOrchestrationContext, inp: DistributeInput, timing: TimingPolicy
    ) -> None:
        self.ctx = context
        self.inp = inp
        self.timing = timing
        self.options = retry_options(timing.retry_first_interval_ms, timing.retry_max_attempts)

    def probe(self, started: DistributeStarted, key: str) -> dict[str, Any]:
        data = {"target": self.inp.target.model_dump(mode="json"), "started": started.model_dump(mode="json")}
        return PollInput(run=self.inp.run, vm=self.inp.vm, key=key, data=data).model_dump(mode="json")

    def poll_task(self, activity: str, payload: dict[str, Any], timeout: timedelta, message: str) -> Any:
        spec = poll_spec(
            self.timing,
            activity,
            payload,
            interval=self.timing.poll_interval_seconds,
            timeout_at=self.ctx.current_utc_datetime + timeout,
            message=message,
            phase="distribute",
        )
        return self.ctx.call_sub_orchestrator(POLL_ORCHESTRATOR, spec.model_dump(mode="json"))

    def failed(self, error: PhaseError, **extra: Any) -> dict[str, Any]:
        target = self.inp.target
        return TargetResult(
            run_output_name=target.run_output_name, type=target.type, succeeded=False, error=error, **extra
        ).model_dump(mode="json")


def distribute_target(context: df.DurableOrchestrationContext) -> Steps:
    raw = context.get_input()
    inp = DistributeInput.model_validate(raw["input"])
    if raw.get("serial") and inp.target.type == "SharedImage":
        inp = _with_regions(inp, 1)
    target = _Target(context, inp, TimingPolicy.model_validate(raw.get("timing", {})))
    started = DistributeStarted.model_validate(
        (
            yield context.call_activity_with_retry(
                "start_distribute", target.options, inp.model_dump(mode="json")
            )
        )
    )
    if started.error is not None:
        return target.failed(started.error)
    name = inp.target.run_output_name
    regions: dict[str, str] = {}
    if inp.target.type == "SharedImage" and started.regions and raw.get("serial"):
        started, regions = yield from _one_region_after_another(target, started)
    elif inp.target.type == "SharedImage" and started.regions:
        regions = yield from _watch_regions(target, started)
    timeout = timedelta(minutes=target.timing.region_timeout_minutes)
    final = PollOutput.model_validate(
        (
            yield target.poll_task(
                "check_distribute",
                target.probe(started, name),
                timeout,
                f"Distribution '{name}' did not finish in time.",
            )
        )
    )
    if final.result:
        result = TargetResult.model_validate(final.result)
        if regions:
            result = result.model_copy(update={"regions": {**result.regions, **regions}})
        if any(state != "Completed" for state in regions.values()) and result.succeeded:
            failed = sorted(r for r, s in regions.items() if s != "Completed")
            error = PhaseError(
                code="ReplicationFailed",
                message=f"Replication of '{name}' did not complete in: {', '.join(failed)}.",
                phase="distribute",
                target=name,
            )
            result = result.model_copy(update={"succeeded": False, "error": error})
        return result.model_dump(mode="json")
    error = final.error or PhaseError(code="DistributeFailed", message=f"Distribution '{name}' failed.")
    return target.failed(error, regions=regions)


def _watch_regions(target: _Target, started: DistributeStarted) -> Steps:
    """One branch per region, each with its own timeout; a failed region is retried once."""
    timeout = timedelta(minutes=target.timing.region_timeout_minutes)
    name = target.inp.target.run_output_name
    pending = list(started.regions)
    states: dict[str, str] = {}
    for attempt in range(REGION_RETRIES + 1):
        tasks = [
            target.poll_task(
                "check_region",
                target.probe(started, region),
                timeout,
                f"Replication of '{name}' to {region} did not finish in time.",
            )
            for region in pending
        ]
        outcomes = yield target.ctx.task_all(tasks)
        retry: list[str] = []
        for region, raw in zip(pending, outcomes, strict=True):
            outcome = PollOutput.model_validate(raw)
            states[region] = "Completed" if outcome.succeeded else (outcome.state or "Failed")
            if not outcome.succeeded:
                retry.append(region)
        if not retry or attempt == REGION_RETRIES:
            break
        for region in retry:
            yield target.ctx.call_activity_with_retry(
                "retry_region", target.options, target.probe(started, region)
            )
        pending = retry
    return states


def _with_regions(inp: DistributeInput, count: int, version: str | None = None) -> DistributeInput:
    """The same target with only its first ``count`` target regions (the serial baseline)."""
    spec = dict(inp.target.spec)
    key = "targetRegions" if spec.get("targetRegions") else "replicationRegions"
    every = list(spec.get(key) or [])
    if inp.target.all_regions:
        every = list(inp.target.all_regions)
    spec[key] = every[:count]
    target = inp.target.model_copy(
        update={"spec": spec, "version": version or inp.target.version, "all_regions": every}
    )
    return inp.model_copy(update={"target": target})


def _one_region_after_another(target: _Target, started: DistributeStarted) -> Steps:
    """Serial baseline: wait for each region before adding the next one to the image version."""
    timeout = timedelta(minutes=target.timing.region_timeout_minutes)
    name = target.inp.target.run_output_name
    every = list(target.inp.target.all_regions)
    states: dict[str, str] = {}
    for count in range(1, len(every) + 1):
        if count > 1:
            target.inp = _with_regions(target.inp, count, started.version)
            payload = target.inp.model_dump(mode="json")
            started = DistributeStarted.model_validate(
                (yield target.ctx.call_activity_with_retry("start_distribute", target.options, payload))
            )
            if started.error is not None:
                break
        region = started.regions[-1]
        message = f"Replication of '{name}' to {region} did not finish in time."
        outcome = PollOutput.model_validate(
            (yield target.poll_task("check_region", target.probe(started, region), timeout, message))
        )
        states[region] = "Completed" if outcome.succeeded else (outcome.state or "Failed")
    return started, states
