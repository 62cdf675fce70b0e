"""Tracing and the run id of log lines, as the composition root sets them up from settings
(docs/observability.md).

* ``APPLICATIONINSIGHTS_CONNECTION_STRING`` set (in Azure): Azure Monitor, authenticated with kiln's Entra
  credential; azure-monitor-opentelemetry is imported when the first run is traced, never when the function
  app is imported.
* else ``KILN_TRACE_FILE`` set (a local stack sets it under its state directory): OTLP/JSON lines.
* else no tracing.

Every log line written while a run is being worked on carries its id, as the record attribute
``kiln.run_id`` (Application Insights: ``customDimensions["kiln.run_id"]``): ``run_context`` binds it for a
block (an activity, an orchestration episode), a log record factory adds it to every record.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

from shared import ports
from shared.models.trace import RunSpan
from shared.settings import Settings

RUN_ID = "kiln.run_id"
_run_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("kiln_run_id", default=None)
_installed: list[Callable[..., logging.LogRecord]] = []


class NoTracer:
    """``ports.RunTracer`` when tracing is off: the spans go nowhere."""

    def export(self, spans: Sequence[RunSpan]) -> None:
        return


def run_tracer(settings: Settings, credential: Callable[[], Any]) -> ports.RunTracer:
    """The tracer the settings ask for (``credential`` is called only for Azure Monitor)."""
    if settings.applicationinsights_connection_string:
        from shared.azure.telemetry import azure_monitor

        return azure_monitor(
            settings.applicationinsights_connection_string,
            credential(),
            azure_calls=settings.trace_azure_calls,
        )
    if settings.trace_file:
        from shared.azure.telemetry import file_tracer

        return file_tracer(settings.trace_file)
    return NoTracer()


def current_run_id() -> str | None:
    return _run_id.get()


def install_run_ids() -> None:
    """Make every log record carry the bound run id (once per process; records without a run get none)."""
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        run_id = _run_id.get()
        if run_id is not None:
            setattr(record, RUN_ID, run_id)
        return record

    _installed.append(previous)
    logging.setLogRecordFactory(factory)


@contextmanager
def run_context(run_id: str | None, *, spans: bool = False) -> Iterator[None]:
    """Bind ``run_id`` to the log lines of a block; with ``spans`` (OpenTelemetry tracing on) also make the
    run's span the current span context, so the lines and the Azure SDK's calls join the run's trace."""
    if not run_id:
        yield
        return
    install_run_ids()
    token = _run_id.set(run_id)
    try:
        with ExitStack() as stack:
            if spans:
                from shared.azure.telemetry import run_span_context

                stack.enter_context(run_span_context(run_id))
            yield
    finally:
        _run_id.reset(token)
