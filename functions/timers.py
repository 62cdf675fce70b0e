"""The timer functions: the janitor, the SourceImage poll and the patch cycles' tick, each a few lines
around a service operation.

Schedules are NCRONTAB expressions read when the app is indexed (the host needs them before any settings
object exists): ``KILN_JANITOR_SCHEDULE`` and ``KILN_SOURCE_POLL_SCHEDULE``, both every 30 minutes by
default, and ``KILN_CYCLE_TICK_SCHEDULE``, every minute: Schedule triggers are cron in their own time zone,
evaluated by kiln at each tick (Flex Consumption timers are UTC only), so the tick only has to come often.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime

import azure.durable_functions as df
import azure.functions as func

bp = df.Blueprint()
_log = logging.getLogger("kiln.timers")
JANITOR_SCHEDULE = os.environ.get("KILN_JANITOR_SCHEDULE") or "0 */30 * * * *"
SOURCE_POLL_SCHEDULE = os.environ.get("KILN_SOURCE_POLL_SCHEDULE") or "0 */30 * * * *"
CYCLE_TICK_SCHEDULE = os.environ.get("KILN_CYCLE_TICK_SCHEDULE") or "0 * * * * *"


@bp.function_name("janitor")  # type: ignore[untyped-decorator]
@bp.timer_trigger(arg_name="timer", schedule=JANITOR_SCHEDULE, run_on_startup=False)  # type: ignore[untyped-decorator]
def janitor(timer: func.TimerRequest) -> None:
    from shared.bootstrap import root

    report = root().service.janitor.sweep(now=datetime.now(UTC))
    _log.info(
        "janitor: deleted %d resources and %d groups; %d left for the next sweep",
        len(report.deleted),
        len(report.groups_deleted),
        len(report.skipped),
    )


@bp.function_name("source_poll")  # type: ignore[untyped-decorator]
@bp.timer_trigger(arg_name="timer", schedule=SOURCE_POLL_SCHEDULE, run_on_startup=False)  # type: ignore[untyped-decorator]
@bp.durable_client_input(client_name="client")  # type: ignore[untyped-decorator]
async def source_poll(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    from shared.bootstrap import root

    report = await root().service.source_triggers.poll(client)
    _log.info("source poll: started %d runs; %s", len(report.started()), report.decisions)


@bp.function_name("patch_cycles")  # type: ignore[untyped-decorator]
@bp.timer_trigger(arg_name="timer", schedule=CYCLE_TICK_SCHEDULE, run_on_startup=False)  # type: ignore[untyped-decorator]
@bp.durable_client_input(client_name="client")  # type: ignore[untyped-decorator]
async def patch_cycles(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    from shared.bootstrap import root

    report = await root().service.cycles.tick(client, now=datetime.now(UTC))
    if report.started or report.problems:
        _log.info("patch cycles: started %s; problems %s", report.started, report.problems)
