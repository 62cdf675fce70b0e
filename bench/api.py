"""Benchmark of kiln's REST API on devhost + Azurite: GET and PUT throughput and latency, and cold start.

Run: ``python -m bench.api [--requests 300] [--concurrency 8]``. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.api import bodies  # noqa: E402
from tests.support.azurite import start_azurite  # noqa: E402
from tests.support.devhost import start_devhost  # noqa: E402

IMPORT_SNIPPET = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def import_time(module: str, runs: int = 5) -> float:
    """Median seconds to import ``module`` in a fresh interpreter (what a cold worker pays)."""
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", IMPORT_SNIPPET.format(module=module)],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
        times.append(float(out.stdout.strip()))
    return statistics.median(times)


def measure(name: str, call: Callable[[int], int], total: int, concurrency: int) -> None:
    """Run ``call(i)`` ``total`` times on ``concurrency`` threads; print rate and latency percentiles."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    def one(i: int) -> None:
        start = time.perf_counter()
        status = call(i)
        latencies.append(time.perf_counter() - start)
        statuses[status] = statuses.get(status, 0) + 1

    began = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(total)))
    elapsed = time.perf_counter() - began
    cuts = statistics.quantiles(latencies, n=100)
    print(
        f"{name:<28} {total / elapsed:8.1f} req/s   p50 {cuts[49] * 1000:7.1f} ms   "
        f"p99 {cuts[98] * 1000:7.1f} ms   statuses {statuses}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    bare = import_time("azure.functions")
    app = import_time("function_app")
    print(f"cold start: import azure.functions {bare * 1000:.0f} ms; import function_app {app * 1000:.0f} ms")

    azurite = start_azurite()
    env = {"KILN_STORAGE_CONNECTION_STRING": azurite.connection_string, "KILN_STORE_CONTAINER": "bench"}
    host = start_devhost(REPO, env=env)
    try:
        session = requests.Session()
        session.headers["x-functions-key"] = host.function_key
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=args.concurrency)
        session.mount("http://", adapter)
        sub = str(uuid.uuid4())
        base = host.base_url
        body = json.dumps(bodies.ubuntu())
        headers = {"Content-Type": "application/json"}
        params = {"api-version": "2025-10-01"}

        def put(i: int) -> int:
            url = base + bodies.template_path(f"bench-{i}", sub=sub)
            return session.put(url, data=body, headers=headers, params=params).status_code

        def get(i: int) -> int:
            url = base + bodies.template_path(f"bench-{i % 50}", sub=sub)
            return session.get(url, params=params).status_code

        def get_old_version(i: int) -> int:
            url = base + bodies.template_path(f"bench-{i % 50}", sub=sub)
            return session.get(url, params={"api-version": "2022-07-01"}).status_code

        began = time.perf_counter()
        first = put(-1)
        first_ms = (time.perf_counter() - began) * 1000
        print(f"first PUT after start (loads the contract models): {first_ms:.0f} ms ({first})")
        print(f"devhost (HTTP) + Azurite, {args.requests} requests per line, {args.concurrency} threads")
        measure("PUT create", put, args.requests, args.concurrency)
        measure("GET (2025-10-01)", get, args.requests, args.concurrency)
        measure("GET (2022-07-01 reshaped)", get_old_version, args.requests, args.concurrency)
        measure("PUT identical (200)", lambda i: put(i % 50), args.requests, args.concurrency)
        measure("GET, one thread", get, args.requests // 3, 1)
    finally:
        host.stop()
        azurite.stop()


if __name__ == "__main__":
    main()
