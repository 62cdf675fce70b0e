"""The ``RunTracer`` adapter over OpenTelemetry, and the exporters the composition root chooses from settings:
Azure Monitor (azure-monitor-opentelemetry, Entra authentication) in Azure, a file of OTLP/JSON lines
locally, OpenTelemetry's in-memory exporter in tests.

A run's spans are made after the fact with their recorded start and end times and ids derived from the run id
(``shared.models.trace``), so they are handed to a span processor as finished ``ReadableSpan`` s instead of
being started and ended by a tracer. Importing this module imports the OpenTelemetry SDK; Azure Monitor is
imported only by ``azure_monitor``.
"""

from __future__ import annotations

import atexit
import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from shared.models.trace import ROOT, RunSpan, span_id, trace_id

SERVICE = "kiln"
SCOPE = InstrumentationScope("kiln.runs")
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_CODES = {"Ok": StatusCode.OK, "Error": StatusCode.ERROR, "Unset": StatusCode.UNSET}


def _nanos(span: RunSpan, which: str) -> int:
    return int(getattr(span, which).timestamp() * 1_000_000_000)


def readable(span: RunSpan, resource: Resource) -> ReadableSpan:
    """The finished OpenTelemetry span of a ``RunSpan``. The run's span is a CONSUMER span (it handles the
    start of a run: Application Insights lists it under ``requests``), the others INTERNAL
    (``dependencies``)."""
    parent = None
    if span.parent_id is not None:
        parent = SpanContext(span.trace_id, span.parent_id, is_remote=False, trace_flags=_SAMPLED)
    code = _CODES[span.status]
    return ReadableSpan(
        name=span.name,
        context=SpanContext(span.trace_id, span.span_id, is_remote=False, trace_flags=_SAMPLED),
        parent=parent,
        resource=resource,
        attributes=dict(span.attributes),
        kind=SpanKind.CONSUMER if span.parent is None else SpanKind.INTERNAL,
        status=Status(code, span.description or None) if code is StatusCode.ERROR else Status(code),
        start_time=_nanos(span, "start"),
        end_time=_nanos(span, "end"),
        instrumentation_scope=SCOPE,
    )


class OtelRunTracer:
    """``ports.RunTracer``: each span, finished, to one span processor (and from it to its exporter)."""

    opentelemetry = True  # the root makes the run's span the current context of a run's work

    def __init__(self, processor: SpanProcessor, *, resource: Resource | None = None) -> None:
        self.processor = processor
        self.resource = resource or Resource.create({"service.name": SERVICE})

    def export(self, spans: Sequence[RunSpan]) -> None:
        for span in spans:
            self.processor.on_end(readable(span, self.resource))

    def flush(self) -> bool:
        return self.processor.force_flush()

    def shutdown(self) -> None:
        self.processor.shutdown()


@contextmanager
def run_span_context(run_id: str) -> Iterator[None]:
    """Make the run's span the current span context for a block: log lines and the Azure SDK's own spans
    recorded in it belong to the run's trace (Application Insights' ``operation_Id``)."""
    ctx = SpanContext(trace_id(run_id), span_id(run_id, ROOT), is_remote=False, trace_flags=_SAMPLED)
    token = otel_context.attach(trace.set_span_in_context(trace.NonRecordingSpan(ctx)))
    try:
        yield
    finally:
        otel_context.detach(token)


# -- OTLP/JSON lines ---------------------------------------------------------------------------------------
def _value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": str(value)}


def _attributes(values: Any) -> list[dict[str, Any]]:
    return [{"key": k, "value": _value(v)} for k, v in (values or {}).items()]


