"""500 orchestrations, each fanning out to 20 activities, all through devhost's HTTP API."""

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.devhost.server.conftest import TESTAPP
from tests.support.devhost import start_devhost

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

INSTANCES, FAN_OUT = 500, 20


def test_five_hundred_fan_outs_of_twenty_all_complete_correctly(tmp_path: Path) -> None:
    with start_devhost(
        TESTAPP, state_dir=tmp_path / "state", activity_workers=8, orchestration_workers=4
    ) as server:
        rpc = f"{server.rpc_url}/durabletask"
        session = requests.Session()

        def start(i: int) -> int:
            url = f"{rpc}/orchestrators/fan_out/load-{i:03d}"
            return session.post(url, json=json.dumps(FAN_OUT), timeout=30).status_code

        with ThreadPoolExecutor(max_workers=16) as pool:
            assert set(pool.map(start, range(INSTANCES))) == {202}

        completed: list[dict[str, Any]] = []
        deadline = time.monotonic() + 500
        while time.monotonic() < deadline:
            completed = _query_all(session, rpc, "Completed")
            if len(completed) == INSTANCES:
                break
            assert not _query_all(session, rpc, "Failed")
            time.sleep(1)
        assert len(completed) == INSTANCES
        expected = {"count": FAN_OUT, "sum": 2 * sum(range(FAN_OUT)), "first": [0, 2, 4]}
        assert {row["instanceId"] for row in completed} == {f"load-{i:03d}" for i in range(INSTANCES)}
        assert all(row["output"] == expected for row in completed)
        activity_runs = [
            r for r in server.log_records() if r.get("kind") == "activity" and r.get("function") == "double"
        ]
        assert len(activity_runs) >= INSTANCES * FAN_OUT


def _query_all(session: requests.Session, rpc: str, runtime_status: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        headers = {"x-ms-continuation-token": token} if token else {}
        response = session.get(
            f"{rpc}/instances/",
            params={"runtimeStatus": runtime_status, "top": "200", "instanceIdPrefix": "load-"},
            headers=headers,
            timeout=30,
        )
        rows += response.json()
        token = response.headers.get("x-ms-continuation-token")
        if not token:
            return rows
