"""An HTTPS file server on 127.0.0.1 for build artifacts (scriptUri / sourceUri), with its own CA."""

from __future__ import annotations

import hashlib
import http.server
import ssl
import threading
from pathlib import Path

import trustme


class ArtifactServer:
    """Serves registered bytes at ``https://127.0.0.1:<port>/<path>``; 404 for anything else."""

    def __init__(self, ca_file: Path) -> None:
        self.ca_file = ca_file
        self.files: dict[str, bytes] = {}
        self.hits: dict[str, int] = {}
        self._server: http.server.ThreadingHTTPServer | None = None

    def start(self) -> None:
        ca = trustme.CA()
        self.ca_file.parent.mkdir(parents=True, exist_ok=True)
        ca.cert_pem.write_to_path(str(self.ca_file))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def add(self, path: str, content: bytes) -> tuple[str, str]:
        """Serve ``content`` at ``/path``; its URL and sha256."""
        assert self._server is not None, "the artifact server is not started"
        self.files["/" + path.lstrip("/")] = content
        port = self._server.server_address[1]
        return f"https://127.0.0.1:{port}/{path.lstrip('/')}", hashlib.sha256(content).hexdigest()


def _handler(owner: ArtifactServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = owner.files.get(self.path)
            owner.hits[self.path] = owner.hits.get(self.path, 0) + 1
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler
