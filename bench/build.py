"""Build benchmark (issue 6): prints figures (not a test).

    python -m bench.build [--minute 1.0] [--concurrent 100] [--concurrent-minute 3.0] [--skip-serial]
                          [--state-dir DIR]

Runs kiln on the local stack (Azurite + azuresim + devhost serving function_app, ``cli.local_stack``) with
azuresim's latency model set to Azure-like durations (``OPS``: VM deploy 3 min, each customizer 2 min,
generalize 3 min, image capture 3 min, gallery replication 20 min per region in parallel, …) scaled so that
one simulated minute takes ``--minute`` seconds, and prints:

1. makespan / critical-path lower bound of one build (5 customizers; SharedImage to 10 regions, ManagedImage,
   SharedImage to a second definition in 2 regions), beside the same build with ``distribution: serial`` (one
   target and one region after another); the lower bound is computed from ``OPS``: the sequential phases
   plus the longest distribute branch; and the build VM-minutes over the customize + generalize + capture
   minutes of that build (the VM counted from its deployment's end until its deletion is asked for, from
   azuresim's ``/_sim/lifetimes``): the VM goes once every target is captured, not after the slowest region;
2. the makespan of ``--concurrent`` builds started at once, over the makespan of one build, both on a second
   stack whose clock (``--concurrent-minute``) is slow enough for the builds to wait on latencies, not on
   this machine's two cores (the timing policy runs on the same clock, so a build polls as often as in Azure);
3. history events per build (the run's orchestration and every sub-orchestration, through devhost's
   instance query by id prefix and showHistory);
4. orchestrator replay CPU per build (sum of ``cpuMs`` of orchestrator executions in devhost's log for
   the run's instances) and devhost's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.build_plan import (  # noqa: E402
    CUSTOMIZER_UNITS,
    DEPROVISION_UNITS,
    OPS,
    capture_seconds,
    lower_bound_seconds,
    template,
)
from bench.build_stack import BenchStack  # noqa: E402
from shared import naming  # noqa: E402


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def span(stack: BenchStack, run_id: str) -> tuple[float, float]:
    """When the run's orchestration started and completed: its first and last history events (devhost's
    clock, in microseconds; the status's createdTime and lastUpdatedTime are whole seconds)."""
    events = stack.status(run_id, showHistory="true").get("historyEvents") or []
    stamps = [_ts(e["Timestamp"]) for e in events if e.get("Timestamp")]
    return min(stamps), max(stamps)


