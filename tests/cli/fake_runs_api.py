"""A stateful stand-in for kiln's run endpoints over real HTTP, to drive ``kiln run --follow`` through a
whole build: each GET of the run document moves the build one scripted step on, and the log grows with it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

KEY = "test-function-key"
SUB = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
BASE = (
    f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.VirtualMachineImages/imageTemplates/ubuntu"
)


@dataclass
class Script:
    """The run documents served in turn (the last one stays) and the log text present at each."""

    docs: list[dict[str, Any]]
    logs: list[str]
    outputs: list[dict[str, Any]] = field(default_factory=list)
    position: int = 0
    started: bool = False
    busy: int = 0  # answer the next GETs of the run document with 503
    earlier: list[dict[str, Any]] = field(default_factory=list)  # finished runs listed after the new one
    requests: list[str] = field(default_factory=list)

    @property
    def doc(self) -> dict[str, Any]:
        return self.docs[min(self.position, len(self.docs) - 1)]

    @property
    def log(self) -> bytes:
        return self.logs[min(self.position, len(self.logs) - 1)].encode()


def _handler(script: Script) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep pytest output clean
            return

        def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
            data = (
                body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else b"")
            )
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _route(self, method: str) -> None:
            url = urlsplit(self.path)
            script.requests.append(f"{method} {url.path}")
            if self.headers.get("x-functions-key") != KEY:
                self._send(
                    401, {"error": {"code": "Unauthorized", "message": "A valid function key is required."}}
                )
                return
            rest = url.path[len(BASE) :] if url.path.startswith(BASE) else None
            if method == "POST" and rest == "/run":
                script.started = True
                self._send(202, None, {"Azure-AsyncOperation": "http://127.0.0.1/op"})
            elif method == "GET" and rest == "/runs":
                self._send(200, {"value": ([script.doc] if script.started else []) + script.earlier})
            elif method == "GET" and rest == "/runOutputs":
                self._send(200, {"value": script.outputs})
            elif method == "GET" and rest and rest.endswith("/log"):
                offset = int(parse_qs(url.query).get("offset", ["0"])[0])
                log = script.log
                finished = script.position >= len(script.docs) - 1
                headers = {"x-kiln-log-offset": str(len(log)), "x-kiln-run-finished": str(finished).lower()}
                self._send(200, log[offset:], {"Content-Type": "text/plain", **headers})
            elif method == "GET" and rest and rest.startswith("/runs/") and script.busy > 0:
                script.busy -= 1
                self._send(503, {"error": {"code": "ServiceUnavailable", "message": "busy"}})
            elif method == "GET" and rest and rest.startswith("/runs/"):
                doc = script.doc
                script.position += 1
                self._send(200, doc)
            else:
                self._send(404, {"error": {"code": "NotFound", "message": f"no route {url.path}"}})

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

    return Handler


@contextmanager
def serve(script: Script) -> Iterator[str]:
    """Serve ``script`` on a free 127.0.0.1 port; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(script))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
