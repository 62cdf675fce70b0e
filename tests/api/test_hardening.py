"""The holes found by probing the API as an attacker would, each kept closed by a test (issue 12).

Each test names the probe it repeats; every refused request also leaves the store as it was.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest

from shared.bootstrap import Kiln, installed
from shared.models.build import RunRef, RunStatusUpdate
from shared.store import TemplateRef
from tests.api import bodies
from tests.api.conftest import _direct_api, compose
from tests.api.direct import DirectApi
from tests.fakes import FakeAzure, InMemoryDocuments

PATH = bodies.template_path("t1")
JSON = {"Content-Type": "application/json"}
V = {"api-version": "2025-10-01"}
SAS = "sv=2024-08-04&sr=b&sp=r&sig=c2VjcmV0LXNpZ25hdHVyZQ%3D%3D"
SECRETS = ("hunter2", "c2VjcmV0LXNpZ25hdHVyZQ")


@pytest.fixture
def seeded(api: DirectApi, documents: InMemoryDocuments) -> Iterator[DirectApi]:
    """One template with a trigger; the test's requests must not change a byte of the store."""
    api.put(PATH, bodies.ubuntu())
    api.put(PATH + "/triggers/source", {"properties": {"kind": "SourceImage"}})
    before, writes = documents.snapshot(), documents.writes
    yield api
    assert documents.snapshot() == before
    assert documents.writes == writes


def _code(reply: object) -> str:
    body = getattr(reply, "json", None)
    assert isinstance(body, dict) and "error" in body, body
    assert body["error"]["message"]
    return str(body["error"]["code"])


def _nested(depth: int) -> bytes:
    """A valid template body whose tags hold a value nested ``depth`` levels deep."""
    body = bodies.ubuntu()
    text = json.dumps(body)
    return text.replace('"tags": {', '"tags": {"deep": ' + "[" * depth + "]" * depth + ", ", 1).encode()


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
@pytest.mark.parametrize("depth", [70, 500, 5000])
def test_a_deeply_nested_body_is_400_not_500(seeded: DirectApi, method: str, depth: int) -> None:
    raw = _nested(depth) if method == "PUT" else b'{"tags": {"a": ' + b"[" * depth + b"]" * depth + b"}}"
    target = bodies.template_path("t2") if method == "PUT" else PATH
    reply = seeded.request(method, target, params=V, raw=raw, headers=JSON)
    assert reply.status == 400
    assert _code(reply) == "InvalidRequestContent"
    assert "nested more than 64 levels" in reply.json["error"]["message"]


def test_nesting_within_the_limit_is_validated_as_usual(api: DirectApi) -> None:
    reply = api.request("PUT", PATH, params=V, raw=_nested(20), headers=JSON)
    assert reply.status == 400  # a tag value must be a string: a validation error, not a parse error
    assert _code(reply) == "ValidationFailed"


def test_the_models_refuse_a_deep_body_before_recursing() -> None:
    from shared.errors import ValidationFailed
    from shared.models import validate_template

    body: dict[str, object] = bodies.ubuntu()
    deep: list[object] = []
    node = deep
    for _ in range(3000):
        child: list[object] = []
        node.append(child)
        node = child
    body["tags"] = {"deep": deep}
    with pytest.raises(ValidationFailed) as refused:
        validate_template(body)
    assert refused.value.details[0].code == "InvalidRequestContent"


@pytest.mark.parametrize("offset", ["²", "١٢", "𝟙", "-1", "1e3", " 1", "9" * 30])
def test_an_offset_that_is_not_ascii_digits_is_400(seeded: DirectApi, offset: str) -> None:
    reply = seeded.get(f"{PATH}/runs/run-1/log", params={"offset": offset})
    assert reply.status == 400
    assert _code(reply) == "InvalidOffset"
    assert reply.json["error"]["target"] == "offset"


