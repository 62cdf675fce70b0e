"""``properties.autoRun``: a template created with ``state: Enabled`` starts its first run (trigger
``AutoRun``); a run that cannot start is recorded on the template and never fails the PUT.

In-process over Azurite: the PUT through the app's HTTP function (whose Durable client reaches no host, so
every start fails) and ``start_auto_run`` with the stateful ``FakeDurable``. The SDK's PUT under devhost
starting a real run is in ``test_self_starting_live.py``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from shared.bootstrap import root
from shared.service.autorun import start_auto_run, wants_auto_run
from shared.store import TemplateRef, keys
from tests.api import bodies
from tests.api.direct import DirectApi
from tests.api.fake_durable import FakeDurable

pytestmark = pytest.mark.timeout(60)


def _body(state: str | None) -> dict[str, Any]:
    body = bodies.ubuntu()
    if state is not None:
        body["properties"]["autoRun"] = {"state": state}
    return body


def _document(ref: TemplateRef) -> dict[str, Any]:
    doc = root().service.store.get(keys.template(ref))
    assert doc is not None
    return doc.body


def test_start_auto_run_starts_exactly_one_run_with_the_auto_run_trigger(api: DirectApi) -> None:
    ref = TemplateRef(bodies.SUB, bodies.RG, "auto-ok")
    service = root().service
    service.templates.put(ref, _body("Enabled"), api_version="2025-10-01", caller=_caller())
    durable = FakeDurable()
    run_id = asyncio.run(start_auto_run(service.store, service.runs, durable, ref))
    assert run_id is not None and durable.started("AutoRun") == [run_id]
    assert durable.instances[run_id]["name"] == "build_image"
    runs = api.get(bodies.template_path("auto-ok") + "/runs").json["value"]
    assert [(r["name"], r["properties"]["trigger"]) for r in runs] == [(run_id, "AutoRun")]
    doc = _document(ref)
    assert doc["kiln"]["autoRun"]["state"] == "Started" and doc["kiln"]["activeRun"] == run_id
    assert doc["readOnly"]["lastRunStatus"]["runState"] == "Running"


def test_a_put_whose_first_run_cannot_start_still_creates_the_template_and_says_why(api: DirectApi) -> None:
    path = bodies.template_path("auto-nohost")
    reply = api.put(path, _body("Enabled"))
    assert reply.status == 201
    assert reply.json["properties"]["provisioningState"] == "Succeeded"
    status = reply.json["properties"]["lastRunStatus"]
    assert status["runState"] == "Failed" and "could not be started" in status["message"]
    runs = api.get(path + "/runs").json["value"]
    assert [(r["properties"]["trigger"], r["properties"]["runState"]) for r in runs] == [
        ("AutoRun", "Failed")
    ]
    # The identical PUT again is a 200 that starts nothing.
    again = api.put(path, _body("Enabled"))
    assert again.status == 200 and len(api.get(path + "/runs").json["value"]) == 1
    assert (
        _document(TemplateRef(bodies.SUB, bodies.RG, "auto-nohost"))["kiln"]["autoRun"]["state"] == "Failed"
    )


def test_a_template_that_cannot_run_records_the_reason_in_last_run_status(api: DirectApi) -> None:
    ref = TemplateRef(bodies.SUB, bodies.RG, "auto-busy")
    service = root().service
    service.templates.put(ref, _body("Enabled"), api_version="2025-10-01", caller=_caller())
    durable = FakeDurable()
    first = service.runs.begin(ref)  # a run reserved moments ago: the auto run must not start a second
    durable.instances[first.run_id] = {"name": "build_image", "input": first.input, "status": "Running"}
    assert asyncio.run(start_auto_run(service.store, service.runs, durable, ref)) is None
    doc = _document(ref)
    assert doc["kiln"]["autoRun"]["state"] == "Failed" and first.run_id in doc["kiln"]["autoRun"]["message"]
    assert doc["readOnly"]["lastRunStatus"]["message"].startswith("autoRun could not start")
    assert list(durable.instances) == [first.run_id]


@pytest.mark.parametrize("state", ["Disabled", None])
def test_a_template_without_auto_run_enabled_starts_no_run(api: DirectApi, state: str | None) -> None:
    path = bodies.template_path(f"auto-{state}")
    reply = api.put(path, _body(state))
    assert reply.status == 201 and not wants_auto_run(reply.json)
    assert "lastRunStatus" not in reply.json["properties"]
    assert api.get(path + "/runs").json["value"] == []


def _caller() -> Any:
    from shared.service import Caller

    return Caller(principal="tester")