def measure_builds(
    stack: BenchStack, names: list[str], *, timeout: float, serial: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    """Start a run of each template at once (those in ``serial`` with serial distribution); wait for all;
    each run's id, start, end and makespan, and the CPU seconds per build each process of the stack spent."""
    before = stack.cpu_seconds()
    with ThreadPoolExecutor(min(16, len(names))) as pool:
        run_ids = list(pool.map(lambda n: stack.start_run(n, serial=n in serial), names))
    began = time.monotonic()
    statuses = stack.wait_all(run_ids, timeout=timeout)
    wall = time.monotonic() - began
    after = stack.cpu_seconds()
    cpu = {name: (after[name] - before[name]) / len(names) for name in after}
    results = []
    for run_id, status in zip(run_ids, statuses, strict=True):
        start, end = span(stack, run_id)
        state = (status.get("output") or {}).get("run_state")
        if state != "Succeeded":
            print(f"  !! {run_id}: {state}: {(status.get('output') or {}).get('message')}", flush=True)
        results.append(
            {"run_id": run_id, "start": start, "end": end, "makespan": end - start, "wall": wall, "cpu": cpu}
        )
    return results


def report_phases(stack: BenchStack, name: str, run_id: str, minute: float) -> None:
    """Each phase's measured duration in simulated minutes (where a gap to the lower bound comes from)."""
    run = stack.client.get_run(name, run_id)
    cells = []
    for phase in run["properties"].get("phases") or []:
        if phase.get("endTime"):
            took = (_ts(phase["endTime"]) - _ts(phase["startTime"])) / minute
            cells.append(f"{phase['phase']} {took:.1f}")
    print(f"    {name} phases (simulated minutes): " + ", ".join(cells))


def vm_minutes_ratio(stack: BenchStack, name: str, run_id: str, scale: float) -> tuple[float, float, float]:
    """(VM-minutes, customize + generalize + capture minutes, their ratio) of one build, on the simulated
    clock: the build VM counts from its deployment's end until its deletion is asked for (azuresim's
    ``/_sim/lifetimes``); customize .. generalize from the run's phases, the capture from ``OPS``."""
    phases = {p["phase"]: p for p in stack.client.get_run(name, run_id)["properties"].get("phases") or []}
    running_from = _ts(phases["deploy"]["endTime"])
    first = next(p for p in ("artifacts", "customize") if p in phases)
    working = _ts(phases["generalize"]["endTime"]) - _ts(phases[first]["startTime"])
    vm_name = f"/virtualmachines/{naming.build_vm_name(run_id)}"
    lives = stack.sim("GET", "/_sim/lifetimes?contains=virtualmachines", None)["lifetimes"]
    vm = next(life for life in lives if life["id"].lower().endswith(vm_name))
    lived = (vm["deleting"] or vm["gone"]) - running_from
    needed = working + capture_seconds(OPS) * scale
    minute = 60 * scale
    return lived / minute, needed / minute, lived / needed


def row(label: str, value: str, target: str = "") -> None:
    print(f"  {label:<58} {value:>16}   {target}")


def parse_args() -> argparse.Namespace:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--minute", type=float, default=1.0, help="seconds one simulated minute takes")
    parser.add_argument("--concurrent", type=int, default=100)
    parser.add_argument(
        "--concurrent-minute",
        type=float,
        default=3.0,
        help="figure 2's clock: seconds one simulated minute takes (slow enough to be latency-bound)",
    )
    parser.add_argument("--skip-serial", action="store_true")
    parser.add_argument(
        "--repeat", type=int, default=5, help="figure 1: parallel builds one after another (median printed)"
    )
    parser.add_argument(
        "--timing",
        type=json.loads,
        default={},
        help="diagnostic: TimingPolicy fields (JSON) overriding those of the local profile",
    )
    parser.add_argument("--state-dir", type=Path, default=None, help="keep the stack's state and logs here")
    return parser.parse_args()


def run(args: argparse.Namespace, scale: float, bound: float) -> dict[str, Any]:
    """Start the stack, run the builds, collect what the figures need, stop the stack."""
    if args.state_dir is not None:
        return _run_in(args.state_dir, args, scale, bound)
    with tempfile.TemporaryDirectory(prefix="kiln-bench-build-", ignore_cleanup_errors=True) as folder:
        return _run_in(Path(folder), args, scale, bound)


def _run_in(folder: Path, args: argparse.Namespace, scale: float, bound: float) -> dict[str, Any]:
    """Figure 1 on one stack at ``--minute``; figure 2 on a second stack at ``--concurrent-minute``, a clock
    slow enough that 100 builds are waiting on Azure's latencies rather than on this machine's two cores."""
    with BenchStack(folder / "critical-path", latency_scale=scale, timing=args.timing) as stack:
        stack.configure(OPS, CUSTOMIZER_UNITS, DEPROVISION_UNITS)
        sub = stack.connection().subscription
        first = ["bench-one"] if args.skip_serial else ["bench-one", "bench-serial"]
        again = [f"bench-again{i}" for i in range(1, max(1, args.repeat))]
        stack.create_templates({n: template(i, sub) for i, n in enumerate(first + again)})
        print(f"  stack up for figure 1; latency scale {scale:.5f}", flush=True)
        # Generous: a run that stops making progress should end the benchmark, not hang it.
        patience = 60 + 20 * bound * scale
        # The serial baseline runs beside the parallel build: both wait on latencies, not on the CPU.
        alone = measure_builds(stack, first, timeout=patience, serial=frozenset({"bench-serial"}))
        for name, result in zip(first, alone, strict=True):
            report_phases(stack, name, result["run_id"], args.minute)
        one = alone[0]
        one_events = stack.history_events(one["run_id"])
        breakdown = stack.history_breakdown(one["run_id"])
        one_replay = stack.replay_cpu_ms([one["run_id"]])[0]
        vm_minutes = vm_minutes_ratio(stack, first[0], one["run_id"], scale)
        # The same build again, one after another: the machine is noisy, the median ratio is the figure.
        repeats = [one, *(measure_builds(stack, [name], timeout=patience)[0] for name in again)]
    slow = args.concurrent_minute / 60.0
    with BenchStack(folder / "concurrency", latency_scale=slow, timing=args.timing) as stack:
        stack.configure(OPS, CUSTOMIZER_UNITS, DEPROVISION_UNITS)
        sub = stack.connection().subscription
        names = ["bench-single"] + [f"bench-c{i:03d}" for i in range(args.concurrent)]
        stack.create_templates({n: template(i, sub) for i, n in enumerate(names)})
        print(f"  stack up for figure 2, {len(names)} templates; latency scale {slow:.5f}", flush=True)
        patience = 120 + 20 * bound * slow
        single = measure_builds(stack, names[:1], timeout=patience)[0]
        many = measure_builds(stack, names[1:], timeout=patience)
        return {
            "vm_minutes": vm_minutes,
            "one": one,
            "repeats": repeats,
            "breakdown": breakdown,
            "serial": alone[1] if len(alone) > 1 else None,
            "single": single,
            "many": many,
            "events": [one_events, *(stack.history_events(r["run_id"]) for r in many)],
            "replay": [one_replay, *stack.replay_cpu_ms([r["run_id"] for r in many])],
            "peak": stack.devhost_peak_rss_mib(),
        }


def print_figures(got: dict[str, Any], *, minute: float, bound_s: float) -> None:
    one, serial, many = got["one"], got["serial"], got["many"]
    events, replay, count = got["events"], got["replay"], len(many)
    print(f"\nfigures (1 simulated minute = {minute} s; lower bound {bound_s:.1f} s)")
    ratios = [r["makespan"] / bound_s for r in got["repeats"]]
    ratio = f"{statistics.median(ratios):.3f}"
    row(f"1. makespan / lower bound, parallel (median of {len(ratios)})", ratio, "target ≤ 1.03")
    row("   each run", " ".join(f"{r:.3f}" for r in ratios))
    row("   makespan, parallel, first run (s)", f"{one['makespan']:.2f}")
    if serial is not None:
        row("   makespan / lower bound, serial baseline", f"{serial['makespan'] / bound_s:.3f}", "(baseline)")
        row("   makespan, serial (s)", f"{serial['makespan']:.2f}")
    spans = [r["makespan"] for r in many]
    overall = max(r["end"] for r in many) - min(r["start"] for r in many)
    single = got["single"]["makespan"]
    ratio2 = f"{overall / single:.3f}"
    row(f"2. makespan of {count} concurrent builds / one build", ratio2, "≤ 1.5")
    row(f"   one build alone at 1 simulated minute = {got['concurrent_minute']} s (s)", f"{single:.1f}")
    row(f"   {count} builds: all done after (s)", f"{overall:.1f}")
    row("   per-build makespan p50 / max (s)", f"{statistics.median(spans):.1f} / {max(spans):.1f}")
    lived, needed, ratio = got["vm_minutes"]
    row("   build VM-minutes / (customize + generalize + capture)", f"{ratio:.3f}", "target ≤ 1.05")
    print(f"     the VM ran {lived:.1f} simulated minutes for {needed:.1f} of work and capture")
    row("3. history events per build (one build)", f"{events[0]}", "target ≤ 300")
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(got["breakdown"].items()))
    print(f"     by type: {kinds}")
    row(f"   history events per build ({count} concurrent, median)", f"{statistics.median(events[1:]):.0f}")
    row("4. orchestrator replay CPU per build, one build (ms)", f"{replay[0]:.0f}", "target ≤ 100")
    row(f"   replay CPU per build, {count} concurrent (median ms)", f"{statistics.median(replay[1:]):.0f}")
    row("   devhost peak RSS (MiB)", f"{got['peak']:.1f}")
    cells = ", ".join(f"{name} {seconds:.2f}" for name, seconds in many[0]["cpu"].items())
    print(f"  CPU seconds per build ({count} concurrent): {cells}")


def main() -> None:
    args = parse_args()
    args.concurrent = max(1, args.concurrent)
    scale = args.minute / 60.0
    bound, phases = lower_bound_seconds(OPS)
    print(f"build benchmark — {datetime.now():%Y-%m-%d %H:%M}, 1 simulated minute = {args.minute} s")
    if args.timing:
        print(f"  timing policy: the local profile with {args.timing}")
    cells = ", ".join(f"{k} {v / 60:.1f}" for k, v in phases.items())
    print(f"  lower bound (simulated minutes): {cells} = {bound / 60:.1f}")
    got = run(args, scale, bound)
    got["concurrent_minute"] = args.concurrent_minute
    print_figures(got, minute=args.minute, bound_s=bound * scale)


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # unwinds the stack's ``with``: its three processes are stopped


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _stop)
    try:
        main()
    except requests.RequestException as exc:
        sys.exit(f"error: {exc}")
    except KeyboardInterrupt:
        sys.exit("interrupted: the local stack was stopped")