@pytest.mark.parametrize(
    "path",
    [
        f"/subscriptions/{bodies.SUB}/{bodies.PROVIDER}/imageTemplates",
        f"/subscriptions/{bodies.SUB}/resourceGroups/{bodies.RG}/{bodies.PROVIDER}/imageTemplates",
        f"{PATH}/runs",
        f"{PATH}/triggers",
        f"{PATH}/runOutputs",
    ],
    ids=["by-subscription", "by-group", "runs", "triggers", "runOutputs"],
)
@pytest.mark.parametrize(
    "token",
    [
        "abc",
        "%%%not-base64",
        base64.urlsafe_b64encode(b"imageTemplates/x/").decode(),
        base64.urlsafe_b64encode(b"kiln1:someone/else/\nmarker").decode(),
        "ü",
    ],
    ids=["short", "not-base64", "a-bare-marker", "another-listing", "not-ascii"],
)
def test_a_forged_skip_token_is_400_on_every_list(seeded: DirectApi, path: str, token: str) -> None:
    reply = seeded.get(path, params={"$skipToken": token})
    assert reply.status == 400
    assert _code(reply) == "InvalidSkipToken"


def test_the_next_link_of_one_list_is_refused_by_another(api: DirectApi) -> None:
    for i in range(4):
        api.put(bodies.template_path(f"t{i}"), bodies.ubuntu())
    group = f"/subscriptions/{bodies.SUB}/resourceGroups/{bodies.RG}/{bodies.PROVIDER}/imageTemplates"
    first = api.get(group)
    token = first.json["nextLink"].split("%24skipToken=")[1]
    assert api.get(group, params={"$skipToken": token}).status == 200
    other = f"/subscriptions/{bodies.SUB}/resourceGroups/rg-other/{bodies.PROVIDER}/imageTemplates"
    assert _code(api.get(other, params={"$skipToken": token})) == "InvalidSkipToken"


def test_a_kelvin_sign_does_not_reach_the_template_of_a_k(api: DirectApi) -> None:
    # 'K' as U+212A: str.lower() makes it 'k'; ARM folds ASCII letters only.
    assert api.put(bodies.template_path("t1", rg="rg-kiln"), bodies.ubuntu()).status == 201
    kelvin = bodies.template_path("t1", rg="rg-\u212ailn")
    assert api.get(kelvin).status == 404
    assert api.delete(kelvin).status == 204
    assert api.get(bodies.template_path("T1", rg="RG-Kiln")).status == 200


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        (b'{"tags": {"a": "1", "a": "2"}}', "a"),
        (b'{"tags": {"x": "1"}, "tags": {"y": "2"}}', "tags"),
    ],
)
def test_a_repeated_key_is_400_naming_it(seeded: DirectApi, raw: bytes, key: str) -> None:
    reply = seeded.request("PATCH", PATH, params=V, raw=raw, headers=JSON)
    assert reply.status == 400
    assert _code(reply) == "InvalidRequestContent"
    assert f"the key '{key}' appears more than once" in reply.json["error"]["message"]


@pytest.mark.parametrize(
    ("raw", "target"),
    [
        (b'{"tags": {"a": "x\\u0000y"}}', "tags.a"),
        (b'{"tags": {"a": "\\ud800"}}', "tags.a"),
        (b'{"tags": {"\\udfff": "v"}}', "tags.\\udfff"),
        (b'{"tags": {"k\\u0000": "v"}}', "tags.k\\x00"),
    ],
    ids=["nul-value", "lone-high", "lone-low-key", "nul-key"],
)
@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_nul_and_lone_surrogates_are_400(seeded: DirectApi, method: str, raw: bytes, target: str) -> None:
    target_path = bodies.template_path("t2") if method == "PUT" else PATH
    payload = raw if method == "PATCH" else _put_with_tags(raw)
    reply = seeded.request(method, target_path, params=V, raw=payload, headers=JSON)
    assert reply.status == 400
    assert _code(reply) == "InvalidRequestContent"
    assert reply.json["error"]["target"] == target


def _put_with_tags(patch: bytes) -> bytes:
    """A template PUT body whose tags are the PATCH body's (kept as raw bytes: escapes must survive)."""
    tags = patch[len(b'{"tags": ') : -1]
    body = bodies.ubuntu()
    body.pop("tags", None)
    text = json.dumps(body).encode()
    return text[:-1] + b', "tags": ' + tags + b"}"


