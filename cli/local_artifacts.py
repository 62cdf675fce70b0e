"""Offline stand-ins for what an example downloads from the internet, for the local demo.

Local mode has no network: a customizer's ``scriptUri``/``sourceUri`` on GitHub cannot be fetched and a VHD
``uri`` in a real storage account cannot be written. The demo says so and substitutes, visibly: each remote
artifact becomes a small local file served over HTTPS (its sha256 recomputed), and a VHD goes to the staging
storage account (Azurite) as AIB does when ``uri`` is absent. kiln itself is unchanged: it fetches over HTTPS
and trusts the local CA through ``SSL_CERT_FILE``, which the stack gives the function app. The end-to-end
tests serve their artifacts with the same server.
"""

from __future__ import annotations

import copy
import hashlib
import http.server
import os
import ssl
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

URI_KEYS = ("scriptUri", "sourceUri")


class ArtifactServer:
    """Serves the bytes it is given at ``https://127.0.0.1:<port>/<path>`` (404 for anything else), with a CA
    of its own whose certificate, with the system's, is in ``bundle`` (for ``SSL_CERT_FILE``)."""

    def __init__(self, state: Path) -> None:
        import trustme  # a development dependency, as the whole local stack is

        state.mkdir(parents=True, exist_ok=True)
        self.files: dict[str, bytes] = {}
        self.hits: dict[str, int] = {}
        ca = trustme.CA(organization_name="kiln local artifacts")
        self.ca_file = state / "artifacts-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self._server.server_address[1]}"
        self.bundle = _trust_bundle(state / "ca-bundle.pem", self.ca_file)
        threading.Thread(target=self._server.serve_forever, daemon=True, name="artifacts").start()

    def add(self, path: str, content: bytes) -> tuple[str, str]:
        """Serve ``content`` at ``/path``; its URL and sha256."""
        self.files["/" + path.lstrip("/")] = content
        return f"{self.url}/{path.lstrip('/')}", hashlib.sha256(content).hexdigest()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


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


def _trust_bundle(path: Path, ca_file: Path) -> Path:
    """The system's CA bundle plus our CA, for ``SSL_CERT_FILE`` of the function app."""
    system = os.environ.get("SSL_CERT_FILE") or ssl.get_default_verify_paths().cafile
    parts = [Path(system).read_bytes()] if system and Path(system).is_file() else []
    path.write_bytes(b"\n".join([*parts, ca_file.read_bytes()]))
    return path


def localize(body: dict[str, Any], server: ArtifactServer, prefix: str) -> tuple[dict[str, Any], list[str]]:
    """A copy of a template body with remote artifacts served locally; notes saying what changed."""
    body = copy.deepcopy(body)
    notes: list[str] = []
    props = body.get("properties") or {}
    steps = list(props.get("customize") or [])
    steps += list((props.get("validate") or {}).get("inVMValidations") or [])
    for step in steps:
        for key in URI_KEYS:
            uri = step.get(key)
            if not uri or urlsplit(uri).hostname in ("127.0.0.1", "localhost"):
                continue
            name = f"{prefix}-{Path(urlsplit(uri).path).name or 'artifact'}"
            content = f"kiln local mode: offline stand-in for {uri}\n".encode()
            if key == "scriptUri":  # a build VM may really run it: a script that says what it stands for
                content = f"#!/bin/sh\necho 'kiln local mode: offline stand-in for {uri}'\n".encode()
            step[key], digest = server.add(name, content)
            if "sha256Checksum" in step:
                step["sha256Checksum"] = digest
            notes.append(f"{step.get('name') or step.get('type')}: {key} {uri} -> {step[key]} (offline copy)")
    for target in props.get("distribute") or []:
        if target.get("type") == "VHD" and target.get("uri"):
            notes.append(
                f"{target.get('runOutputName')}: VHD uri {target.pop('uri')} removed: the VHD goes to the "
                "staging storage account (Azurite), as AIB does without uri"
            )
    return body, notes
