"""Registers kiln's orchestrators on a Durable blueprint (``function_app.py`` registers the blueprint)."""

from __future__ import annotations

import azure.durable_functions as df

from orchestrators import build_image as _build
from orchestrators import distribute_target as _distribute
from orchestrators import poll as _poll
from orchestrators import run_step as _steps
from orchestrators.flow import Steps

bp = df.Blueprint()


@bp.orchestration_trigger(context_name="context")  # type: ignore[untyped-decorator]
def build_image(context: df.DurableOrchestrationContext) -> Steps:
    return (yield from _build.build_image(context))


@bp.orchestration_trigger(context_name="context")  # type: ignore[untyped-decorator]
def run_step(context: df.DurableOrchestrationContext) -> Steps:
    return (yield from _steps.run_step(context))


@bp.orchestration_trigger(context_name="context")  # type: ignore[untyped-decorator]
def distribute_target(context: df.DurableOrchestrationContext) -> Steps:
    return (yield from _distribute.distribute_target(context))


@bp.orchestration_trigger(context_name="context")  # type: ignore[untyped-decorator]
def poll_until_done(context: df.DurableOrchestrationContext) -> Steps:
    return (yield from _poll.poll_until_done(context))