def test_a_surrogate_pair_is_fine(api: DirectApi) -> None:
    reply = api.request(
        "PUT", PATH, params=V, raw=_put_with_tags(b'{"tags": {"a": "\\ud83d\\ude00"}}'), headers=JSON
    )
    assert reply.status == 201
    assert reply.json["tags"]["a"] == "\U0001f600"


def test_the_413_is_arm_shaped(seeded: DirectApi) -> None:
    raw = b'{"tags": {"x": "' + b"a" * (4 * 1024 * 1024) + b'"}}'
    reply = seeded.request("PATCH", PATH, params=V, raw=raw, headers=JSON)
    assert reply.status == 413
    assert reply.json == {
        "error": {
            "code": "RequestEntityTooLarge",
            "message": f"The request content size {len(raw)} exceeds the maximum allowed 4194304 bytes "
            "(4 MB).",
        }
    }


def _with_credentials() -> dict[str, object]:
    body = bodies.ubuntu()
    body["properties"]["customize"] = [
        {"type": "Shell", "name": "tools", "scriptUri": f"https://deploy:hunter2@example.com/tools.sh?{SAS}"},
        {
            "type": "File",
            "name": "config",
            "sourceUri": f"https://acct.blob.core.windows.net/c/app.conf?{SAS}",
            "destination": "/tmp/app.conf",
        },
        {"type": "Shell", "name": "signed", "scriptUri": f"https://cdn.example.com/run.sh?{SAS}"},
    ]
    return body


def test_url_credentials_are_never_shown_and_a_get_put_round_trip_is_the_same_template(
    api: DirectApi,
) -> None:
    created = api.put(PATH, _with_credentials())
    assert created.status == 201
    shown = api.get(PATH)
    assert not any(secret in shown.text for secret in SECRETS)
    customize = shown.json["properties"]["customize"]
    assert (
        customize[0]["scriptUri"]
        == "https://REDACTED@example.com/tools.sh?sv=2024-08-04&sr=b&sp=r&sig=REDACTED"
    )
    # The body a GET shows, PUT back, is the same template (200, not 409 Conflict).
    assert api.put(PATH, shown.json).status == 200
    listed = api.get(
        f"/subscriptions/{bodies.SUB}/resourceGroups/{bodies.RG}/{bodies.PROVIDER}/imageTemplates"
    )
    assert not any(secret in listed.text for secret in SECRETS)


def test_url_credentials_stay_out_of_the_durable_input_and_the_run_messages(
    api: DirectApi, kiln: Kiln
) -> None:
    api.put(PATH, _with_credentials())
    ref = TemplateRef(bodies.SUB, bodies.RG, "t1")
    start = kiln.service.runs.begin(ref)
    history = json.dumps(start.input)
    assert "hunter2" not in history
    customize = start.input["template"]["properties"]["customize"]
    # A signed URL (of Azure Storage or another host) is what kiln must send to read the artifact, so only
    # its userinfo goes; the run document and messages show it redacted (below).
    assert customize[1]["sourceUri"].endswith(SAS)
    assert customize[2]["scriptUri"].endswith(SAS)
    run = RunRef(
        subscription_id=bodies.SUB,
        resource_group=bodies.RG,
        template_name="t1",
        run_id=start.run_id,
        location="eastus",
    )
    message = f"GET https://deploy:hunter2@example.com/tools.sh?{SAS} answered 403 Forbidden."
    update = RunStatusUpdate(
        run=run, run_state="Failed", message=message, time="2026-01-01T00:00:09Z", finished=True
    )
    kiln.service.records.apply(update)
    run_doc = api.get(f"{PATH}/runs/{start.run_id}")
    template = api.get(PATH)
    for text in (run_doc.text, template.text, json.dumps(kiln.service.runs.document(ref, start.run_id))):
        assert not any(secret in text for secret in SECRETS), text
    assert "https://REDACTED@example.com" in template.json["properties"]["lastRunStatus"]["message"]


