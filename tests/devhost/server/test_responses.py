import json

import azure.functions as func

from devhost.http_functions import to_aiohttp


def test_http_response_keeps_status_headers_and_body_and_derives_content_type_from_mimetype() -> None:
    response = to_aiohttp(
        func.HttpResponse(b"<p/>", status_code=418, mimetype="text/html", headers={"X-A": "1"})
    )
    assert response.status == 418
    assert response.headers["X-A"] == "1"
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.body == b"<p/>"


def test_an_explicit_content_type_header_wins_over_the_mimetype() -> None:
    response = to_aiohttp(func.HttpResponse("{}", headers={"Content-Type": "application/problem+json"}))
    assert response.headers["Content-Type"] == "application/problem+json"


def test_plain_return_values_map_like_the_workers_http_output() -> None:
    assert to_aiohttp("hi").text == "hi"
    assert to_aiohttp(b"\x00\x01").body == b"\x00\x01"
    assert to_aiohttp(None).status == 204
    as_json = to_aiohttp({"a": [1, 2]})
    assert as_json.content_type == "application/json"
    assert json.loads(as_json.text or "") == {"a": [1, 2]}
