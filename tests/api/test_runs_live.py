"""Run, cancel and delete through the official ImageBuilderClient against devhost (real Durable client and
engine, real activities, a stand-in build orchestrator: tests/api/apps/runs), staging cleanup in azuresim."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.core.exceptions import HttpResponseError

from tests.api import bodies
from tests.api.live import LiveKiln, start_live_kiln
from tests.support.azuresim import AzureSim, SimCredential, start_azuresim
from tests.support.azurite import Azurite

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]
APP = Path(__file__).parent / "apps" / "runs"
SUB = "00000000-0000-0000-0000-000000000000"  # azuresim's subscription
RG = "rg-images"


@pytest.fixture(scope="module")
def sim(azurite: Azurite) -> Iterator[AzureSim]:
    """A simulator of this module's own: its tests publish images and change what others would see."""
    with start_azuresim(storage_connection_string=azurite.connection_string) as sim:
        yield sim


@pytest.fixture(scope="module")
def kiln(azurite: Azurite, sim: AzureSim) -> Iterator[LiveKiln]:
    yield from start_live_kiln(azurite, page_size=100, app_dir=APP, sim=sim)


def _template(name: str, **tags: str) -> dict[str, Any]:
    body = bodies.ubuntu()
    body["tags"] = dict(tags)
    return body


def _create(kiln: LiveKiln, name: str, **tags: str) -> Any:
    client = kiln.client(SUB)
    client.virtual_machine_image_templates.begin_create_or_update(RG, name, _template(name, **tags)).result()
    return client


def _raw(kiln: LiveKiln, method: str, path: str) -> requests.Response:
    return requests.request(
        method,
        kiln.devhost.base_url + path,
        params={"api-version": "2025-10-01"},
        headers={"x-functions-key": kiln.devhost.function_key},
        verify=kiln.devhost.ca_file,
        timeout=30,
    )


