"""ARM requests per second azuresim sustains with the latency model off.

Four figures: resource-group GET and PUT through the official SDK (one client, sequential, as kiln's
activities call it) and through raw aiohttp (keep-alive, ``--concurrency`` requests in flight).

    python bench/sim.py [--seconds 5] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import sys
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from azure.mgmt.resource.resources import ResourceManagementClient

from tests.support.azuresim import AzureSim, SimCredential, start_azuresim

SUB = "00000000-0000-0000-0000-00000000bench"
API = "2025-04-01"


def sdk_rate(seconds: float, call: Callable[[int], object]) -> float:
    count, deadline = 0, time.perf_counter() + seconds
    start = time.perf_counter()
    while time.perf_counter() < deadline:
        call(count)
        count += 1
    return count / (time.perf_counter() - start)


async def raw_rate(sim: AzureSim, seconds: float, concurrency: int, method: str) -> float:
    ctx = ssl.create_default_context(cafile=sim.ca_file)
    headers = {"Authorization": "Bearer bench", "Content-Type": "application/json"}
    body = json.dumps({"location": "eastus", "tags": {"bench": "raw"}})
    count = 0
    deadline = time.perf_counter() + seconds

    async def worker(session: aiohttp.ClientSession, n: int) -> None:
        nonlocal count
        i = 0
        while time.perf_counter() < deadline:
            name = "rg-bench-get" if method == "GET" else f"rg-raw-{n}-{i % 50}"
            url = f"{sim.base_url}/subscriptions/{SUB}/resourcegroups/{name}?api-version={API}"
            async with session.request(method, url, data=body if method == "PUT" else None) as resp:
                await resp.read()
                if resp.status >= 300:
                    raise RuntimeError(f"{method} answered {resp.status}")
            count += 1
            i += 1

    connector = aiohttp.TCPConnector(ssl=ctx, limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        start = time.perf_counter()
        await asyncio.gather(*(worker(session, n) for n in range(concurrency)))
        return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    sim = start_azuresim(storage_connection_string=None, latency_scale=0.0)
    try:
        client = ResourceManagementClient(
            SimCredential(), SUB, base_url=sim.base_url, connection_verify=sim.ca_file
        )
        client.resource_groups.create_or_update("rg-bench-get", {"location": "eastus"})
        figures = {
            "sdk GET resource group": sdk_rate(
                args.seconds, lambda i: client.resource_groups.get("rg-bench-get")
            ),
            "sdk PUT resource group": sdk_rate(
                args.seconds,
                lambda i: client.resource_groups.create_or_update(f"rg-sdk-{i % 50}", {"location": "eastus"}),
            ),
            f"raw aiohttp GET resource group (concurrency {args.concurrency})": asyncio.run(
                raw_rate(sim, args.seconds, args.concurrency, "GET")
            ),
            f"raw aiohttp PUT resource group (concurrency {args.concurrency})": asyncio.run(
                raw_rate(sim, args.seconds, args.concurrency, "PUT")
            ),
        }
    finally:
        sim.stop()
    print(f"azuresim ARM throughput, latency model off, {args.seconds:g} s per figure")
    for label, rate in figures.items():
        print(f"  {label:<52} {rate:8.0f} req/s")


if __name__ == "__main__":
    main()
