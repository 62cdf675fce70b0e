"""devhost benchmark: prints figures (not a test).

    python bench/devhost.py [--fan-out 100 1000] [--chain 200]

Runs devhost's DurableEngine in-process on the shared test app (tests/devhost/apps/testapp) and prints:
- activities per second through a 1→N fan-out, beside the same activity called N times in a plain loop;
- scheduling overhead per activity (p50/p99): a chain of sequential no-op activities, each step's wall time
  minus the plain-loop cost of the call;
- replay time per episode against history length (engine episodes of the chain, and the bare SDK replay of
  synthetic histories of the same lengths), to show it grows linearly;
- peak RSS of the process.
Targets (issue 3): median overhead ≤ 5 ms per activity; a 1,000-activity fan-out under 10 s.
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TESTAPP = REPO / "tests" / "devhost" / "apps" / "testapp"
sys.path[:0] = [str(TESTAPP), str(REPO)]  # the test app, not kiln's function_app.py

from azure.durable_functions.models.DurableOrchestrationContext import (  # noqa: E402
    DurableOrchestrationContext,
)
from azure.durable_functions.orchestrator import Orchestrator  # noqa: E402

import function_app  # noqa: E402  (the test app, found through sys.path)
from devhost.engine import DurableEngine  # noqa: E402

FUNCTIONS = {f.get_function_name(): f for f in function_app.app.get_functions()}


def plain_loop_ms(name: str, arg: Any, calls: int) -> float:
    """Milliseconds per call of the activity function called directly."""
    fn = FUNCTIONS[name].get_user_function()
    started = time.perf_counter()
    for _ in range(calls):
        json.dumps(fn(arg))
    return (time.perf_counter() - started) * 1000 / calls


def run_engine(work: Any, *, workers: int = 8) -> tuple[Any, list[dict[str, Any]]]:
    log: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        engine = DurableEngine(
            functions=list(FUNCTIONS.values()),
            db_path=Path(folder) / "bench.sqlite3",
            activity_workers=workers,
            log=log.append,
        )
        engine.start()
        try:
            return work(engine), log
        finally:
            engine.stop()


def bench_fan_out(n: int) -> None:
    def work(engine: DurableEngine) -> tuple[float, dict[str, Any] | None]:
        started = time.perf_counter()
        iid = engine.start_new("fan_out", None, json.dumps(n))
        status = engine.wait_for(iid, timeout=600)
        return time.perf_counter() - started, status

    (elapsed, status), _ = run_engine(work)
    assert status and status["runtimeStatus"] == "Completed", status
    plain = plain_loop_ms("double", 3, n) * n / 1000
    print(
        f"fan-out 1→{n:<5}  {elapsed:7.3f} s  {n / elapsed:9.0f} activities/s   "
        f"| plain loop: {plain * 1000:8.3f} ms  {n / plain:12.0f} calls/s"
    )


def bench_fan_out_over_http(n: int) -> None:
    """The same fan-out through a devhost subprocess: RPC start, status polling, JSON logs on stderr."""
    import requests

    from tests.support.devhost import start_devhost

    with tempfile.TemporaryDirectory() as folder, start_devhost(TESTAPP, state_dir=folder) as server:
        rpc = f"{server.rpc_url}/durabletask"
        started = time.perf_counter()
        iid = requests.post(f"{rpc}/orchestrators/fan_out", json=json.dumps(n), timeout=30).json()["id"]
        while requests.get(f"{rpc}/instances/{iid}", timeout=30).json()["runtimeStatus"] != "Completed":
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        assert server.process is not None
        peak = _peak_rss_mib(server.process.pid)
    print(
        f"fan-out 1→{n:<5}  {elapsed:7.3f} s  {n / elapsed:9.0f} activities/s   (devhost process over HTTP; "
        f"its peak RSS {peak:.1f} MiB)"
    )


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench_chain(k: int) -> list[dict[str, Any]]:
    names = [f"n{i}" for i in range(k)]

    def work(engine: DurableEngine) -> dict[str, Any] | None:
        iid = engine.start_new("sequence", None, json.dumps(names))
        engine.wait_for(iid, timeout=600)
        return engine.get_status(iid, show_history=True)

    status, log = run_engine(work)
    assert status and status["runtimeStatus"] == "Completed", status
    done = [_ts(e["Timestamp"]) for e in status["historyEvents"] if e["EventType"] == "TaskCompleted"]
    steps_ms = [(b - a) * 1000 for a, b in itertools.pairwise(done)]
    plain = plain_loop_ms("hello", "x", 1000)
    overhead = sorted(step - plain for step in steps_ms)
    p50, p99 = statistics.median(overhead), overhead[int(len(overhead) * 0.99) - 1]
    print(
        f"chain of {k} sequential activities: per-activity overhead p50 {p50:.3f} ms, p99 {p99:.3f} ms, "
        f"mean step {statistics.fmean(steps_ms):.3f} ms  | plain call {plain * 1000:.2f} µs"
    )
    return [e for e in log if e["kind"] == "orchestrator"]


def bench_replay(episodes: list[dict[str, Any]], k: int) -> None:
    print("replay per episode vs history length (episode i of the chain replays ~4i+2 events):")
    print(f"  {'episode':>7} {'events':>7} {'engine ms':>10} {'bare SDK replay ms':>19}")
    handle = FUNCTIONS["sequence"].get_user_function()
    points = sorted({1, k // 8, k // 4, k // 2, (3 * k) // 4, k})
    for i in points:
        window = [e["durationMs"] for e in episodes[max(0, i - 3) : i + 2]]
        bare = _bare_replay_ms(handle, i)
        print(f"  {i:>7} {4 * i + 2:>7} {statistics.median(window):>10.3f} {bare:>19.3f}")


def _bare_replay_ms(handle: Any, completed: int, repeats: int = 9) -> float:
    """The SDK alone replaying a chain history with ``completed`` activities done (no store)."""
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    names = [f"n{i}" for i in range(completed + 1)]
    history = [_event(12, t0), _event(0, t0, Name="sequence", Version="", Input=json.dumps(names))]
    for i in range(completed):
        at = t0 + timedelta(seconds=i + 1)
        history += [
            _event(4, at, EventId=i, Name="hello"),
            _event(13, at),
            _event(12, at),
            _event(5, at, TaskScheduledId=i, Result=json.dumps(f"Hello n{i}!")),
        ]
    body = json.dumps(
        {
            "history": history,
            "input": json.dumps(names),
            "instanceId": "bench",
            "isReplaying": False,
            "parentInstanceId": None,
            "upperSchemaVersion": 1,
            "upperSchemaVersionNew": 2,
        }
    )
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        context = DurableOrchestrationContext.from_json(body)
        Orchestrator(handle.orchestrator_function).handle(context)
        best = min(best, (time.perf_counter() - started) * 1000)
    return best


def _event(kind: int, at: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "EventType": kind,
        "EventId": fields.pop("EventId", -1),
        "IsPlayed": True,
        "Timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        **fields,
    }


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--fan-out", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--chain", type=int, default=200)
    args = parser.parse_args()
    print(f"devhost benchmark — Python {sys.version.split()[0]}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    for n in args.fan_out:
        bench_fan_out(n)
    bench_fan_out_over_http(max(args.fan_out))
    episodes = bench_chain(args.chain)
    bench_replay(episodes, args.chain)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak RSS of this process (in-process engine runs): {peak_kb / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
