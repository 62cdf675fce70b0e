"""The template resource through the HTTP functions (called in-process) with its store in Azurite."""

from __future__ import annotations

import threading

import pytest

from shared.bootstrap import installed
from tests.api import bodies
from tests.api.conftest import _direct_api, compose
from tests.api.direct import DirectApi
from tests.fakes import FakeAzure, InMemoryDocuments

SUB_PATH = f"/subscriptions/{bodies.SUB}/{bodies.PROVIDER}/imageTemplates"
RG_PATH = f"/subscriptions/{bodies.SUB}/resourceGroups/{bodies.RG}/{bodies.PROVIDER}/imageTemplates"


def test_put_creates_a_succeeded_template_with_read_only_fields_filled(api: DirectApi) -> None:
    reply = api.put(bodies.template_path("t1"), bodies.ubuntu())
    assert reply.status == 201
    assert "/locations/eastus/operations/" in reply.headers["Azure-AsyncOperation"]
    body = reply.json
    assert body["id"] == bodies.template_path("t1")
    assert body["name"] == "t1"
    assert body["type"] == "Microsoft.VirtualMachineImages/imageTemplates"
    assert body["properties"]["provisioningState"] == "Succeeded"
    staging = body["properties"]["exactStagingResourceGroup"]
    assert staging.startswith(f"/subscriptions/{bodies.SUB}/resourceGroups/IT_{bodies.RG}_t1_")
    assert body["systemData"]["createdBy"] == "kiln"
    assert body["systemData"]["createdByType"] == "Key"
    assert api.get(bodies.template_path("t1")).json == body


def test_created_by_names_the_principal_the_platform_passed(documents: InMemoryDocuments) -> None:
    headers = {"x-ms-client-principal-name": "alice@contoso.com"}
    with installed(compose(documents, FakeAzure(), trust_easy_auth=True)):
        reply = _direct_api().put(bodies.template_path("t1"), bodies.ubuntu(), headers=headers)
    assert reply.json["systemData"]["createdBy"] == "alice@contoso.com"
    assert reply.json["systemData"]["createdByType"] == "User"


def test_the_principal_headers_are_ignored_without_app_service_authentication(api: DirectApi) -> None:
    headers = {"x-ms-client-principal-name": "alice@contoso.com", "x-ms-client-principal-id": "forged"}
    reply = api.put(bodies.template_path("t1"), bodies.ubuntu(), headers=headers)
    assert reply.json["systemData"]["createdBy"] == "kiln"
    assert reply.json["systemData"]["createdByType"] == "Key"


def test_a_given_staging_resource_group_is_the_exact_one(api: DirectApi) -> None:
    body = bodies.ubuntu()
    staging = f"/subscriptions/{bodies.SUB}/resourceGroups/my-staging"
    body["properties"]["stagingResourceGroup"] = staging
    reply = api.put(bodies.template_path("t1"), body)
    assert reply.json["properties"]["exactStagingResourceGroup"] == staging


def test_identical_put_returns_the_template_unchanged_and_a_different_one_conflicts(api: DirectApi) -> None:
    first = api.put(bodies.template_path("t1"), bodies.ubuntu())
    again = api.put(bodies.template_path("T1"), bodies.ubuntu())  # ARM names are case-insensitive
    assert again.status == 200
    assert again.json == first.json
    changed = bodies.ubuntu()
    changed["tags"] = {"owner": "someone-else"}
    conflict = api.put(bodies.template_path("t1"), changed)
    assert conflict.status == 409
    assert conflict.json["error"]["code"] == "Conflict"
    assert "Update/Upgrade of image templates is currently not supported" in conflict.json["error"]["message"]
    assert api.get(bodies.template_path("t1")).json == first.json


