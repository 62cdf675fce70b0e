"""Builds that start by themselves, live: devhost (real Durable client and engine, the real Event Grid
webhook and timer) with a stand-in ``build_image`` (tests/api/apps/selfstart), azuresim as Azure.

autoRun through the official SDK's PUT; Event Grid deliveries of both schemas through devhost's webhook;
the source poll (every 2 s here) picking up a version published with azuresim's ``POST
/_sim/marketplace/versions``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.api import bodies
from tests.api.live import LiveKiln, start_live_kiln
from tests.support.azuresim import AzureSim, start_azuresim
from tests.support.azurite import Azurite

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]
APP = Path(__file__).parent / "apps" / "selfstart"
SUB = "00000000-0000-0000-0000-000000000000"  # azuresim's subscription
RG = "rg-images"
GALLERY_RG = "rg-src"


@pytest.fixture(scope="module")
def sim(azurite: Azurite) -> Iterator[AzureSim]:
    """A simulator of this module's own: its tests publish images and change what others would see."""
    with start_azuresim(storage_connection_string=azurite.connection_string) as sim:
        yield sim


def _start(azurite: Azurite, sim: AzureSim, schedule: str) -> Iterator[LiveKiln]:
    env = {"KILN_SOURCE_POLL_SCHEDULE": schedule}
    yield from start_live_kiln(azurite, page_size=100, app_dir=APP, sim=sim, env=env)


@pytest.fixture(scope="module")
def kiln(azurite: Azurite, sim: AzureSim) -> Iterator[LiveKiln]:
    """The app whose source poll runs once a year: whatever starts here, the poll did not start."""
    yield from _start(azurite, sim, "0 0 0 1 1 *")


@pytest.fixture(scope="module")
def polling_kiln(azurite: Azurite, sim: AzureSim) -> Iterator[LiveKiln]:
    """The app with the source poll every 2 seconds."""
    yield from _start(azurite, sim, "*/2 * * * * *")


