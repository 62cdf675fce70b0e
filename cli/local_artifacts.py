"""Offline stand-ins for what an example downloads from the internet, for the local demo.

Local mode has no network: a customizer's ``scriptUri``/``sourceUri`` on GitHub cannot be fetched and a VHD
``uri`` in a real storage account cannot be written. The demo says so and substitutes, visibly: each remote
artifact becomes a small local file served over HTTPS (its sha256 recomputed), and a VHD goes to the staging
storage account (Azurite) as AIB does when ``uri`` is absent. kiln itself is unchanged: it fetches over HTTPS
and trusts the local CA through ``SSL_CERT_FILE``, which the stack gives the function app.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import os
import ssl
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from devhost.tls import ensure_certificate, server_context

URI_KEYS = ("scriptUri", "sourceUri")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


class ArtifactServer:
    """Serves ``state/artifacts`` over HTTPS on 127.0.0.1 with its own CA."""

    def __init__(self, state: Path) -> None:
        self.root = state / "artifacts"
        self.root.mkdir(parents=True, exist_ok=True)
        cert, key, self.ca_file = ensure_certificate(state / "artifacts-tls")
        handler = functools.partial(_QuietHandler, directory=str(self.root))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        context = server_context(cert, key)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self._server.server_address[1]}"
        self.bundle = _trust_bundle(state / "ca-bundle.pem", self.ca_file)
        threading.Thread(target=self._server.serve_forever, daemon=True, name="artifacts").start()

    def publish(self, name: str, content: bytes) -> tuple[str, str]:
        """Store a file; its URL and sha256."""
        (self.root / name).write_bytes(content)
        return f"{self.url}/{name}", hashlib.sha256(content).hexdigest()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


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
            step[key], digest = server.publish(name, content)
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