def test_concurrent_puts_of_different_bodies_create_exactly_one(api: DirectApi) -> None:
    results: list[int] = []

    def put(owner: str) -> None:
        body = bodies.ubuntu()
        body["tags"] = {"owner": owner}
        results.append(api.put(bodies.template_path("race"), body).status)

    threads = [threading.Thread(target=put, args=(f"o{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [201, 409, 409, 409, 409, 409]


def test_invalid_body_is_400_with_every_problem_and_nothing_is_stored(api: DirectApi) -> None:
    body = bodies.ubuntu()
    del body["identity"]
    body["properties"]["buildTimeoutInMinutes"] = 5000
    reply = api.put(bodies.template_path("bad"), body)
    assert reply.status == 400
    targets = {d["target"] for d in reply.json["error"]["details"]}
    assert {"identity", "properties.buildTimeoutInMinutes"} <= targets
    assert api.get(bodies.template_path("bad")).status == 404


@pytest.mark.parametrize(
    ("version", "present", "absent"),
    [("2025-10-01", "replicationMode", None), ("2022-07-01", None, "replicationMode")],
)
def test_each_api_version_reads_the_template_in_its_own_shape(
    api: DirectApi, version: str, present: str | None, absent: str | None
) -> None:
    api.put(bodies.template_path("t1"), bodies.ubuntu())
    target = api.get(bodies.template_path("t1"), version).json["properties"]["distribute"][0]
    if present:
        assert present in target
    if absent:
        assert absent not in target


def test_a_field_newer_than_the_api_version_is_rejected_as_unknown(api: DirectApi) -> None:
    body = bodies.ubuntu()
    body["properties"]["autoRun"] = {"state": "Disabled"}
    reply = api.put(bodies.template_path("t1"), body, "2022-07-01")
    assert reply.status == 400
    assert any(d["target"] == "properties.autoRun" for d in reply.json["error"]["details"])
    assert api.put(bodies.template_path("t1"), body, "2024-02-01").status == 201


def test_lists_page_with_next_links_in_both_scopes(api: DirectApi) -> None:
    for i in range(5):
        api.put(bodies.template_path(f"t{i}"), bodies.ubuntu())
    api.put(bodies.template_path("elsewhere", rg="other-rg"), bodies.ubuntu())
    for path, expected in ((RG_PATH, 5), (SUB_PATH, 6)):
        names: list[str] = []
        reply = api.get(path)
        pages = 1
        while "nextLink" in reply.json:
            names += [t["name"] for t in reply.json["value"]]
            link = reply.json["nextLink"]
            assert link.startswith(f"https://kiln.test{path}?")
            token = link.split("%24skipToken=")[1]
            reply = api.get(path, params={"$skipToken": token})
            pages += 1
        names += [t["name"] for t in reply.json["value"]]
        assert len(names) == expected == len(set(names))
        assert pages == 2  # page size 3


def test_a_forged_skip_token_is_a_400(api: DirectApi) -> None:
    reply = api.get(RG_PATH, params={"$skipToken": "%%%not-base64"})
    assert reply.status == 400
    assert reply.json["error"]["code"] == "InvalidSkipToken"


def test_patch_replaces_tags_and_merges_vm_profile(api: DirectApi) -> None:
    path = bodies.template_path("t1")
    created = api.put(path, bodies.ubuntu()).json
    patched = api.patch(path, {"tags": {"a": "b"}, "properties": {"vmProfile": {"osDiskSizeGB": 64}}})
    assert patched.status == 200
    assert patched.json["tags"] == {"a": "b"}
    assert patched.json["properties"]["vmProfile"]["osDiskSizeGB"] == 64
    assert patched.json["properties"]["vmProfile"]["vmSize"] == created["properties"]["vmProfile"]["vmSize"]
    assert patched.json["systemData"]["createdAt"] == created["systemData"]["createdAt"]
    assert api.get(path).json == patched.json


@pytest.mark.parametrize(
    ("body", "target"),
    [
        ({"location": "westus"}, "location"),
        ({"properties": {"source": {"type": "PlatformImage"}}}, "properties.source"),
        ({"properties": {"customize": []}}, "properties.customize"),
    ],
)
def test_patch_of_anything_but_the_updatable_fields_is_400_naming_the_field(
    api: DirectApi, body: dict[str, object], target: str
) -> None:
    path = bodies.template_path("t1")
    before = api.put(path, bodies.ubuntu()).json
    reply = api.patch(path, body)
    assert reply.status == 400
    assert [d["target"] for d in reply.json["error"]["details"]] == [target]
    assert target in reply.json["error"]["message"]
    assert api.get(path).json == before


def test_patch_that_breaks_a_template_rule_is_400_and_changes_nothing(api: DirectApi) -> None:
    path = bodies.template_path("t1")
    before = api.put(path, bodies.ubuntu()).json
    reply = api.patch(path, {"properties": {"vmProfile": {"osDiskSizeGB": -1}}})
    assert reply.status == 400
    assert api.get(path).json == before


def test_patch_and_get_of_a_missing_template_are_404(api: DirectApi) -> None:
    assert api.get(bodies.template_path("nope")).json["error"]["code"] == "ResourceNotFound"
    assert api.patch(bodies.template_path("nope"), {"tags": {}}).status == 404


def test_delete_answers_202_with_location_then_the_template_is_gone(api: DirectApi) -> None:
    path = bodies.template_path("t1")
    api.put(path, bodies.ubuntu())
    api.put(path + "/triggers/source", {"properties": {"kind": "SourceImage"}})
    reply = api.delete(path)
    assert reply.status == 202
    location = reply.headers["Location"].removeprefix("https://kiln.test")
    assert "/operationResults/" in location
    assert api.get(location.split("?")[0]).status == 204
    status = api.get(reply.headers["Azure-AsyncOperation"].removeprefix("https://kiln.test").split("?")[0])
    assert status.json["status"] == "Succeeded"
    assert api.get(path).status == 404
    assert api.delete(path).status == 204
    # Its trigger went with it: a new template of the same name starts without one.
    api.put(path, bodies.ubuntu())
    assert api.get(path + "/triggers").json["value"] == []


def test_an_unknown_operation_is_404(api: DirectApi) -> None:
    path = f"/subscriptions/{bodies.SUB}/{bodies.PROVIDER}/locations/eastus/operations/"
    assert api.get(path + "00000000-0000-0000-0000-000000000000").json["error"]["code"] == "OperationNotFound"
    assert api.get(path + "not-a-guid").status == 404


def test_provider_operations_list_every_action(api: DirectApi) -> None:
    reply = api.get(f"/{bodies.PROVIDER}/operations")
    names = {op["name"] for op in reply.json["value"]}
    assert "Microsoft.VirtualMachineImages/imageTemplates/triggers/write" in names
    assert "Microsoft.VirtualMachineImages/imageTemplates/delete" in names


def test_run_outputs_are_empty_until_a_build_writes_them(api: DirectApi) -> None:
    path = bodies.template_path("t1")
    api.put(path, bodies.ubuntu())
    assert api.get(path + "/runOutputs").json == {"value": []}
    assert api.get(path + "/runOutputs/ubuntu-2404-gallery").status == 404
    assert api.get(bodies.template_path("nope") + "/runOutputs").status == 404


def test_the_url_check_serves_exactly_the_api_versions_the_models_know() -> None:
    from shared.models import SUPPORTED_API_VERSIONS
    from shared.service.checks import SUPPORTED

    assert SUPPORTED == SUPPORTED_API_VERSIONS


def test_patch_can_remove_the_identity_and_later_patches_still_apply(api: DirectApi) -> None:
    path = bodies.template_path("t1")
    api.put(path, bodies.ubuntu())
    removed = api.patch(path, {"identity": {"type": "None"}})
    assert removed.status == 200
    assert removed.json["identity"] == {"type": "None"}
    tagged = api.patch(path, {"tags": {"after": "removal"}})
    assert tagged.status == 200
    assert tagged.json["identity"] == {"type": "None"}
    assert api.get(path, "2022-07-01").json["tags"] == {"after": "removal"}
