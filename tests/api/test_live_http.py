"""Raw HTTP against kiln under devhost: keys, traversal in the URL, big bodies, OpenAPI without a key."""

from __future__ import annotations

import http.client
import json
import ssl
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.api import bodies
from tests.api.live import LiveKiln, blob_snapshot
from tests.support.azurite import Azurite

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def _send(
    live: LiveKiln, method: str, raw_path: str, body: bytes | None = None, *, key: str | None = "default"
) -> tuple[int, dict[str, Any] | None, dict[str, str]]:
    """One request with the path sent byte for byte (no client-side normalisation of '..' or '%2F')."""
    url = urlsplit(live.devhost.base_url)
    context = ssl.create_default_context(cafile=live.devhost.ca_file)
    conn = http.client.HTTPSConnection(url.hostname or "127.0.0.1", url.port, context=context, timeout=30)
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["x-functions-key"] = live.devhost.function_key if key == "default" else key
    try:
        conn.request(method, raw_path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        try:
            parsed = json.loads(data) if data.strip() else None
        except ValueError:
            parsed = {"raw": data.decode(errors="replace")}
        return resp.status, parsed, {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()


@pytest.fixture
def sub() -> str:
    return str(uuid.uuid4())


def test_every_api_route_needs_the_function_key_and_answers_401_in_arm_shape(
    live: LiveKiln, sub: str
) -> None:
    for path in (
        bodies.template_path("t1", sub=sub),
        f"/subscriptions/{sub}/{bodies.PROVIDER}/imageTemplates",
        f"/{bodies.PROVIDER}/operations",
    ):
        for key in (None, "wrong"):
            status, body, _ = _send(live, "GET", path + "?api-version=2025-10-01", key=key)
            assert status == 401
            assert body is not None and body["error"]["code"] == "Unauthorized"


def test_the_openapi_document_is_served_without_a_key(live: LiveKiln) -> None:
    status, body, headers = _send(live, "GET", "/openapi.json", key=None)
    assert status == 200
    assert body is not None and body["openapi"].startswith("3.")
    assert headers["content-type"].startswith("application/json")


@pytest.mark.parametrize(
    "name",
    ["..", "%2e%2e", "..%2F..%2Fx", "a%2Fb", "%2F", "a%00b", "a%0Ab", "a%09b", "..%5C..%5Cx"],
)
def test_traversal_and_control_characters_in_the_name_are_4xx_and_store_nothing(
    live: LiveKiln, azurite: Azurite, sub: str, name: str
) -> None:
    before = blob_snapshot(azurite, live.container)
    path = bodies.template_path(name, rg="rg", sub=sub) + "?api-version=2025-10-01"
    status, body, _ = _send(live, "PUT", path, json.dumps(bodies.ubuntu()).encode())
    assert 400 <= status < 500
    assert body is not None
    if status == 400:  # the name reached kiln, which refused it
        assert body["error"]["code"] == "InvalidResourceName"
    # else the host matched no route (404): it never reached kiln
    assert blob_snapshot(azurite, live.container) == before


def test_a_body_over_four_megabytes_is_refused_and_stores_nothing(
    live: LiveKiln, azurite: Azurite, sub: str
) -> None:
    before = blob_snapshot(azurite, live.container)
    body = bodies.ubuntu()
    body["tags"] = {"padding": "x" * (4 * 1024 * 1024 + 1)}
    path = bodies.template_path("big", sub=sub) + "?api-version=2025-10-01"
    status, error, _ = _send(live, "PUT", path, json.dumps(body).encode())
    assert status == 413
    assert error is not None and error["error"]["code"] in {"RequestEntityTooLarge", "RequestContentTooLarge"}
    assert blob_snapshot(azurite, live.container) == before
