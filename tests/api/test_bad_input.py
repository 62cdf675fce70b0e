"""Bad requests get a clear 4xx ARM error and leave the store exactly as it was."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.api import bodies
from tests.api.direct import DirectApi
from tests.fakes import InMemoryDocuments

PATH = bodies.template_path("t1")
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def seeded(api: DirectApi, documents: InMemoryDocuments) -> Iterator[DirectApi]:
    """A store holding one template with a trigger; the test's requests must not change a byte of it."""
    api.put(PATH, bodies.ubuntu())
    api.put(PATH + "/triggers/source", {"properties": {"kind": "SourceImage"}})
    before, writes = documents.snapshot(), documents.writes
    assert before
    yield api
    assert documents.snapshot() == before
    assert documents.writes == writes


def _error(reply: object) -> dict[str, str]:
    body = getattr(reply, "json", None)
    assert isinstance(body, dict) and "error" in body, body
    error: dict[str, str] = body["error"]
    assert error["code"] and error["message"]
    return error


@pytest.mark.parametrize(
    ("raw", "headers", "status", "code"),
    [
        (b"{not json", JSON, 400, "InvalidRequestContent"),
        (b"", JSON, 400, "InvalidRequestContent"),
        (b"[1, 2]", JSON, 400, "InvalidRequestContent"),
        (b'{"a": NaN}', JSON, 400, "InvalidRequestContent"),
        (b"\xff\xfe{}", JSON, 400, "InvalidRequestContent"),
        (b"[" * 100_000 + b"]" * 100_000, JSON, 400, "InvalidRequestContent"),
        (json.dumps(bodies.ubuntu()).encode(), {"Content-Type": "text/plain"}, 415, "UnsupportedMediaType"),
        (json.dumps(bodies.ubuntu()).encode(), {}, 415, "UnsupportedMediaType"),
        (b'{"x": "' + b"a" * (4 * 1024 * 1024) + b'"}', JSON, 413, "RequestEntityTooLarge"),
    ],
    ids=["malformed", "empty", "array", "nan", "not-utf8", "deep", "text-plain", "no-type", "over-4mb"],
)
@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_unreadable_bodies_are_refused(
    seeded: DirectApi, method: str, raw: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    target = bodies.template_path("t2") if method == "PUT" else PATH
    reply = seeded.request(method, target, params={"api-version": "2025-10-01"}, raw=raw, headers=headers)
    assert reply.status == status
    assert _error(reply)["code"] == code


def test_unknown_fields_are_400_naming_the_field(seeded: DirectApi) -> None:
    body = bodies.ubuntu()
    body["properties"]["vmboot"] = {"state": "Enabled"}
    reply = seeded.put(bodies.template_path("t2"), body)
    assert reply.status == 400
    assert "properties.vmboot" in [d["target"] for d in reply.json["error"]["details"]]


def test_an_http_script_uri_is_400_at_put_naming_the_field(seeded: DirectApi) -> None:
    body = bodies.ubuntu()
    body["properties"]["customize"] = [
        {"type": "Shell", "name": "setup", "scriptUri": "http://example.com/a.sh"}
    ]
    reply = seeded.put(bodies.template_path("t2"), body)
    assert reply.status == 400
    [detail] = reply.json["error"]["details"]
    assert (detail["code"], detail["target"]) == ("InsecureUri", "properties.customize[0].scriptUri")
    assert "https" in detail["message"]


def test_a_put_on_the_existing_template_with_another_body_is_409(seeded: DirectApi) -> None:
    body = bodies.ubuntu()
    body["tags"] = {}
    assert seeded.put(PATH, body).status == 409


@pytest.mark.parametrize(
    "name",
    ["..", ".", "a" * 65, "bad name", "tab\tname", "nul\x00", "new\nline", "a/b", "ünïcode", "x%2Fy"],
)
def test_names_that_break_the_pattern_are_400(seeded: DirectApi, name: str) -> None:
    for path in (bodies.template_path(name), PATH + f"/triggers/{name}"):
        # Route parameters reach the function decoded, as the host decodes them.
        reply = seeded.request("PUT", "/x", params={"api-version": "2025-10-01"}, body={})
        reply = seeded.put(path.replace("/x", "/x"), bodies.ubuntu() if "triggers" not in path else {})
        if reply.status == 404 and reply.json is None:
            continue  # no route matched (a '/' inside the name): the host answers 404
        assert reply.status == 400, (name, reply.json)
        error = _error(reply)
        assert error["code"] == "InvalidResourceName"
        assert "\n" not in error["message"] and "\x00" not in error["message"]


@pytest.mark.parametrize(
    ("sub", "rg", "code"),
    [
        ("not-a-guid", bodies.RG, "InvalidSubscriptionId"),
        (bodies.SUB, "rg.", "InvalidResourceGroupName"),
        (bodies.SUB, "r" * 91, "InvalidResourceGroupName"),
        (bodies.SUB, "rg\x07", "InvalidResourceGroupName"),
    ],
)
def test_malformed_subscription_and_resource_group_are_400(
    seeded: DirectApi, sub: str, rg: str, code: str
) -> None:
    reply = seeded.put(bodies.template_path("t2", rg=rg, sub=sub), bodies.ubuntu())
    assert reply.status == 400
    assert _error(reply)["code"] == code


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_a_missing_api_version_is_400(seeded: DirectApi, method: str) -> None:
    reply = seeded.request(method, PATH, body=bodies.ubuntu() if method in ("PUT", "PATCH") else None)
    assert reply.status == 400
    assert _error(reply)["code"] == "MissingApiVersionParameter"


def test_an_unsupported_api_version_is_400_listing_the_supported_ones(seeded: DirectApi) -> None:
    reply = seeded.delete(PATH, "2019-05-01-preview")
    error = _error(reply)
    assert reply.status == 400
    assert error["code"] == "InvalidApiVersionParameter"
    for version in ("2025-10-01", "2024-02-01", "2022-07-01"):
        assert version in error["message"]
