"""Patch cycle benchmark (issue 13): prints figures (not a test).

    python -m bench.cycle [--templates 200] [--cap 20] [--minute 3.0] [--state-dir DIR]

Runs kiln on the local stack (Azurite + azuresim + devhost serving function_app) with azuresim's latency
model set to Azure-like durations (``bench/build_plan.OPS``: VM deploy 3 min, a customizer 2 min, generalize
3 min, managed image capture 3 min, …), one simulated minute taking ``--minute`` seconds (the clock the build
benchmark uses), the timing policy and the cycle's polls and start spacing on the same clock. It builds one
template alone for the reference makespan, then puts a Schedule trigger with one cycle name on ``--templates``
templates, lets the cycle timer start the cycle when it comes due, and prints:

1. the cycle's makespan (its document's start to end) over ``templates / cap`` × one build's makespan
   (target ≤ 1.15): what the sliding window, the shared build slots and the polls cost over perfect waves;
   beside it, how much longer a build took inside the cycle than alone (the machine's share), and the
   makespan over perfect packing of the builds as long as they really took (the cycle's own share);
2. the peak of builds in flight, measured from the run documents' start and end times (never above the cap);
3. the history events of the cycle orchestration: the current execution's, and how many generations it
   continued as new (the bound is per generation);
4. devhost's CPU seconds per build over the cycle (and Azurite's and azuresim's).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.build_plan import CUSTOMIZER_UNITS, DEPROVISION_UNITS, OPS  # noqa: E402
from bench.build_stack import BenchStack  # noqa: E402

CYCLE = "bench-cycle"


class CycleBenchStack(BenchStack):
    """The benchmark's stack with the cycle settings on the simulated clock."""

    def __init__(self, state_dir: Path, *, latency_scale: float, cap: int) -> None:
        super().__init__(state_dir, latency_scale=latency_scale)
        self.cap = cap

    def kiln_settings(self) -> dict[str, str]:
        return {
            **super().kiln_settings(),
            "KILN_CYCLE_TICK_SCHEDULE": "*/2 * * * * *",
            "KILN_CYCLE_MAX_BUILDS": str(self.cap),
            "KILN_CYCLE_POLL_SECONDS": "30",  # × the latency scale, as every other wait of the local profile
            "KILN_CYCLE_START_SPACING_SECONDS": "5",
            "KILN_CYCLE_COMPLETIONS_PER_GENERATION": "50",
        }


def template(index: int, sub: str) -> dict[str, Any]:
    """The example Ubuntu template (seeded identity and source), one customizer, one managed image: a patch
    rebuild of a baseline."""
    body: dict[str, Any] = json.loads((REPO / "examples" / "ubuntu-2404-gallery-3-regions.json").read_text())
    props = body["properties"]
    props["buildTimeoutInMinutes"] = 600
    props["customize"] = [{"type": "Shell", "name": "bench-customizer-0", "inline": ["apt-get upgrade -y"]}]
    props["distribute"] = [
        {
            "type": "ManagedImage",
            "runOutputName": "managed",
            "location": "eastus",
            "imageId": f"/subscriptions/{sub}/resourceGroups/rg-images/providers/Microsoft.Compute/images/"
            f"cycle-{index}",
        }
    ]
    return body


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def peak_in_flight(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    peak = current = 0
    for _, step in events:
        current += step
        peak = max(peak, current)
    return peak


def one_build(stack: CycleBenchStack, name: str, timeout: float) -> float:
    """The makespan of one build alone, from its run document (reserved → finished)."""
    run_id = stack.start_run(name)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        props = stack.client.get_run(name, run_id)["properties"]
        if props.get("endTime"):
            if props["runState"] != "Succeeded":
                raise RuntimeError(
                    f"the reference build {run_id} ended {props['runState']}: {props['message']}"
                )
            return _ts(props["endTime"]) - _ts(props["startTime"])
        time.sleep(0.5)
    raise TimeoutError("the reference build did not finish")


def run_cycle(stack: CycleBenchStack, names: list[str], timeout: float) -> dict[str, Any]:
    sub = stack.connection().subscription
    due = (datetime.now(UTC) + timedelta(seconds=20 + 0.2 * len(names))).replace(microsecond=0)
    schedule = f"{due.second} {due.minute} {due.hour} * * *"

    def trigger(name: str) -> None:
        props = {"kind": "Schedule", "schedule": schedule, "timeZone": "UTC", "cycleName": CYCLE}
        stack.client.request(
            "PUT", stack.client.template_path(name) + "/triggers/patch", json={"properties": props}
        )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(trigger, names))
    if datetime.now(UTC) >= due:
        raise RuntimeError("the triggers took longer to create than the benchmark allowed")
    cycle_id = f"{CYCLE}-{due.strftime('%Y%m%dT%H%M%SZ')}"
    path = f"/subscriptions/{sub}/providers/Microsoft.VirtualMachineImages/patchCycles/{cycle_id}"
    while datetime.now(UTC) < due:
        time.sleep(0.5)
    before = stack.cpu_seconds()
    deadline = time.monotonic() + timeout
    cycle: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            cycle = stack.client.json("GET", path)
        except Exception:  # not created yet
            time.sleep(1)
            continue
        if cycle["properties"]["state"] in ("Succeeded", "PartiallySucceeded", "Failed"):
            break
        time.sleep(1)
    else:
        raise TimeoutError(f"the cycle did not end: {cycle.get('properties', {}).get('counts')}")
    after = stack.cpu_seconds()
    instance = f"patch-cycle-{sub}-{cycle_id}".lower()
    status = stack.status(instance, showHistory="true", showInput="true")
    runs = [stack.client.list_runs(n)[0]["properties"] for n in names]
    return {
        "cycle": cycle["properties"],
        "events": len(status.get("historyEvents") or []),
        "generation": _generation(status.get("input")),
        "intervals": [(_ts(r["startTime"]), _ts(r["endTime"])) for r in runs if r.get("endTime")],
        "states": [r["runState"] for r in runs],
        "cpu": {k: (after[k] - before[k]) / len(names) for k in after},
    }


