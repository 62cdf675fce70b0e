"""Start and stop azuresim (``python -m azuresim``) for tests and benchmarks, and a fixed-token credential."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from azure.core.credentials import AccessToken

ROOT = Path(__file__).resolve().parents[2]
READY = "AZURESIM READY "


class SimCredential:
    """A TokenCredential returning a fixed bearer token (azuresim checks presence, not signatures)."""

    def __init__(self, token: str = "azuresim-token") -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self.token, int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: Any = None) -> Any:
        from azure.core.credentials import AccessTokenInfo

        return AccessTokenInfo(self.token, int(time.time()) + 3600)


@dataclass
class AzureSim:
    """A running azuresim process."""

    process: subprocess.Popen[str]
    base_url: str
    ca_file: str
    port: int
    state_file: Path | None = None
    stderr_path: Path | None = field(default=None)

    def control(self, method: str, path: str, json_body: Any = None) -> Any:
        """Call the control plane (``/_sim/...``); returns the parsed JSON answer or None."""
        import ssl

        ctx = ssl.create_default_context(cafile=self.ca_file)
        data = json.dumps(json_body).encode() if json_body is not None else None
        req = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def stop(self) -> None:
        """Stop it with SIGTERM (it writes its state file on the way out); SIGKILL after 10 s."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def start_azuresim(
    *,
    storage_connection_string: str | None,
    state_file: Path | None = None,
    latency_scale: float = 0.0,
    port: int = 0,
    extra_args: list[str] | None = None,
    timeout: float = 30.0,
) -> AzureSim:
    """Start ``python -m azuresim`` on 127.0.0.1 and wait for its ready line."""
    ca_dir = Path(tempfile.mkdtemp(prefix="azuresim-test-"))
    args = [sys.executable, "-m", "azuresim", "--port", str(port), "--ca-out", str(ca_dir / "ca.pem")]
    args += ["--latency-scale", str(latency_scale)]
    if state_file is not None:
        args += ["--state-file", str(state_file)]
    if storage_connection_string:
        args += ["--storage-connection-string", storage_connection_string]
    args += extra_args or []
    stderr_path = ca_dir / "stderr.log"
    with stderr_path.open("w") as stderr:
        proc = subprocess.Popen(
            args,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline()
            if line.startswith(READY):
                info = json.loads(line[len(READY) :])
                return AzureSim(
                    proc, info["base_url"], info["ca_file"], info["port"], state_file, stderr_path
                )
        if proc.poll() is not None:
            raise RuntimeError(f"azuresim exited early: {stderr_path.read_text()}")
    proc.kill()
    raise RuntimeError("azuresim did not become ready in time")