def _wait_for(check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_a_run_succeeds_through_the_sdk_and_leaves_last_run_status_outputs_and_a_run_document(
    kiln: LiveKiln,
) -> None:
    client = _create(kiln, "ok1")
    client.virtual_machine_image_templates.begin_run(RG, "ok1").result()
    template = client.virtual_machine_image_templates.get(RG, "ok1")
    assert template.last_run_status.run_state == "Succeeded"
    assert template.last_run_status.end_time is not None
    outputs = list(client.virtual_machine_image_templates.list_run_outputs(RG, "ok1"))
    name = bodies.ubuntu()["properties"]["distribute"][0]["runOutputName"]
    assert [(o.name, o.artifact_id) for o in outputs] == [(name, f"/stub/{name}")]
    runs = _raw(kiln, "GET", bodies.template_path("ok1", rg=RG, sub=SUB) + "/runs").json()["value"]
    assert len(runs) == 1 and runs[0]["properties"]["runState"] == "Succeeded"
    assert [p["phase"] for p in runs[0]["properties"]["phases"]] == ["resolve", "distribute"]


def test_a_failed_run_fails_the_run_operation_with_the_runs_message(kiln: LiveKiln) -> None:
    client = _create(kiln, "bad1", stubOutcome="fail")
    with pytest.raises(HttpResponseError) as caught:
        client.virtual_machine_image_templates.begin_run(RG, "bad1").result()
    assert "exit code 1" in str(caught.value)
    assert client.virtual_machine_image_templates.get(RG, "bad1").last_run_status.run_state == "Failed"


def test_a_second_run_is_409_naming_the_first_and_cancel_ends_it_canceled(kiln: LiveKiln) -> None:
    client = _create(kiln, "long1", stubSeconds="60")
    poller = client.virtual_machine_image_templates.begin_run(RG, "long1")
    path = bodies.template_path("long1", rg=RG, sub=SUB)
    second = _raw(kiln, "POST", path + "/run")
    assert second.status_code == 409
    error = second.json()["error"]
    assert error["code"] == "RunInFlight" and "-run-00001-" in error["message"]
    client.virtual_machine_image_templates.begin_cancel(RG, "long1").result()
    status = client.virtual_machine_image_templates.get(RG, "long1").last_run_status
    assert status.run_state == "Canceled"
    with pytest.raises(HttpResponseError):
        poller.result()
    nothing = _raw(kiln, "POST", path + "/cancel")
    assert nothing.status_code == 409 and nothing.json()["error"]["code"] == "NoRunInFlight"
    # The template is free again: a new run gets the next number.
    again = _raw(kiln, "POST", path + "/run")
    assert again.status_code == 202 and "Azure-AsyncOperation" in again.headers
    assert "-run-00002-" in again.headers["x-kiln-run-id"]


def test_delete_with_a_run_in_flight_cancels_it_then_removes_the_staging_group(
    kiln: LiveKiln, sim: AzureSim
) -> None:
    from azure.mgmt.resource.resources import ResourceManagementClient

    arm = ResourceManagementClient(
        SimCredential(),
        SUB,
        base_url=sim.base_url,
        connection_verify=sim.ca_file,
        credential_scopes=["https://management.azure.com/.default"],
    )
    group = "IT_rg-images_del1_live"
    tags = {"createdBy": "kiln", "imageTemplateName": "del1", "imageTemplateResourceGroupName": RG}
    arm.resource_groups.create_or_update(group, {"location": "eastus", "tags": tags})
    client = _create(kiln, "del1", stubSeconds="60", stubStaging=group)
    client.virtual_machine_image_templates.begin_run(RG, "del1")
    path = bodies.template_path("del1", rg=RG, sub=SUB)
    _wait_for(
        lambda: _raw(kiln, "GET", path).json()["properties"]["exactStagingResourceGroup"].endswith(group)
    )
    client.virtual_machine_image_templates.begin_delete(RG, "del1").result()
    assert _raw(kiln, "GET", path).status_code == 404
    assert not arm.resource_groups.check_existence(group)


def test_a_reserved_run_whose_orchestration_never_started_does_not_block_the_template(
    kiln: LiveKiln, azurite: Azurite
) -> None:
    from shared.bootstrap import bootstrap
    from shared.settings import Settings
    from shared.store import TemplateRef, keys

    client = _create(kiln, "stale1")
    settings = Settings(storage_connection_string=azurite.connection_string, store_container=kiln.container)
    kiln_here = bootstrap(settings)
    store = kiln_here.store
    ref = TemplateRef(SUB, RG, "stale1")
    stale = kiln_here.service.runs.begin(ref).run_id  # the process died before start_new

    def long_ago(body: dict[str, Any]) -> dict[str, Any]:
        body["properties"]["startTime"] = "2020-01-01T00:00:00Z"
        return body

    store.update(keys.child(keys.RUNS, ref, stale), long_ago)
    client.virtual_machine_image_templates.begin_run(RG, "stale1").result()
    runs = _raw(kiln, "GET", bodies.template_path("stale1", rg=RG, sub=SUB) + "/runs").json()["value"]
    assert [(r["name"].split("-run-")[1][:5], r["properties"]["runState"]) for r in runs] == [
        ("00002", "Succeeded"),
        ("00001", "Failed"),
    ]
    assert "without reporting its outcome" in runs[1]["properties"]["message"]


def test_durable_refusing_a_running_instance_id_is_the_same_409(kiln: LiveKiln, azurite: Azurite) -> None:
    from shared.store import TemplateRef, keys
    from tests.api.live import azurite_store

    client = _create(kiln, "dup1", stubSeconds="60")
    path = bodies.template_path("dup1", rg=RG, sub=SUB)
    first = _raw(kiln, "POST", path + "/run")
    assert first.status_code == 202
    store = azurite_store(azurite, kiln.container)

    def forget(body: dict[str, Any]) -> dict[str, Any]:
        # As if the template had been deleted and created again while its old run still compensates.
        body["kiln"].update(activeRun=None, runCounter=0)
        return body

    store.update(keys.template(TemplateRef(SUB, RG, "dup1")), forget)
    second = _raw(kiln, "POST", path + "/run")
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "RunInFlight"
    assert first.headers["x-kiln-run-id"] in second.json()["error"]["message"]
    assert client.virtual_machine_image_templates.get(RG, "dup1").last_run_status.run_state == "Failed"
