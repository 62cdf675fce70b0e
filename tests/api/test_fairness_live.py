"""Fair service under load (issue 12): 32 ``…/log?follow=true`` long polls open at once do not starve the
other functions. Probed before: sixteen followers held every worker thread and ``GET …/runs`` took 14 s.

The test is not timed: each poll waits up to 30 s, and every other call must come back while all 32 polls
are still waiting, which a starved host cannot do. ``bench/fairness.py`` prints the latencies.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.api import bodies
from tests.api.live import LiveKiln, start_live_kiln
from tests.support.azuresim import AzureSim, start_azuresim
from tests.support.azurite import Azurite

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(180)]
APP = Path(__file__).parent / "apps" / "runs"
SUB = "00000000-0000-0000-0000-000000000000"
RG = "rg-images"
FOLLOWERS = 32


@pytest.fixture(scope="module")
def kiln(azurite: Azurite) -> Iterator[LiveKiln]:
    with start_azuresim(storage_connection_string=azurite.connection_string) as sim:
        yield from _live(azurite, sim)


def _live(azurite: Azurite, sim: AzureSim) -> Iterator[LiveKiln]:
    env = {"KILN_LOG_FOLLOW_SECONDS": "30"}
    yield from start_live_kiln(azurite, page_size=100, app_dir=APP, sim=sim, env=env)


def call(kiln: LiveKiln, method: str, path: str, **kwargs: object) -> requests.Response:
    params = {"api-version": "2025-10-01", **kwargs.pop("params", {})}  # type: ignore[dict-item]
    return requests.request(
        method,
        kiln.devhost.base_url + path,
        params=params,
        headers={"x-functions-key": kiln.devhost.function_key},
        verify=kiln.devhost.ca_file,
        timeout=120,
        **kwargs,  # type: ignore[arg-type]
    )


def test_other_calls_are_served_while_32_log_polls_wait(kiln: LiveKiln) -> None:
    path = bodies.template_path("waits", rg=RG, sub=SUB)
    body = bodies.ubuntu()
    body["tags"] = {"stubSeconds": "90"}
    assert call(kiln, "PUT", path, json=body).status_code == 201
    started = call(kiln, "POST", path + "/run")
    assert started.status_code == 202
    run_id = started.headers["x-kiln-run-id"]
    log = f"{path}/runs/{run_id}/log"
    first = call(kiln, "GET", log)
    assert first.status_code == 200 and first.headers["x-kiln-run-finished"] == "false"
    with ThreadPoolExecutor(max_workers=FOLLOWERS) as pool:
        polls: list[Future[requests.Response]] = [
            pool.submit(call, kiln, "GET", log, params={"follow": "true"}) for _ in range(FOLLOWERS)
        ]
        time.sleep(3)  # every poll reaches devhost and waits (each waits 30 s)
        try:
            assert not any(p.done() for p in polls)
            others = [
                call(kiln, "GET", path + "/runs"),
                call(kiln, "GET", f"{path}/runs/{run_id}"),
                call(kiln, "GET", path),
                call(kiln, "PUT", bodies.template_path("other", rg=RG, sub=SUB), json=bodies.ubuntu()),
                call(kiln, "GET", bodies.template_path("other", rg=RG, sub=SUB).rsplit("/", 1)[0]),
                call(kiln, "GET", log),  # a look without follow is never held either
            ]
            waiting = [p for p in polls if not p.done()]
        finally:
            call(kiln, "POST", path + "/cancel")  # the run ends; every poll then answers
        answers = [p.result() for p in polls]
    assert [r.status_code for r in others] == [200, 200, 200, 201, 200, 200]
    assert len(waiting) == FOLLOWERS, "the other calls had to wait for the long polls"
    assert {r.status_code for r in answers} == {200}