def _raw(kiln: LiveKiln, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(
        method,
        kiln.devhost.base_url + path,
        params={"api-version": "2025-10-01"},
        headers={"x-functions-key": kiln.devhost.function_key},
        json=body,
        verify=kiln.devhost.ca_file,
        timeout=30,
    )


def _runs(kiln: LiveKiln, name: str) -> list[dict[str, Any]]:
    reply = _raw(kiln, "GET", bodies.template_path(name, rg=RG, sub=SUB) + "/runs")
    assert reply.status_code == 200, reply.text
    return [r["properties"] for r in reply.json()["value"]]


def _wait_for(check: Any, timeout: float = 45.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def _finished(kiln: LiveKiln, name: str, count: int) -> list[dict[str, Any]]:
    runs = _runs(kiln, name)
    done = [r for r in runs if r["runState"] in ("Succeeded", "Failed", "Canceled")]
    return runs if len(runs) >= count and len(done) == len(runs) else []


def test_auto_run_starts_exactly_one_first_run_through_the_sdks_put(kiln: LiveKiln) -> None:
    body = bodies.ubuntu()
    body["properties"]["autoRun"] = {"state": "Enabled"}
    client = kiln.client(SUB)
    created = client.virtual_machine_image_templates.begin_create_or_update(RG, "auto1", body).result()
    assert created.provisioning_state == "Succeeded"
    runs = _wait_for(lambda: _finished(kiln, "auto1", 1))
    assert [(r["trigger"], r["runState"]) for r in runs] == [("AutoRun", "Succeeded")]
    # The same PUT again changes nothing and starts nothing.
    client.virtual_machine_image_templates.begin_create_or_update(RG, "auto1", body).result()
    time.sleep(1.0)
    assert len(_runs(kiln, "auto1")) == 1
    assert client.virtual_machine_image_templates.get(RG, "auto1").last_run_status.run_state == "Succeeded"


def _grid(subject: str) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "topic": f"/subscriptions/{SUB}/resourceGroups/{GALLERY_RG}",
        "subject": subject,
        "eventType": "Microsoft.Resources.ResourceWriteSuccess",
        "eventTime": "2026-11-26T23:00:00.1234567Z",
        "dataVersion": "2",
        "data": {"resourceUri": subject, "status": "Succeeded", "subscriptionId": SUB},
    }


def _deliver(kiln: LiveKiln, body: Any) -> requests.Response:
    return requests.post(
        kiln.devhost.base_url + "/runtime/webhooks/eventgrid",
        params={"functionName": "source_image_events", "code": kiln.devhost.master_key},
        json=body,
        verify=kiln.devhost.ca_file,
        timeout=30,
    )


def test_event_grid_deliveries_of_both_schemas_reach_the_function_and_unrelated_writes_start_nothing(
    kiln: LiveKiln,
) -> None:
    body = bodies.ubuntu()
    body["properties"]["source"] = {
        "type": "SharedImageVersion",
        "imageVersionId": f"/subscriptions/{SUB}/resourceGroups/{GALLERY_RG}/providers/Microsoft.Compute"
        "/galleries/srcgal/images/watched/versions/latest",
    }
    path = bodies.template_path("grid1", rg=RG, sub=SUB)
    assert _raw(kiln, "PUT", path, body).status_code == 201
    assert (
        _raw(kiln, "PUT", path + "/triggers/t1", {"properties": {"kind": "SourceImage"}}).status_code == 201
    )
    other = f"/subscriptions/{SUB}/resourceGroups/{GALLERY_RG}/providers/Microsoft.Compute/galleries/srcgal"
    vm = f"/subscriptions/{SUB}/resourceGroups/{GALLERY_RG}/providers/Microsoft.Compute/virtualMachines/vm1"
    grid = [_grid(other + "/images/unwatched/versions/1.0.0"), _grid(vm)]
    cloud = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": f"/subscriptions/{SUB}",
        "subject": other + "/images/unwatched/versions/1.0.1",
        "type": "Microsoft.Resources.ResourceWriteSuccess",
        "data": {"status": "Succeeded"},
    }
    assert _deliver(kiln, grid).status_code == 202
    assert _deliver(kiln, cloud).status_code == 202
    handshake = _grid("x") | {"eventType": "Microsoft.EventGrid.SubscriptionValidationEvent"}
    handshake["data"] = {"validationCode": "abc"}
    assert _deliver(kiln, [handshake]).json() == {"validationResponse": "abc"}
    records = [r for r in kiln.devhost.log_records() if r.get("function") == "source_image_events"]
    assert len(records) == 3 and {r.get("outcome") for r in records} == {"Succeeded"}
    assert _runs(kiln, "grid1") == []


def test_the_source_poll_builds_again_when_azuresim_publishes_a_new_marketplace_version(
    polling_kiln: LiveKiln, sim: AzureSim
) -> None:
    kiln = polling_kiln
    path = bodies.template_path("poll1", rg=RG, sub=SUB)
    assert _raw(kiln, "PUT", path, bodies.ubuntu()).status_code == 201
    assert (
        _raw(kiln, "PUT", path + "/triggers/t1", {"properties": {"kind": "SourceImage"}}).status_code == 201
    )
    # Never built: the first poll builds from the newest version; the next polls leave it alone.
    first = _wait_for(lambda: _finished(kiln, "poll1", 1))
    time.sleep(3.0)
    assert len(_runs(kiln, "poll1")) == len(first) == 1
    source = bodies.ubuntu()["properties"]["source"]
    published = {k: source[k] for k in ("publisher", "offer", "sku")} | {"version": "24.04.299912310"}
    sim.control("POST", "/_sim/marketplace/versions", published | {"location": "eastus"})
    runs = _wait_for(lambda: _finished(kiln, "poll1", 2))
    assert [r["trigger"] for r in runs] == ["SourceImage", "SourceImage"]
    trigger = _raw(kiln, "GET", path + "/triggers/t1").json()
    assert trigger["properties"]["status"]["code"] == "Healthy"


