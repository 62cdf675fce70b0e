"""``kiln trigger``, ``kiln cycles`` and ``kiln outdated`` against a small stand-in of kiln's endpoints over
real HTTP: what they send, and what they print."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from contextlib import redirect_stdout
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pytest

from cli.main import main

SUB = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
PROVIDER = f"/subscriptions/{SUB}/providers/Microsoft.VirtualMachineImages"
TEMPLATE = (
    f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.VirtualMachineImages/imageTemplates/ubuntu"
)
CYCLE = {
    "name": "linux-20261128T010000Z",
    "properties": {
        "state": "PartiallySucceeded",
        "dueTime": "2026-11-28T01:00:00Z",
        "late": True,
        "lateBySeconds": 3600.0,
        "missedWindows": 1,
        "startTime": "2026-11-28T02:00:01Z",
        "durationSeconds": 1800.0,
        "counts": {"templates": 3, "started": 2, "succeeded": 1, "failed": 1, "skippedUnchanged": 1},
        "failed": [{"template": TEMPLATE, "runId": "t1-run-00003", "reason": "customize step 0 exited 3"}],
        "skippedUnchanged": [
            {"template": TEMPLATE + "2", "lastRunId": "t2-run-00001", "reason": "No input changed"}
        ],
    },
}


class Api(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str, Any]]] = []

    def _answer(self, body: Any, status: int = 200) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        self.seen.append(("GET", path, None))
        if path == PROVIDER + "/patchCycles":
            self._answer({"value": [CYCLE]})
        elif path == PROVIDER + "/patchCycles/" + CYCLE["name"]:
            self._answer(CYCLE)
        elif path == PROVIDER + "/outdatedImageTemplates":
            self._answer(
                {"value": [{"template": TEMPLATE, "builtFrom": "1.0", "latest": "1.1", "runId": "r1"}]}
            )
        elif path == TEMPLATE + "/triggers":
            props = {
                "kind": "Schedule",
                "schedule": "0 2 * * 6",
                "timeZone": "Europe/Berlin",
                "mode": "whenChanged",
            }
            self._answer(
                {"value": [{"name": "patch", "properties": {**props, "status": {"code": "Healthy"}}}]}
            )
        else:
            self._answer({"error": {"code": "ResourceNotFound", "message": path}}, 404)

    def do_PUT(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append(("PUT", urlsplit(self.path).path, body))
        self._answer({"name": "patch", **body}, 201)

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def server() -> Iterator[str]:
    Api.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def _kiln(url: str, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(
            [*argv, "--url", url, "--function-key", "k", "--subscription", SUB, "--resource-group", "rg"]
        )
    return code, out.getvalue()


def test_trigger_create_sends_the_schedule_fields_given(server: str) -> None:
    schedule = ["--schedule", "0 2 * * 6", "--time-zone", "Europe/Berlin", "--mode", "whenChanged"]
    code, _ = _kiln(server, "trigger", "create", "ubuntu", "patch", *schedule, "--cycle", "linux")

    assert code == 0
    method, path, body = Api.seen[-1]
    assert (method, path) == ("PUT", TEMPLATE + "/triggers/patch")
    assert body == {
        "properties": {
            "kind": "Schedule",
            "schedule": "0 2 * * 6",
            "timeZone": "Europe/Berlin",
            "mode": "whenChanged",
            "cycleName": "linux",
        }
    }


def test_trigger_list_shows_when_each_comes_due(server: str) -> None:
    code, out = _kiln(server, "trigger", "list", "ubuntu")

    assert code == 0 and "0 2 * * 6 (Europe/Berlin)" in out and "whenChanged" in out and "Healthy" in out


def test_cycles_lists_newest_first_and_shows_one_with_each_outcome(server: str) -> None:
    code, listed = _kiln(server, "cycles")
    assert code == 0 and CYCLE["name"] in listed and "PartiallySucceeded" in listed

    code, shown = _kiln(server, "cycles", CYCLE["name"])

    assert code == 0
    assert "late by 3600.0 s (1 missed)" in shown
    assert "failed: ubuntu t1-run-00003 customize step 0 exited 3" in shown
    assert "skippedUnchanged: ubuntu2 t2-run-00001 No input changed" in shown


def test_outdated_lists_the_templates_and_the_versions(server: str) -> None:
    code, out = _kiln(server, "outdated")

    assert code == 0 and "ubuntu" in out and "1.0" in out and "1.1" in out