def _generation(raw: Any) -> int:
    """How many times the cycle continued as new: its current input's ``generation``."""
    value = json.loads(raw) if isinstance(raw, str) else raw
    if isinstance(value, str):  # the input as the client sent it: a JSON string of the JSON
        value = json.loads(value)
    return int(value.get("generation", 0)) if isinstance(value, dict) else 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--templates", type=int, default=200)
    parser.add_argument("--cap", type=int, default=20)
    parser.add_argument("--minute", type=float, default=3.0, help="seconds one simulated minute takes")
    parser.add_argument("--state-dir", type=Path, default=None, help="keep the stack's state and logs here")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.state_dir is not None:
        _main(args, args.state_dir)
        return
    with tempfile.TemporaryDirectory(prefix="kiln-bench-cycle-", ignore_cleanup_errors=True) as folder:
        _main(args, Path(folder))


def _main(args: argparse.Namespace, folder: Path) -> None:
    scale = args.minute / 60.0
    with CycleBenchStack(folder / "cycle", latency_scale=scale, cap=args.cap) as stack:
        stack.configure(OPS, CUSTOMIZER_UNITS, DEPROVISION_UNITS)
        sub = stack.connection().subscription
        names = [f"cycle-{i:03d}" for i in range(args.templates)]
        stack.create_templates({n: template(i, sub) for i, n in enumerate(["cycle-alone", *names])})
        print(f"  stack up, {args.templates} templates; latency scale {scale:.5f}", flush=True)
        alone = one_build(stack, "cycle-alone", timeout=600)
        waves = args.templates / args.cap
        got = run_cycle(stack, names, timeout=120 + 3 * waves * alone)
    cycle = got["cycle"]
    makespan = _ts(cycle["endTime"]) - _ts(cycle["startTime"])
    ratio = makespan / (waves * alone)
    spans = [end - start for start, end in got["intervals"]]
    inside = statistics.mean(spans)
    # The cycle's own cost: its makespan over perfect packing of the builds as long as they really took.
    packing = makespan / (sum(spans) / args.cap)
    print(
        f"patch cycle of {args.templates} templates, cap {args.cap}, one simulated minute = {args.minute} s"
    )
    rows = [
        ("one build alone (run document)", f"{alone:.1f} s", ""),
        (f"cycle makespan / ({waves:g} × one build)", f"{ratio:.3f} ({makespan:.1f} s)", "target ≤ 1.15"),
        ("mean build in the cycle / one build alone", f"{inside / alone:.3f} ({inside:.1f} s)", ""),
        ("cycle makespan / (Σ builds' makespans / cap)", f"{packing:.3f}", ""),
        ("peak builds in flight (run documents)", str(peak_in_flight(got["intervals"])), f"≤ {args.cap}"),
        ("builds Succeeded", f"{got['states'].count('Succeeded')} / {len(got['states'])}", ""),
        ("cycle history events (current execution)", str(got["events"]), ""),
        ("cycle generations (continue_as_new)", str(got["generation"]), ""),
        ("devhost CPU per build", f"{got['cpu'].get('devhost', 0):.2f} s", ""),
        (
            "azurite / azuresim CPU per build",
            f"{got['cpu'].get('azurite', 0):.2f} / {got['cpu'].get('azuresim', 0):.2f} s",
            "",
        ),
    ]
    for label, value, target in rows:
        print(f"  {label:<46} {value:>22}   {target}")
    print(f"  cycle: {cycle['state']}, counts {cycle['counts']}; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
