"""kiln's run resources through the HTTP functions: the run list and document, and the log endpoint with
offsets and follow, read from a real append blob in Azurite (sim mode: staging accounts are Azurite's)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema_rs
import pytest

from functions.openapi import openapi_document
from shared import naming
from shared.bootstrap import Overrides, bootstrap, installed, root
from shared.service.run_log import log_account
from shared.settings import Settings
from shared.store import TemplateRef
from tests.api import bodies
from tests.api.conftest import _direct_api
from tests.api.direct import DirectApi
from tests.fakes import InMemoryDocuments
from tests.support.azurite import Azurite

pytestmark = pytest.mark.timeout(60)
PATH = bodies.template_path("t1")
REF = TemplateRef(bodies.SUB, bodies.RG, "t1")


@pytest.fixture
def sim_api(azurite: Azurite, documents: InMemoryDocuments) -> Iterator[DirectApi]:
    """kiln in sim mode: documents in memory, staging accounts (and so the logs) in Azurite."""
    settings = Settings(
        storage_connection_string=azurite.connection_string,
        azure_mode="sim",
        log_follow_seconds=5,
        api_page_size=2,
    )
    with installed(bootstrap(settings, overrides=Overrides(documents=documents))):
        yield _direct_api()


def _log_blobs(run_id: str) -> Any:
    blobs = root().staging_blobs(log_account(run_id))
    blobs.ensure_container(container=naming.LOG_CONTAINER)
    return blobs


def _append(blobs: Any, run_id: str, text: str) -> None:
    blobs.append(
        container=naming.LOG_CONTAINER, name=naming.customization_log_blob(run_id), data=text.encode()
    )


def _finish(run_id: str) -> None:
    run = {
        "subscription_id": REF.subscription,
        "resource_group": REF.resource_group,
        "template_name": "t1",
        "run_id": run_id,
        "location": "eastus",
    }
    root().service.runs.apply(
        {
            "run": run,
            "time": "2026-01-01T00:00:09Z",
            "run_state": "Succeeded",
            "message": "Run succeeded.",
            "finished": True,
        }
    )


def _log(api: DirectApi, run_id: str, **params: str) -> tuple[int, str, dict[str, str]]:
    reply = api.get(f"{PATH}/runs/{run_id}/log", params=params)
    return reply.status, reply.text, reply.headers


def test_the_log_is_read_from_an_offset_and_followed_until_new_bytes_or_the_end(sim_api: DirectApi) -> None:
    assert sim_api.put(PATH, bodies.ubuntu()).status == 201
    run_id = root().service.runs.begin(REF).run_id
    assert _log(sim_api, run_id)[1:] == ("", {"x-kiln-log-offset": "0", "x-kiln-run-finished": "false"})
    blobs = _log_blobs(run_id)
    blobs.create_append_blob(container=naming.LOG_CONTAINER, name=naming.customization_log_blob(run_id))
    _append(blobs, run_id, "==> customize 0 'apt'\n")
    status, text, headers = _log(sim_api, run_id, offset="0")
    assert (status, text, headers["x-kiln-log-offset"]) == (200, "==> customize 0 'apt'\n", "22")
    assert _log(sim_api, run_id, offset="4")[1] == "customize 0 'apt'\n"
    assert _log(sim_api, run_id, offset="22")[1:] == (
        "",
        {"x-kiln-log-offset": "22", "x-kiln-run-finished": "false"},
    )

    later = threading.Timer(0.6, _append, args=(blobs, run_id, "    Setting up curl\n"))
    later.start()
    began = time.monotonic()
    status, text, headers = _log(sim_api, run_id, offset="22", follow="true")
    later.join()
    assert (status, text, headers["x-kiln-log-offset"]) == (200, "    Setting up curl\n", "42")
    assert time.monotonic() - began >= 0.5  # it waited for the bytes instead of answering empty

    threading.Timer(0.4, _finish, args=(run_id,)).start()
    status, text, headers = _log(sim_api, run_id, offset="42", follow="true")
    assert (status, text, headers["x-kiln-run-finished"]) == (200, "", "true")
    assert _log(sim_api, run_id, offset="0")[2]["x-kiln-run-finished"] == "true"


def test_a_bad_offset_or_an_unknown_run_is_an_arm_error(sim_api: DirectApi) -> None:
    assert sim_api.put(PATH, bodies.ubuntu()).status == 201
    run_id = root().service.runs.begin(REF).run_id
    for bad in ("-1", "abc", "1.5"):
        reply = sim_api.get(f"{PATH}/runs/{run_id}/log", params={"offset": bad})
        assert reply.status == 400
        assert reply.json["error"]["code"] == "InvalidOffset" and reply.json["error"]["target"] == "offset"
    missing = sim_api.get(f"{PATH}/runs/{run_id.replace('-run-00001', '-run-00099')}/log")
    assert missing.status == 404 and missing.json["error"]["code"] == "ResourceNotFound"
    assert sim_api.get(bodies.template_path("nope") + f"/runs/{run_id}").status == 404


def test_runs_are_listed_newest_first_in_pages_and_match_the_documented_schema(sim_api: DirectApi) -> None:
    assert sim_api.put(PATH, bodies.ubuntu()).status == 201
    ids = []
    for _ in range(3):
        ids.append(root().service.runs.begin(REF).run_id)
        _finish(ids[-1])
    first = sim_api.get(f"{PATH}/runs")
    assert [r["name"] for r in first.json["value"]] == [ids[2], ids[1]]
    token = parse_qs(urlsplit(first.json["nextLink"]).query)["$skipToken"][0]
    second = sim_api.get(f"{PATH}/runs", params={"$skipToken": token})
    assert [r["name"] for r in second.json["value"]] == [ids[0]] and "nextLink" not in second.json
    run = sim_api.get(f"{PATH}/runs/{ids[0]}").json
    assert run["properties"]["runState"] == "Succeeded" and run["properties"]["trigger"] == "Manual"
    components = openapi_document()["components"]
    for name, body in (("Run", run), ("RunList", first.json)):
        schema = {"$ref": f"#/components/schemas/{name}", "components": components}
        jsonschema_rs.Draft202012Validator(schema).validate(body)
    template = sim_api.get(PATH).json["properties"]
    assert template["lastRunStatus"]["runState"] == "Succeeded"
