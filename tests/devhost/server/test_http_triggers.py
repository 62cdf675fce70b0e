import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.devhost.server.conftest import FUNCTION_KEY, MASTER_KEY
from tests.support.devhost import Devhost, start_devhost

pytestmark = pytest.mark.timeout(120)


def test_route_params_query_headers_and_body_reach_the_function(host: Devhost) -> None:
    response = requests.post(
        f"{host.base_url}/api/echo/42/a/b.txt?x=1&y=two",
        data=b'{"k": "v"}',
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 201
    assert response.headers["X-Echo"] == "yes"
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["method"] == "POST"
    assert body["route"] == {"id": "42", "rest": "a/b.txt"}
    assert body["query"] == {"x": "1", "y": "two"}
    assert body["contentType"] == "application/json"
    assert body["body"] == '{"k": "v"}'
    assert body["url"] == f"{host.base_url}/api/echo/42/a/b.txt?x=1&y=two"


def test_constraints_pick_the_function_and_a_mismatch_is_an_arm_shaped_404(host: Devhost) -> None:
    assert requests.get(f"{host.base_url}/api/names/abc", timeout=10).text == "alpha:abc"
    assert requests.get(f"{host.base_url}/api/names/123", timeout=10).text == "code:123"
    missing = requests.get(f"{host.base_url}/api/names/12a4", timeout=10)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NotFound"
    assert requests.get(f"{host.base_url}/api/echo/notanint/x", timeout=10).status_code == 404


def test_a_path_with_an_encoded_newline_gets_an_arm_shaped_404(host: Devhost) -> None:
    missing = requests.get(f"{host.base_url}/api/names/a%0Ab", timeout=10)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NotFound"


def test_methods_outside_the_declared_list_do_not_match(host: Devhost) -> None:
    assert requests.delete(f"{host.base_url}/api/echo/1/x", timeout=10).status_code == 404


def test_optional_parameter_and_default_route_prefix(host: Devhost) -> None:
    assert requests.get(f"{host.base_url}/api/optional", timeout=10).text == "x=None"
    assert requests.get(f"{host.base_url}/api/optional/5", timeout=10).text == "x=5"
    assert requests.get(f"{host.base_url}/optional/5", timeout=10).status_code == 404


def test_function_level_needs_the_function_or_master_key(host: Devhost) -> None:
    url = f"{host.base_url}/api/keyed"
    denied = requests.get(url, timeout=10)
    assert denied.status_code == 401
    assert denied.json()["error"]["code"] == "Unauthorized"
    assert "x-functions-key" in denied.json()["error"]["message"]
    assert requests.get(url, params={"code": "wrong"}, timeout=10).status_code == 401
    assert (
        requests.get(url, headers={"x-functions-key": FUNCTION_KEY}, timeout=10).text == "function level ok"
    )
    assert requests.get(url, params={"code": FUNCTION_KEY}, timeout=10).status_code == 200
    assert requests.get(url, params={"code": MASTER_KEY}, timeout=10).status_code == 200


def test_admin_level_accepts_only_the_master_key(host: Devhost) -> None:
    url = f"{host.base_url}/api/admin-only"
    assert requests.get(url, headers={"x-functions-key": FUNCTION_KEY}, timeout=10).status_code == 401
    assert requests.get(url, headers={"x-functions-key": MASTER_KEY}, timeout=10).text == "admin level ok"


def test_a_raising_function_gives_500_and_a_failed_log_line(host: Devhost) -> None:
    response = requests.get(f"{host.base_url}/api/explode", timeout=10)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "InternalServerError"
    record = _wait_for_log(host, lambda r: r.get("function") == "explode" and "outcome" in r)
    assert record["outcome"] == "Failed"
    assert "RuntimeError: boom" in record["error"]


def test_every_http_execution_logs_one_structured_line(host: Devhost) -> None:
    requests.get(f"{host.base_url}/api/names/logme", timeout=10)
    record = _wait_for_log(host, lambda r: r.get("function") == "by_name" and r.get("outcome"))
    assert record["kind"] == "http"
    assert record["outcome"] == "Succeeded"
    assert isinstance(record["durationMs"], float)


def test_health_is_anonymous_and_host_status_needs_the_master_key(host: Devhost) -> None:
    health = requests.get(f"{host.base_url}/healthz", timeout=10)
    assert health.status_code == 200
    assert health.json()["status"] == "Healthy"
    status_url = f"{host.base_url}/admin/host/status"
    assert requests.get(status_url, timeout=10).status_code == 401
    status = requests.get(status_url, headers={"x-functions-key": MASTER_KEY}, timeout=10).json()
    assert status["state"] == "Running"
    assert "http_start" in status["functions"]


def test_generated_keys_persist_across_restarts(tmp_path: Path) -> None:
    app = _small_app(tmp_path / "app", route_prefix="")
    server = start_devhost(app, state_dir=tmp_path / "state")
    try:
        first = server.function_key
        assert requests.get(f"{server.base_url}/hello", timeout=10).status_code == 401
        server.restart()
        assert server.function_key == first
        response = requests.get(f"{server.base_url}/hello", params={"code": first}, timeout=10)
        assert response.text == "hello from a small app"
    finally:
        server.stop()


def test_empty_route_prefix_serves_functions_at_the_root(tmp_path: Path) -> None:
    app = _small_app(tmp_path / "app", route_prefix="")
    with start_devhost(app, state_dir=tmp_path / "state", function_key="k") as server:
        assert requests.get(f"{server.base_url}/hello?code=k", timeout=10).status_code == 200
        assert requests.get(f"{server.base_url}/api/hello?code=k", timeout=10).status_code == 404


def test_local_settings_values_become_environment_and_context_is_passed(tmp_path: Path) -> None:
    app = _small_app(tmp_path / "app", route_prefix="api")
    with start_devhost(app, state_dir=tmp_path / "state") as server:
        assert requests.get(f"{server.base_url}/api/settings", timeout=10).text == "hi from settings"


def _small_app(folder: Path, *, route_prefix: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "host.json").write_text(
        json.dumps({"version": "2.0", "extensions": {"http": {"routePrefix": route_prefix}}})
    )
    (folder / "function_app.py").write_text(
        "import azure.functions as func\n"
        "app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)\n"
        "@app.route(route='hello')\n"
        "def hello(req: func.HttpRequest) -> str:\n"
        "    return 'hello from a small app'\n"
        "@app.route(route='settings', auth_level=func.AuthLevel.ANONYMOUS)\n"
        "def settings(req: func.HttpRequest, context) -> str:\n"
        "    import os\n"
        "    return f\"{os.environ['SMALL_APP_GREETING']} from {context.function_name}\"\n"
    )
    (folder / "local.settings.json").write_text(json.dumps({"Values": {"SMALL_APP_GREETING": "hi"}}))
    return folder


def _wait_for_log(
    host: Devhost, predicate: Callable[[dict[str, Any]], Any], timeout: float = 10.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        matches = [r for r in host.log_records() if predicate(r)]
        if matches:
            return matches[-1]
        time.sleep(0.05)
    raise AssertionError("no matching log line")
