"""SourceImage triggers fire: Event Grid events of new gallery versions and the source poll start runs
(trigger ``SourceImage``) once per version; failing triggered builds deactivate the trigger.

In-process: the functions' code over Azurite, Azure as the stateful fakes (``FakeAzure``), the Durable
client as ``FakeDurable``; events go through devhost's Event Grid parser (both schemas). The live checks
through devhost's webhook and timer are in ``test_self_starting_live.py``.
"""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from devhost.eventgrid import to_event
from functions.events import gallery_version_of
from shared.bootstrap import root
from shared.service.source_triggers import SourceTriggers
from shared.store import TemplateRef, keys
from tests.api import bodies
from tests.api.direct import DirectApi
from tests.api.fake_durable import FakeDurable
from tests.fakes import SUBSCRIPTION, FakeAzure, arm_id

pytestmark = pytest.mark.timeout(60)
RG = "rg-images"
SOURCE_RG = "rg-src"
DEFINITION = arm_id(SOURCE_RG, "Microsoft.Compute/galleries/images", "srcgal", "base")


def _version_id(version: str, definition: str = DEFINITION) -> str:
    return f"{definition}/versions/{version}"


def _publish(fake: FakeAzure, version: str, *, ready: bool = True, excluded: bool = False) -> str:
    """A gallery image version as the gallery holds it (replicated everywhere when ``ready``)."""
    rid = _version_id(version)
    spec = SimpleNamespace(exclude_from_latest=excluded)
    fake.cloud.put(rid, {"location": "eastus", "spec": spec, "progress": {"eastus": 100 if ready else 0}})
    return rid


@pytest.fixture
def gallery(fake_azure: FakeAzure) -> FakeAzure:
    fake_azure.resource_groups.create(name=SOURCE_RG, location="eastus", tags={})
    _publish(fake_azure, "1.0.0")
    return fake_azure


def _create(
    api: DirectApi, name: str, *, source: dict[str, Any] | None = None, trigger: bool = True
) -> TemplateRef:
    body = bodies.ubuntu()
    if source is not None:
        body["properties"]["source"] = source
    path = bodies.template_path(name, rg=RG, sub=SUBSCRIPTION)
    assert api.put(path, body).status == 201
    if trigger:
        assert api.put(path + "/triggers/new-base", {"properties": {"kind": "SourceImage"}}).status == 201
    return TemplateRef(SUBSCRIPTION, RG, name)


def _gallery_template(api: DirectApi, name: str, **kw: Any) -> TemplateRef:
    source = {"type": "SharedImageVersion", "imageVersionId": _version_id("latest")}
    return _create(api, name, source=source, **kw)


class _Fired:
    """The service's SourceImage triggers, starting runs through ``durable`` (over the fake Azure)."""

    def __init__(self, fake: FakeAzure, durable: FakeDurable) -> None:
        assert root().azure is fake  # the composed kiln reaches the same fake Azure the test arranged
        self._triggers: SourceTriggers = root().service.source_triggers
        self._durable = durable

    async def on_gallery_version(self, version_id: str) -> Any:
        return await self._triggers.on_gallery_version(version_id, self._durable)

    async def poll(self) -> Any:
        return await self._triggers.poll(self._durable)


def _triggers(fake: FakeAzure, durable: FakeDurable) -> _Fired:
    return _Fired(fake, durable)


def _grid_event(
    version_id: str, *, event_type: str = "Microsoft.Resources.ResourceWriteSuccess"
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "topic": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{SOURCE_RG}",
        "subject": version_id,
        "eventType": event_type,
        "eventTime": "2026-11-26T23:00:00.1234567Z",
        "dataVersion": "2",
        "data": {
            "resourceProvider": "Microsoft.Compute",
            "resourceUri": version_id,
            "operationName": "Microsoft.Compute/galleries/images/versions/write",
            "status": "Succeeded",
            "subscriptionId": SUBSCRIPTION,
        },
    }


def _cloud_event(version_id: str) -> dict[str, Any]:
    grid = _grid_event(version_id)
    return {
        "specversion": "1.0",
        "id": grid["id"],
        "source": grid["topic"],
        "subject": version_id,
        "type": grid["eventType"],
        "time": "2026-11-26T23:00:00Z",
        "data": grid["data"],
    }


