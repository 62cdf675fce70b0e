"""The triggers sub-resource: AIB's SourceImage rules, one per template, 100 per region per subscription."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from shared.errors import KilnError
from shared.service import Caller
from shared.service.operations import Operations
from shared.service.templates import TemplateService
from shared.service.triggers import TriggerService
from shared.store import JsonStore, TemplateRef
from tests.api import bodies
from tests.api.direct import DirectApi

KIND = {"properties": {"kind": "SourceImage"}}
GALLERY = f"/subscriptions/{bodies.SUB}/resourceGroups/rg-gal/providers/Microsoft.Compute/galleries/g1/images"


def _sig_source(definition: str = "src-def", version: str = "latest") -> dict[str, Any]:
    body = bodies.ubuntu()
    body["properties"]["source"] = {
        "type": "SharedImageVersion",
        "imageVersionId": f"{GALLERY}/{definition}/versions/{version}",
    }
    return body


def test_put_creates_a_healthy_trigger_and_a_repeat_returns_it(api: DirectApi) -> None:
    path = bodies.template_path("t1")
    api.put(path, bodies.ubuntu())
    created = api.put(path + "/triggers/source", KIND)
    assert created.status == 201
    props = created.json["properties"]
    assert props["status"]["code"] == "Healthy"
    assert props["status"]["message"] == "Trigger is active."
    assert props["provisioningState"] == "Succeeded"
    assert created.json["id"] == path + "/triggers/source"
    assert created.json["type"] == "Microsoft.VirtualMachineImages/imageTemplates/triggers"
    again = api.put(path + "/triggers/source", KIND)
    assert again.status == 200
    assert again.json == created.json
    assert api.get(path + "/triggers/source").json == created.json
    assert api.get(path + "/triggers").json == {"value": [created.json]}


def test_a_second_trigger_on_one_template_is_a_conflict(api: DirectApi) -> None:
    path = bodies.template_path("t1")
    api.put(path, bodies.ubuntu())
    api.put(path + "/triggers/first", KIND)
    reply = api.put(path + "/triggers/second", KIND)
    assert reply.status == 409
    assert "only one SourceImage trigger" in reply.json["error"]["message"]
    assert api.get(path + "/triggers/second").status == 404


def test_a_trigger_on_a_missing_template_is_404(api: DirectApi) -> None:
    assert api.put(bodies.template_path("nope") + "/triggers/source", KIND).status == 404


@pytest.mark.parametrize(
    ("mutate", "target"),
    [
        (lambda b: b["properties"]["source"].update(version="1.0.0"), "properties.source.version"),
        (
            lambda b: b["properties"].update(
                source={
                    "type": "ManagedImage",
                    "imageId": f"/subscriptions/{bodies.SUB}/resourceGroups/"
                    "rg/providers/Microsoft.Compute/images/img",
                }
            ),
            "properties.source.type",
        ),
        (
            lambda b: b["properties"]["distribute"][0].update(
                galleryImageId=b["properties"]["distribute"][0]["galleryImageId"] + "/versions/1.0.0"
            ),
            "properties.distribute[0].galleryImageId",
        ),
    ],
)
def test_templates_that_break_aib_trigger_rules_are_refused_at_the_field(
    api: DirectApi, mutate: Any, target: str
) -> None:
    body = bodies.ubuntu()
    mutate(body)
    path = bodies.template_path("t1")
    assert api.put(path, body).status == 201
    reply = api.put(path + "/triggers/source", KIND)
    assert reply.status == 400
    assert [d["target"] for d in reply.json["error"]["details"]] == [target]


def test_shared_image_source_must_end_in_latest_and_differ_from_the_distribute_definition(
    api: DirectApi,
) -> None:
    pinned = api.put(bodies.template_path("pinned"), _sig_source(version="1.2.3"))
    assert pinned.status == 201
    reply = api.put(bodies.template_path("pinned") + "/triggers/source", KIND)
    assert reply.json["error"]["details"][0]["target"] == "properties.source.imageVersionId"

    same = _sig_source(definition="ubuntu-2404-gen2")
    same["properties"]["source"]["imageVersionId"] = (
        same["properties"]["distribute"][0]["galleryImageId"] + "/versions/latest"
    )
    api.put(bodies.template_path("same"), same)
    reply = api.put(bodies.template_path("same") + "/triggers/source", KIND)
    assert reply.status == 400
    assert reply.json["error"]["details"][0]["target"] == "properties.distribute[0].galleryImageId"

    fine = _sig_source()
    api.put(bodies.template_path("fine"), fine)
    assert api.put(bodies.template_path("fine") + "/triggers/source", KIND).status == 201


@pytest.mark.parametrize(
    "body",
    [{"properties": {"kind": "Schedule"}}, {"properties": {}}, {"kind": "SourceImage"}],
)
def test_a_trigger_body_other_than_kind_source_image_is_400(api: DirectApi, body: dict[str, Any]) -> None:
    path = bodies.template_path("t1")
    api.put(path, bodies.ubuntu())
    reply = api.put(path + "/triggers/source", body)
    assert reply.status == 400
    assert reply.json["error"]["code"] == "ValidationFailed"


def test_delete_frees_the_template_for_another_trigger(api: DirectApi) -> None:
    path = bodies.template_path("t1")
    api.put(path, bodies.ubuntu())
    api.put(path + "/triggers/first", KIND)
    assert api.delete(path + "/triggers/first").status == 202
    assert api.delete(path + "/triggers/first").status == 204
    assert api.put(path + "/triggers/second", KIND).status == 201


def test_the_per_region_limit_counts_triggers_of_the_whole_subscription(store: JsonStore) -> None:
    operations = Operations(store)
    templates = TemplateService(store, operations=operations, page_size=10)
    triggers = TriggerService(store, operations=operations, page_size=10, per_region_limit=2)
    caller = Caller()
    refs = [TemplateRef(bodies.SUB, f"rg{i}", f"t{i}") for i in range(3)]
    for ref in refs:
        templates.put(ref, bodies.ubuntu(), api_version="2025-10-01", caller=caller)
    other_region = TemplateRef(bodies.SUB, "rg", "west")
    west = copy.deepcopy(bodies.ubuntu())
    west["location"] = "westus"
    templates.put(other_region, west, api_version="2025-10-01", caller=caller)
    triggers.put(refs[0], "s", KIND, caller=caller)
    triggers.put(refs[1], "s", KIND, caller=caller)
    with pytest.raises(KilnError) as caught:
        triggers.put(refs[2], "s", KIND, caller=caller)
    assert caught.value.code == "QuotaExceeded"
    assert triggers.put(other_region, "s", KIND, caller=caller).created
    triggers.delete(refs[0], "s")
    assert triggers.put(refs[2], "s", KIND, caller=caller).created
