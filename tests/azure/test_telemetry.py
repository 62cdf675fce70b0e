"""The tracing adapters and how the root chooses one: OTLP/JSON lines locally, Azure Monitor (Entra-signed,
to an ingestion endpoint on 127.0.0.1 here) when APPLICATIONINSIGHTS_CONNECTION_STRING is set, none else."""

from __future__ import annotations

import gzip
import json
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme

from shared.azure.telemetry import OtelRunTracer, file_tracer, read_json_lines
from shared.bootstrap import Overrides, bootstrap
from shared.bootstrap.telemetry import NoTracer, run_tracer
from shared.models.trace import ROOT, RunSpan, span_id, trace_id_hex
from shared.settings import Settings
from tests.fakes import FakeAzure, InMemoryDocuments

ROOT_DIR = Path(__file__).resolve().parents[2]
RUN = "abc123-run-00001-x1"
START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def _spans() -> list[RunSpan]:
    """A phase that ended, and the failed run around it."""
    common = {
        "kiln.run_id": RUN,
        "kiln.template": "/subscriptions/s/…/imageTemplates/t",
        "kiln.runState": "Failed",
    }
    shared: dict[str, Any] = {"run_id": RUN, "start": START}
    phase = RunSpan.model_validate(
        {**shared, "key": "phase/0/resolve", "parent": ROOT, "kind": "phase", "name": "phase resolve"}
        | {
            "end": START + timedelta(seconds=3),
            "status": "Ok",
            "attributes": {**common, "kiln.phase": "resolve"},
        }
    )
    run = RunSpan.model_validate(
        {**shared, "key": ROOT, "parent": None, "kind": "run", "name": "run t", "attributes": common}
        | {"end": START + timedelta(minutes=5), "status": "Error", "description": "Customizer 0 failed."}
    )
    return [phase, run]


def test_the_file_exporter_writes_otlp_json_lines_a_reader_gets_back(tmp_path: Path) -> None:
    path = tmp_path / "state" / "traces.jsonl"
    tracer = file_tracer(path)

    tracer.export(_spans())
    tracer.shutdown()

    lines = path.read_text().splitlines()
    assert len(lines) == 2 and all(json.loads(line)["resourceSpans"] for line in lines)
    phase, root = read_json_lines(path)
    assert phase["traceId"] == root["traceId"] == trace_id_hex(RUN)
    assert root["spanId"] == f"{span_id(RUN, ROOT):016x}" == phase["parentSpanId"]
    assert "parentSpanId" not in root
    assert phase["startTimeUnixNano"] == str(int(START.timestamp()) * 1_000_000_000)
    assert root["status"] == {"code": 2, "message": "Customizer 0 failed."}
    assert root["kind"] == 5 and phase["kind"] == 1  # CONSUMER, INTERNAL in OTLP's numbering
    assert phase["attributes"]["kiln.phase"] == "resolve" and root["attributes"]["kiln.run_id"] == RUN
    resource = json.loads(lines[0])["resourceSpans"][0]["resource"]["attributes"]
    assert {"key": "service.name", "value": {"stringValue": "kiln"}} in resource


def test_the_root_traces_to_a_file_when_told_and_nowhere_otherwise(tmp_path: Path) -> None:
    def no_credential() -> Any:
        raise AssertionError("only Azure Monitor needs a credential")

    to_file = run_tracer(Settings(trace_file=str(tmp_path / "t.jsonl")), no_credential)
    nowhere = run_tracer(Settings(), no_credential)
    rooted = bootstrap(
        Settings(trace_file=str(tmp_path / "r.jsonl")),
        overrides=Overrides(azure=FakeAzure(), documents=InMemoryDocuments()),
    )

    assert isinstance(to_file, OtelRunTracer) and isinstance(nowhere, NoTracer)
    assert isinstance(rooted.tracer, OtelRunTracer) and rooted.tracer is rooted.tracer
    nowhere.export(_spans())  # tracing off: nothing happens, nothing fails


def test_settings_read_application_insights_and_the_trace_file_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("APPLICATIONINSIGHTS_CONNECTION_STRING", "InstrumentationKey=k")
    monkeypatch.setenv("KILN_TRACE_FILE", "/tmp/kiln-traces.jsonl")

    settings = Settings()

    assert settings.applicationinsights_connection_string == "InstrumentationKey=k"
    assert settings.trace_file == "/tmp/kiln-traces.jsonl"