def _deliver(item: dict[str, Any], fake: FakeAzure, durable: FakeDurable) -> Any:
    """What ``source_image_events`` does with one delivery, after devhost parsed it as the host would."""
    event = to_event(item)
    version_id = gallery_version_of(event.event_type, event.subject, event.get_json())
    if version_id is None:
        return None
    return asyncio.run(_triggers(fake, durable).on_gallery_version(version_id))


def _trigger_doc(ref: TemplateRef) -> dict[str, Any]:
    doc = root().service.store.get(keys.child(keys.TRIGGERS, ref, "new-base"))
    assert doc is not None
    return doc.body


def _run_triggers(api: DirectApi, ref: TemplateRef) -> list[str]:
    reply = api.get(bodies.template_path(ref.name, rg=RG, sub=SUBSCRIPTION) + "/runs")
    return [r["properties"]["trigger"] for r in reply.json["value"]]


@pytest.mark.parametrize("schema", ["EventGrid", "CloudEvents"])
def test_a_new_gallery_version_event_starts_one_run_of_the_watching_template_even_delivered_twice(
    api: DirectApi, gallery: FakeAzure, schema: str
) -> None:
    ref = _gallery_template(api, "watcher")
    other = _create(api, "marketplace-one")  # a PlatformImage trigger: not concerned by gallery events
    durable = FakeDurable()
    new = _publish(gallery, "1.1.0")
    item = _grid_event(new) if schema == "EventGrid" else _cloud_event(new)
    first = _deliver(item, gallery, durable)
    second = _deliver(item, gallery, durable)
    assert len(durable.started("SourceImage")) == 1
    assert first.decisions[ref.path].outcome == "start" and first.decisions[ref.path].run_id
    assert second.decisions[ref.path].reason == "A run was already started for this version."
    assert other.path not in first.decisions
    assert _run_triggers(api, ref) == ["SourceImage"]
    assert _trigger_doc(ref)["kiln"]["handled"] == [new]


def test_an_event_for_an_unrelated_image_or_resource_starts_nothing(
    api: DirectApi, gallery: FakeAzure
) -> None:
    ref = _gallery_template(api, "watcher2")
    durable = FakeDurable()
    elsewhere = arm_id(SOURCE_RG, "Microsoft.Compute/galleries/images", "srcgal", "other")
    assert _deliver(_grid_event(_version_id("2.0.0", elsewhere)), gallery, durable).decisions == {}
    vm = arm_id(SOURCE_RG, "Microsoft.Compute/virtualMachines", "vm1")
    assert _deliver(_grid_event(vm), gallery, durable) is None
    deleted = _grid_event(_publish(gallery, "1.2.0"), event_type="Microsoft.Resources.ResourceDeleteSuccess")
    assert _deliver(deleted, gallery, durable) is None
    assert durable.instances == {}
    assert _run_triggers(api, ref) == []


def test_an_older_or_unfinished_version_is_skipped_with_the_reason_recorded(
    api: DirectApi, gallery: FakeAzure
) -> None:
    ref = _gallery_template(api, "watcher3")
    durable = FakeDurable()
    _publish(gallery, "3.0.0")
    old = _publish(gallery, "2.0.0")
    report = _deliver(_grid_event(old), gallery, durable)
    assert report.decisions[ref.path].outcome == "skip"
    assert "resolves to" in _trigger_doc(ref)["kiln"]["lastDecision"]["reason"]
    busy = _publish(gallery, "4.0.0", ready=False)
    assert _deliver(_grid_event(busy), gallery, durable).decisions[ref.path].outcome == "skip"
    assert durable.instances == {}


def test_a_version_arriving_during_a_run_is_pending_and_the_poll_builds_it_after_the_run(
    api: DirectApi, gallery: FakeAzure
) -> None:
    ref = _gallery_template(api, "watcher4")
    durable = FakeDurable()
    first = _deliver(_grid_event(_publish(gallery, "1.1.0")), gallery, durable).decisions[ref.path]
    second = _deliver(_grid_event(_publish(gallery, "1.2.0")), gallery, durable).decisions[ref.path]
    assert second.outcome == "pending" and first.run_id in second.reason
    assert _trigger_doc(ref)["kiln"]["pending"]["version"] == _version_id("1.2.0")
    # Still in flight: the poll leaves it pending.
    assert asyncio.run(_triggers(gallery, durable).poll()).decisions[ref.path].outcome == "pending"
    durable.finish(root().service.runs, first.run_id, exact_version=_version_id("1.1.0"))
    after = asyncio.run(_triggers(gallery, durable).poll()).decisions[ref.path]
    assert after.outcome == "start" and after.version == _version_id("1.2.0")
    assert _trigger_doc(ref)["kiln"]["pending"] is None
    assert len(durable.started("SourceImage")) == 2


