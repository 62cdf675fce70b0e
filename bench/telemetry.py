"""Benchmark of tracing's cost: what ``import function_app`` pays (it imports no exporter), what the first
traced run pays on top (the OpenTelemetry SDK, azure-monitor-opentelemetry), the time to derive and export
a build's spans from its run document, and (``--build``) how many Azure calls one build makes: with
Application Insights on and ``KILN_TRACE_AZURE_CALLS`` true, each is two telemetry items.

Run: ``python -m bench.telemetry [--runs 5] [--build]``. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.api import import_time  # noqa: E402

SNIPPET = (
    "import sys, time; t = time.perf_counter(); import {module}; d = time.perf_counter() - t; "
    "print(d, int(any(m.startswith(('azure.monitor', 'opentelemetry.sdk')) for m in sys.modules)))"
)


def exporters_after_import(module: str) -> bool:
    """Whether importing ``module`` in a fresh interpreter loaded an exporter (it should not for the app)."""
    code = SNIPPET.format(module=module)
    return subprocess.check_output([sys.executable, "-c", code], cwd=REPO, text=True).split()[1] == "1"


def export_seconds(rounds: int) -> float:
    """Median seconds to derive and write (OTLP/JSON lines) the spans of one whole build's run document."""
    from shared.azure.telemetry import file_tracer
    from shared.bootstrap import Overrides, bootstrap
    from shared.service import Caller
    from shared.settings import Settings
    from tests.api import bodies
    from tests.api.test_run_trace import REF, _build, _report
    from tests.fakes import FakeAzure, InMemoryDocuments

    times = []
    with tempfile.TemporaryDirectory(prefix="kiln-bench-trace-") as tmp:
        for i in range(rounds):
            tracer = file_tracer(Path(tmp) / f"traces-{i}.jsonl")
            overrides = Overrides(azure=FakeAzure(), documents=InMemoryDocuments(), tracer=tracer)
            kiln = bootstrap(Settings(), overrides=overrides)
            kiln.service.templates.put(REF, bodies.ubuntu(), api_version="2025-10-01", caller=Caller())
            run_id = kiln.service.runs.begin(REF).run_id
            reports = _build(run_id)
            start = time.perf_counter()
            _report(kiln, reports, run_id)
            times.append(time.perf_counter() - start)
            tracer.shutdown()
    return statistics.median(times)


def azure_calls_per_build() -> tuple[str, int, int]:
    """One build of bench/build.py's template on the local stack: its ARM and Key Vault calls (azuresim's
    request log) and its storage calls (Azurite's access log), counted from the start of the run to its end
    (the build is waited on through devhost's Durable API, which reads no storage)."""
    from bench.build_plan import CUSTOMIZER_UNITS, DEPROVISION_UNITS, OPS, template
    from bench.build_stack import BenchStack

    with (
        tempfile.TemporaryDirectory(prefix="kiln-bench-calls-", ignore_cleanup_errors=True) as folder,
        BenchStack(Path(folder), latency_scale=0.0005) as stack,
    ):
        stack.configure(OPS, CUSTOMIZER_UNITS, DEPROVISION_UNITS)
        body = template(0, stack.connection().subscription)
        stack.create_templates({"bench-calls": body})
        access_log = stack.state / "azurite.out"
        stack.sim("DELETE", "/_sim/requests", None)
        storage_before = len(access_log.read_text().splitlines())
        run_id = stack.start_run("bench-calls")
        (status,) = stack.wait_all([run_id], timeout=600)
        arm = len(stack.sim("GET", "/_sim/requests", None)["requests"])
        storage = len(access_log.read_text().splitlines()) - storage_before
    props = body["properties"]
    regions = sum(len(t.get("targetRegions") or [t.get("location")]) for t in props["distribute"])
    shape = (
        f"{len(props['customize'])} customizers, {len(props['distribute'])} targets, {regions} regions; "
        f"{status.get('runtimeStatus')}"
    )
    return shape, arm, storage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="fresh interpreters per import figure")
    parser.add_argument("--build", action="store_true", help="also count one build's Azure calls")
    args = parser.parse_args()
    app = import_time("function_app", args.runs)
    print(
        f"cold start: import function_app {app * 1000:.0f} ms "
        f"(exporters imported: {'yes' if exporters_after_import('function_app') else 'no'})"
    )
    for module in ("shared.azure.telemetry", "azure.monitor.opentelemetry"):
        print(f"first traced run: import {module} {import_time(module, args.runs) * 1000:.0f} ms")
    seconds = export_seconds(args.runs)
    print(
        f"a build's 14 reports recorded with their spans (20 spans, OTLP/JSON lines): {seconds * 1000:.1f} ms"
    )
    if args.build:
        shape, arm, storage = azure_calls_per_build()
        print(
            f"one build ({shape}): {arm} ARM / Key Vault calls, {storage} storage calls; with Azure calls "
            f"traced, {2 * (arm + storage)} dependency items (before the distro's sampling)"
        )


if __name__ == "__main__":
    main()