@pytest.fixture
def ingestion(tmp_path: Path) -> Iterator[tuple[str, str, list[dict[str, Any]]]]:
    """An Application Insights ingestion endpoint on 127.0.0.1 over TLS (a bearer token travels over https
    only), its CA file, and each request's envelopes as received."""
    received: list[dict[str, Any]] = []
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            envelopes = json.loads(body)
            for envelope in envelopes if isinstance(envelopes, list) else [envelopes]:
                received.append({"auth": self.headers.get("Authorization"), **envelope})
            answer = json.dumps(
                {"itemsReceived": len(received), "itemsAccepted": len(received), "errors": []}
            )
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(answer.encode())

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/", str(ca_file), received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _run_configured(
    script: str, ingestion: tuple[str, str, list[dict[str, Any]]], *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """``script`` in a fresh interpreter (configure_azure_monitor sets process-wide providers and logging
    handlers) with a connection string naming the ingestion endpoint; ``env`` added to its environment."""
    endpoint, ca_file, _ = ingestion
    conn = f"InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint={endpoint}"
    base = {"APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true", "REQUESTS_CA_BUNDLE": ca_file}
    return subprocess.run(
        [sys.executable, "-c", script, conn, *args],
        cwd=ROOT_DIR,
        env={**base, **env, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=100,
        check=True,
    )


# Runs in a fresh interpreter: configure_azure_monitor sets process-wide providers and logging handlers.
AZURE_MONITOR_RUN = """
import faulthandler, logging, sys, time
faulthandler.dump_traceback_later(80, exit=True)
from azure.core.credentials import AccessToken
from shared.bootstrap.telemetry import run_context
from shared.azure.telemetry import azure_monitor
from tests.azure.test_telemetry import RUN, _spans

class Credential:  # a TokenCredential (a framework object): kiln's identity stands in here
    def get_token(self, *scopes, **kwargs):
        print("scope", *scopes, flush=True)
        return AccessToken("token-of-kiln", int(time.time()) + 3600)

tracer = azure_monitor(sys.argv[1], Credential(), offline_storage=False)
assert azure_monitor(sys.argv[1], Credential(), offline_storage=False) is tracer  # configured once
tracer.export(_spans())
with run_context(RUN, spans=True):
    logging.getLogger("kiln.activities").warning("deploying the build VM")
tracer.flush()
from opentelemetry._logs import get_logger_provider
get_logger_provider().force_flush()
"""


def test_azure_monitor_gets_the_runs_spans_and_log_lines_in_one_operation_signed_with_kilns_token(
    ingestion: tuple[str, str, list[dict[str, Any]]],
) -> None:
    _, _, received = ingestion
    out = _run_configured(AZURE_MONITOR_RUN, ingestion)

    assert "scope https://monitor.azure.com//.default" in out.stdout
    by_kind = {e["data"]["baseType"]: e for e in received if e["data"]["baseType"] != "MetricData"}
    request, dependency, message = (
        by_kind["RequestData"],
        by_kind["RemoteDependencyData"],
        by_kind["MessageData"],
    )
    for envelope in (request, dependency, message):
        assert envelope["tags"]["ai.operation.id"] == trace_id_hex(RUN)
        assert envelope["auth"] == "Bearer token-of-kiln"
    assert request["data"]["baseData"]["name"] == "run t"
    assert request["data"]["baseData"]["success"] is False
    assert request["data"]["baseData"]["properties"]["kiln.run_id"] == RUN
    assert dependency["data"]["baseData"]["name"] == "phase resolve"
    assert dependency["tags"]["ai.operation.parentId"] == f"{span_id(RUN, ROOT):016x}"
    assert message["data"]["baseData"]["message"] == "deploying the build VM"
    assert message["data"]["baseData"]["properties"]["kiln.run_id"] == RUN


# A run's Azure SDK calls (seven blob reads answered 404 by a server on 127.0.0.1), with or without
# ``azure_calls``. The distro samples SDK spans at 5 per second by default; the test keeps them all
# (OTEL_TRACES_SAMPLER=always_on) so the count is exact.
AZURE_CALLS_RUN = """
import faulthandler, http.server, logging, sys, threading, time
faulthandler.dump_traceback_later(80, exit=True)
from azure.core.credentials import AccessToken
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobClient
from opentelemetry import trace
from opentelemetry._logs import get_logger_provider
from shared.azure.telemetry import azure_monitor, run_span_context
from tests.azure.test_telemetry import RUN

class Credential:  # a TokenCredential (a framework object)
    def get_token(self, *scopes, **kwargs):
        return AccessToken("token-of-kiln", int(time.time()) + 3600)

class NoBlob(http.server.BaseHTTPRequestHandler):
    def do_HEAD(self):
        self.send_response(404)
        self.send_header("x-ms-error-code", "BlobNotFound")
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        return

storage = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NoBlob)
threading.Thread(target=storage.serve_forever, daemon=True).start()
azure_monitor(sys.argv[1], Credential(), offline_storage=False, azure_calls=sys.argv[2] == "on")
blob = BlobClient.from_blob_url(f"http://127.0.0.1:{storage.server_port}/account/container/blob")
with run_span_context(RUN):
    for _ in range(7):
        try:
            blob.get_blob_properties()
        except ResourceNotFoundError:
            pass
    logging.getLogger("kiln.activities").warning("read the staged artifact")
trace.get_tracer_provider().force_flush()
get_logger_provider().force_flush()
"""


@pytest.mark.parametrize("mode", ["on", "off"])
def test_a_runs_azure_calls_reach_application_insights_only_when_asked(
    ingestion: tuple[str, str, list[dict[str, Any]]], mode: str
) -> None:
    _, _, received = ingestion
    _run_configured(AZURE_CALLS_RUN, ingestion, mode, OTEL_TRACES_SAMPLER="always_on")

    of_run = [e for e in received if e["tags"].get("ai.operation.id") == trace_id_hex(RUN)]
    calls = [e for e in of_run if e["data"]["baseType"] == "RemoteDependencyData"]
    messages = [e["data"]["baseData"]["message"] for e in of_run if e["data"]["baseType"] == "MessageData"]
    assert messages == ["read the staged artifact"]
    # Two items per call: the SDK method (in process) and its HTTP request.
    assert len(calls) == (14 if mode == "on" else 0), [c["data"]["baseData"]["name"] for c in calls]
    if mode == "on":
        names = {c["data"]["baseData"]["name"] for c in calls}
        assert "BlobClient.get_blob_properties" in names, names
