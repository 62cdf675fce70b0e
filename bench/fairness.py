"""Benchmark of fair service: the latency of other API calls while N ``…/log?follow=true`` polls wait.

Run: ``python -m bench.fairness [--followers 32] [--calls 60]``. Prints figures; asserts nothing. The app is
the runs test app (kiln's API and activities, a stand-in build that takes 90 s), on devhost + Azurite +
azuresim; every poll waits up to 30 s for bytes that never come.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.api import bodies  # noqa: E402
from tests.support.azuresim import start_azuresim  # noqa: E402
from tests.support.azurite import start_azurite  # noqa: E402
from tests.support.devhost import start_devhost  # noqa: E402

APP = REPO / "tests" / "api" / "apps" / "runs"
SUB = "00000000-0000-0000-0000-000000000000"
RG = "rg-images"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--followers", type=int, default=32)
    parser.add_argument("--calls", type=int, default=60)
    args = parser.parse_args()
    azurite = start_azurite()
    try:
        with start_azuresim(storage_connection_string=azurite.connection_string) as sim:
            env = {
                "KILN_STORAGE_CONNECTION_STRING": azurite.connection_string,
                "KILN_STORE_CONTAINER": "fairness",
                "KILN_AZURE_MODE": "sim",
                "KILN_SIM_BASE_URL": sim.base_url,
                "KILN_SIM_CA_FILE": sim.ca_file,
                "KILN_TIMING_PROFILE": "local",
                "KILN_LOG_FOLLOW_SECONDS": "30",
            }
            host = start_devhost(APP, env=env, https=True)
            try:
                measure(host, args.followers, args.calls)
            finally:
                host.stop()
    finally:
        azurite.stop()


def measure(host: object, followers: int, calls: int) -> None:
    base, key, ca = host.base_url, host.function_key, host.ca_file  # type: ignore[attr-defined]

    def call(method: str, path: str, **kwargs: object) -> requests.Response:
        params = {"api-version": "2025-10-01", **kwargs.pop("params", {})}  # type: ignore[dict-item]
        headers = {"x-functions-key": key}
        return requests.request(
            method, base + path, params=params, headers=headers, verify=ca, timeout=120, **kwargs
        )  # type: ignore[arg-type]

    path = bodies.template_path("fair", rg=RG, sub=SUB)
    body = bodies.ubuntu()
    body["tags"] = {"stubSeconds": "90"}
    call("PUT", path, json=body)
    run_id = call("POST", path + "/run").headers["x-kiln-run-id"]
    log = f"{path}/runs/{run_id}/log"

    def latencies() -> list[float]:
        out = []
        for i in range(calls):
            target = (path + "/runs", f"{path}/runs/{run_id}", path)[i % 3]
            began = time.perf_counter()
            call("GET", target)
            out.append(time.perf_counter() - began)
        return out

    quiet = latencies()
    with ThreadPoolExecutor(max_workers=followers) as pool:
        polls = [pool.submit(call, "GET", log, params={"follow": "true"}) for _ in range(followers)]
        time.sleep(3)
        loaded = latencies()
        still = sum(not p.done() for p in polls)
        call("POST", path + "/cancel")
        for p in polls:
            p.result()
    for name, figures in (("no poll waiting", quiet), (f"{followers} polls waiting", loaded)):
        cuts = statistics.quantiles(figures, n=100)
        print(
            f"{name:<20} GET runs / run / template: p50 {cuts[49] * 1000:7.1f} ms   "
            f"p99 {cuts[98] * 1000:7.1f} ms   max {max(figures) * 1000:7.1f} ms"
        )
    print(f"polls still waiting after the loaded calls: {still} of {followers}")


if __name__ == "__main__":
    main()
