"""Benchmark of tracing's cost: what ``import function_app`` pays (it imports no exporter), what the first
traced run pays on top (the OpenTelemetry SDK, azure-monitor-opentelemetry), and the time to derive and export
a build's spans from its run document.

Run: ``python -m bench.telemetry [--runs 5]``. Prints figures; asserts nothing.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="fresh interpreters per import figure")
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


if __name__ == "__main__":
    main()
