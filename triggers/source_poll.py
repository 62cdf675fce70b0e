"""The source poll: every ``KILN_SOURCE_POLL_SCHEDULE`` (NCRONTAB, default every 30 minutes) the
SourceImage triggers ask their sources for a new version (Marketplace has no events; galleries are polled
as a backstop for missed events) and start the runs that are due, pending ones included."""

from __future__ import annotations

import logging
import os

import azure.durable_functions as df
import azure.functions as func

bp = df.Blueprint()
_log = logging.getLogger("kiln.source_poll")
# Read when the app is indexed: the host needs the schedule before any setting object exists.
SCHEDULE = os.environ.get("KILN_SOURCE_POLL_SCHEDULE") or "0 */30 * * * *"


@bp.function_name("source_poll")  # type: ignore[untyped-decorator]
@bp.timer_trigger(arg_name="timer", schedule=SCHEDULE, run_on_startup=False)  # type: ignore[untyped-decorator]
@bp.durable_client_input(client_name="client")  # type: ignore[untyped-decorator]
async def source_poll(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    from shared.bootstrap import bootstrap
    from shared.service import get_service
    from shared.service.source_triggers import SourceTriggers

    service = get_service()
    report = await SourceTriggers(service.store, service.runs, ports=bootstrap(), client=client).poll()
    _log.info("source poll: started %d runs; %s", len(report.started()), report.decisions)