def otlp_json(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """An OTLP ``ExportTraceServiceRequest`` in its JSON encoding (ids as hex, times as decimal strings),
    one resource and scope per span (a run's spans share both)."""
    resource_spans = []
    for span in spans:
        ctx = span.context
        assert ctx is not None
        entry: dict[str, Any] = {
            "traceId": f"{ctx.trace_id:032x}",
            "spanId": f"{ctx.span_id:016x}",
            "name": span.name,
            "kind": span.kind.value + 1,  # OTLP counts from SPAN_KIND_UNSPECIFIED = 0
            "startTimeUnixNano": str(span.start_time),
            "endTimeUnixNano": str(span.end_time),
            "attributes": _attributes(span.attributes),
            "status": {"code": span.status.status_code.value, "message": span.status.description or ""},
        }
        if span.parent is not None:
            entry["parentSpanId"] = f"{span.parent.span_id:016x}"
        scope = span.instrumentation_scope
        resource_spans.append(
            {
                "resource": {"attributes": _attributes(span.resource.attributes)},
                "scopeSpans": [{"scope": {"name": scope.name if scope else SERVICE}, "spans": [entry]}],
            }
        )
    return {"resourceSpans": resource_spans}


class JsonLinesSpanExporter(SpanExporter):
    """Appends each export as one line of OTLP/JSON to a file (the OpenTelemetry file exporter's format):
    what a local stack leaves under its state directory for tests and people to read."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        line = json.dumps(otlp_json(spans), separators=(",", ":")) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(line)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return


def read_json_lines(path: str | Path) -> list[dict[str, Any]]:
    """Every span of a file of OTLP/JSON lines, flattened (``traceId``, ``spanId``, ``name``, attributes as a
    plain dict): how a test or a person reads a local run's trace."""
    found = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        for resource in json.loads(line)["resourceSpans"]:
            for scope in resource["scopeSpans"]:
                for span in scope["spans"]:
                    attrs = {a["key"]: next(iter(a["value"].values())) for a in span["attributes"]}
                    found.append({**span, "attributes": attrs})
    return found


def file_tracer(path: str | Path) -> OtelRunTracer:
    """Spans written as they end (one line per write of a run document)."""
    return OtelRunTracer(SimpleSpanProcessor(JsonLinesSpanExporter(path)))


# The distro's instrumentations that record kiln's outbound calls: the Azure SDK (two spans per call, and
# it then suppresses the HTTP libraries' own) and the HTTP libraries beneath it and the artifact fetcher.
OUTBOUND_INSTRUMENTATIONS = ("azure_sdk", "requests", "urllib", "urllib3")


def azure_monitor(
    connection_string: str, credential: Any, *, offline_storage: bool = True, azure_calls: bool = True
) -> OtelRunTracer:
    """Application Insights: ``configure_azure_monitor`` sends the process's log lines (each with its run
    id) and, with ``azure_calls``, the Azure SDK's calls, authenticated with kiln's Entra credential (the
    resource has local authentication off); the runs' spans go through their own batch processor to the
    same resource. ``offline_storage``: keep what could not be sent in a temporary directory and send it
    later. The SDK's spans (two per call) are sampled by the distro, 5 per second per process unless
    ``OTEL_TRACES_SAMPLER`` says otherwise; the runs' spans and the log lines are never sampled."""
    from azure.monitor.opentelemetry import configure_azure_monitor
    from azure.monitor.opentelemetry.exporter import AzureMonitorTraceExporter

    with _configured_lock:  # the providers and the logging handler are the process's: configure them once
        if connection_string not in _configured:
            options: dict[str, Any] = {
                "connection_string": connection_string,
                "credential": credential,
                "disable_offline_storage": not offline_storage,
            }
            # Off means every outbound HTTP library too: without the SDK's own spans, the requests and
            # urllib3 instrumentations would record each call instead (one item per call).
            switch = {"enabled": azure_calls}
            configure_azure_monitor(
                **options, instrumentation_options=dict.fromkeys(OUTBOUND_INSTRUMENTATIONS, switch)
            )
            exporter = AzureMonitorTraceExporter(**options)
            tracer = OtelRunTracer(BatchSpanProcessor(exporter))
            atexit.register(tracer.shutdown)  # what is queued is sent when the worker stops
            _configured[connection_string] = tracer
        return _configured[connection_string]


_configured: dict[str, OtelRunTracer] = {}
_configured_lock = threading.Lock()
