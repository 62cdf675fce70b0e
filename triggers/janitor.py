"""The janitor's timer: every ``KILN_JANITOR_SCHEDULE`` (NCRONTAB, default every 30 minutes) one sweep."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime

import azure.functions as func

bp = func.Blueprint()  # type: ignore[no-untyped-call]
_log = logging.getLogger("kiln.janitor")
# Read when the app is indexed: the host needs the schedule before any setting object exists.
SCHEDULE = os.environ.get("KILN_JANITOR_SCHEDULE") or "0 */30 * * * *"


@bp.function_name("janitor")
@bp.timer_trigger(arg_name="timer", schedule=SCHEDULE, run_on_startup=False)
def janitor(timer: func.TimerRequest) -> None:
    from activities.janitor import sweep
    from shared.bootstrap import bootstrap
    from shared.service import get_service

    report = sweep(bootstrap(), get_service().store, now=datetime.now(UTC))
    _log.info(
        "janitor: deleted %d resources and %d groups; %d left for the next sweep",
        len(report.deleted),
        len(report.groups_deleted),
        len(report.skipped),
    )