# -- the linked access check: a caller may name only an identity it may assign -----------------------------
CALLER = "6a3c1f6e-1111-4a2b-9c3d-5e6f7a8b9c0d"


def _principal_headers(name: str = "alice@contoso.com") -> dict[str, str]:
    return {"x-ms-client-principal-name": name, "x-ms-client-principal-id": CALLER}


@pytest.fixture
def easy_auth(documents: InMemoryDocuments, fake_azure: FakeAzure) -> Iterator[tuple[DirectApi, FakeAzure]]:
    """kiln behind App Service authentication (the principal headers are the platform's)."""
    with installed(compose(documents, fake_azure, trust_easy_auth=True)):
        yield _direct_api(), fake_azure


def _identity(body: dict[str, object]) -> str:
    return next(iter(body["identity"]["userAssignedIdentities"]))  # type: ignore[index]


def test_a_caller_who_may_not_assign_the_identity_gets_403_naming_it(
    easy_auth: tuple[DirectApi, FakeAzure], documents: InMemoryDocuments
) -> None:
    api, azure = easy_auth
    body = bodies.ubuntu()
    identity = _identity(body)
    azure.access.restrict(CALLER)
    reply = api.put(PATH, body, headers=_principal_headers())
    assert reply.status == 403
    error = reply.json["error"]
    assert error["code"] == "LinkedAuthorizationFailed"
    assert error["target"] == "identity.userAssignedIdentities"
    action = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"
    assert f"perform action '{action}' on the linked scope(s) '{identity}'" in error["message"]
    assert f"object id '{CALLER}'" in error["message"]
    assert documents.snapshot() == {}  # nothing stored
    # Managed Identity Operator on the identity's group is enough (a scope above inherits down).
    group = identity.split("/providers/")[0]
    azure.access.grant(CALLER, group, ["Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action"])
    assert api.put(PATH, body, headers=_principal_headers()).status == 201


def test_a_role_assigned_to_a_group_the_token_names_lets_its_member_assign_the_identity(
    easy_auth: tuple[DirectApi, FakeAzure],
) -> None:
    api, azure = easy_auth
    body = bodies.ubuntu()
    group_id = "0b5c2d7e-2222-4a2b-9c3d-5e6f7a8b9c0d"
    azure.access.restrict(CALLER)
    azure.access.grant(group_id, _identity(body), ["Microsoft.ManagedIdentity/userAssignedIdentities/*"])
    claims = [{"typ": "groups", "val": group_id}, {"typ": "name", "val": "alice"}]
    principal = base64.b64encode(json.dumps({"claims": claims}).encode()).decode()

    # Without the group's claim the caller's own assignments decide: none.
    assert api.put(PATH, body, headers=_principal_headers()).status == 403
    member = {**_principal_headers(), "x-ms-client-principal": principal}
    assert api.put(PATH, body, headers=member).status == 201


def test_a_patch_that_names_another_identity_is_checked_too(easy_auth: tuple[DirectApi, FakeAzure]) -> None:
    api, azure = easy_auth
    body = bodies.ubuntu()
    assert api.put(PATH, body, headers=_principal_headers()).status == 201  # unrestricted so far
    other = _identity(body).rsplit("/", 1)[0] + "/id-someone-elses"
    azure.access.restrict(CALLER)
    azure.access.grant(
        CALLER, _identity(body), ["Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"]
    )
    patch = {"identity": {"type": "UserAssigned", "userAssignedIdentities": {other: {}}}}
    refused = api.patch(PATH, patch, headers=_principal_headers())
    assert refused.status == 403 and other in refused.json["error"]["message"]
    assert api.patch(PATH, {"tags": {"a": "b"}}, headers=_principal_headers()).status == 200  # names none


def test_without_app_service_authentication_the_function_key_is_the_operator(
    api: DirectApi, fake_azure: FakeAzure
) -> None:
    fake_azure.access.restrict(CALLER)
    # The headers are anyone's to send, so they decide nothing: no check, and createdBy stays "kiln".
    reply = api.put(PATH, bodies.ubuntu(), headers=_principal_headers())
    assert reply.status == 201 and reply.json["systemData"]["createdBy"] == "kiln"