def _gallery_version(sim: AzureSim, version: str) -> str:
    """A gallery image version in azuresim, captured from a generalized VM (the definition made once)."""
    from azure.mgmt.compute import ComputeManagementClient
    from azure.mgmt.resource.resources import ResourceManagementClient

    arm: Any = sim.mgmt_client(ResourceManagementClient, SUB)
    compute: Any = sim.mgmt_client(ComputeManagementClient, SUB)
    arm.resource_groups.create_or_update(GALLERY_RG, {"location": "eastus"})
    compute.galleries.begin_create_or_update(GALLERY_RG, "srcgal", {"location": "eastus"}).result()
    identifier = {"publisher": "kiln", "offer": "tests", "sku": "base"}
    definition = {
        "osType": "Linux",
        "osState": "Generalized",
        "hyperVGeneration": "V2",
        "identifier": identifier,
    }
    compute.gallery_images.begin_create_or_update(
        GALLERY_RG, "srcgal", "base", {"location": "eastus", "properties": definition}
    ).result()
    vm_name = "src-" + version.replace(".", "-")
    vm = {
        "location": "eastus",
        "properties": {
            "hardwareProfile": {"vmSize": "Standard_D2s_v5"},
            "storageProfile": {
                "imageReference": {
                    "publisher": "Canonical",
                    "offer": "ubuntu-24_04-lts",
                    "sku": "server",
                    "version": "latest",
                },
                "osDisk": {"createOption": "FromImage"},
            },
            "osProfile": {"computerName": "src", "adminUsername": "kiln", "adminPassword": "S3cret!pass"},
        },
    }
    created = compute.virtual_machines.begin_create_or_update(GALLERY_RG, vm_name, vm).result()
    compute.virtual_machines.begin_deallocate(GALLERY_RG, vm_name).result()
    compute.virtual_machines.generalize(GALLERY_RG, vm_name)
    body = {
        "location": "eastus",
        "properties": {
            "publishingProfile": {"targetRegions": [{"name": "eastus"}]},
            "storageProfile": {"source": {"virtualMachineId": created.id}},
        },
    }
    poller = compute.gallery_image_versions.begin_create_or_update(
        GALLERY_RG, "srcgal", "base", version, body
    )
    return str(poller.result().id)


def test_a_new_gallery_version_event_through_the_webhook_starts_one_run_though_delivered_twice(
    kiln: LiveKiln, sim: AzureSim
) -> None:
    first = _gallery_version(sim, "1.0.0")
    body = bodies.ubuntu()
    body["properties"]["source"] = {
        "type": "SharedImageVersion",
        "imageVersionId": first.rsplit("/", 1)[0] + "/latest",
    }
    path = bodies.template_path("grid2", rg=RG, sub=SUB)
    assert _raw(kiln, "PUT", path, body).status_code == 201
    assert (
        _raw(kiln, "PUT", path + "/triggers/t1", {"properties": {"kind": "SourceImage"}}).status_code == 201
    )
    new = _gallery_version(sim, "1.1.0")
    event = _grid(new)
    cloud = {
        "specversion": "1.0",
        "id": event["id"],
        "source": event["topic"],
        "subject": new,
        "type": event["eventType"],
        "data": event["data"],
    }
    assert _deliver(kiln, [event]).status_code == 202
    assert _deliver(kiln, cloud).status_code == 202  # the same event again, in the other schema
    _wait_for(lambda: _finished(kiln, "grid2", 1))
    time.sleep(1.0)  # a second run, if the repeated delivery started one, would show by now
    runs = _runs(kiln, "grid2")
    assert [(r["trigger"], r["runState"]) for r in runs] == [("SourceImage", "Succeeded")]
    old = _grid(first)  # the older version: 'latest' no longer resolves to it
    assert _deliver(kiln, [old]).status_code == 202
    assert len(_runs(kiln, "grid2")) == 1