def test_the_poll_starts_a_run_when_marketplace_publishes_a_new_version_and_only_once(
    api: DirectApi, gallery: FakeAzure
) -> None:
    ref = _create(api, "ubuntu-floating")
    durable = FakeDurable()
    runs = root().service.runs
    # Never built: the first poll builds from the newest version (docs/api.md, "Builds that start…").
    initial = asyncio.run(_triggers(gallery, durable).poll()).decisions[ref.path]
    assert initial.outcome == "start" and initial.version == "24.04.202411030"
    durable.finish(runs, initial.run_id, exact_version=initial.version)
    # The template last built from the newest version: nothing to do.
    assert asyncio.run(_triggers(gallery, durable).poll()).decisions[ref.path].outcome == "skip"
    gallery.marketplace.publish(
        publisher="Canonical", offer="ubuntu-24_04-lts", sku="server", version="24.04.202412010"
    )
    started = asyncio.run(_triggers(gallery, durable).poll()).decisions[ref.path]
    assert started.outcome == "start" and started.version == "24.04.202412010"
    assert durable.started("SourceImage")[-1] == started.run_id
    durable.finish(runs, started.run_id, state="Failed")  # a failed build is not retried by every poll
    again = asyncio.run(_triggers(gallery, durable).poll()).decisions[ref.path]
    assert again.outcome == "skip" and len(durable.started()) == 2


def test_three_failed_triggered_builds_deactivate_the_trigger_and_a_manual_success_reactivates_it(
    api: DirectApi, gallery: FakeAzure
) -> None:
    ref = _gallery_template(api, "flaky")
    durable = FakeDurable()
    runs = root().service.runs
    path = bodies.template_path(ref.name, rg=RG, sub=SUBSCRIPTION) + "/triggers/new-base"
    for n, version in enumerate(["1.1.0", "1.2.0", "1.3.0"], start=1):
        assert api.get(path).json["properties"]["status"]["code"] == "Healthy"
        decision = _deliver(_grid_event(_publish(gallery, version)), gallery, durable).decisions[ref.path]
        assert decision.outcome == "start"
        durable.finish(runs, decision.run_id, state="Failed", message=f"customize failed ({n})")
        # The activity runs at least once: a repeated final update is not counted twice.
        durable.finish(runs, decision.run_id, state="Failed", message=f"customize failed ({n})")
    status = api.get(path).json["properties"]["status"]
    assert status["code"] == "Disabled"
    assert "3 builds" in status["message"] and "customize failed (3)" in status["message"]
    assert "manual" in status["message"]
    ignored = _deliver(_grid_event(_publish(gallery, "1.4.0")), gallery, durable).decisions[ref.path]
    assert ignored.outcome == "skip" and ignored.reason == "The trigger is deactivated."
    manual = runs.begin(ref)  # POST …/run reserves the run the same way
    durable.instances[manual.run_id] = {"name": "build_image", "input": manual.input, "status": "Running"}
    durable.finish(runs, manual.run_id, state="Failed")
    assert api.get(path).json["properties"]["status"]["code"] == "Disabled"  # a failed manual build does not
    manual = runs.begin(ref)
    durable.instances[manual.run_id] = {"name": "build_image", "input": manual.input, "status": "Running"}
    durable.finish(runs, manual.run_id, state="Succeeded", exact_version=_version_id("1.4.0"))
    status = api.get(path).json["properties"]["status"]
    assert (status["code"], status["message"]) == ("Healthy", "Trigger is active.")
    assert _trigger_doc(ref)["kiln"]["failures"] == 0


def test_resource_notification_events_and_failed_writes_are_read_as_azure_sends_them() -> None:
    version = _version_id("5.0.0")
    notification = {"resourceInfo": {"id": version, "name": "5.0.0"}, "operationalInfo": {}}
    kind = "Microsoft.ResourceNotifications.Resources.CreatedOrUpdated"
    assert gallery_version_of(kind, version, notification) == version
    failed = {"resourceUri": version, "status": "Failed"}
    assert gallery_version_of("Microsoft.Resources.ResourceWriteSuccess", version, failed) is None
