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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from azure.core.exceptions import HttpResponseError
from azure.keyvault.secrets import SecretClient

from shared.azure.credentials import StaticTokenCredential
from tests.support.process import terminate

ROOT = Path(__file__).resolve().parents[2]
READY = "AZURESIM READY "
T = TypeVar("T")


# One fixed-token credential for every azuresim client: the app's own (azuresim checks presence, not
# signatures). The old name stays for the benchmarks and the API tests.
SimCredential = StaticTokenCredential


def arm_error(exc: HttpResponseError) -> tuple[str, str]:
    """(code, message) of the ARM error an SDK call raised."""
    assert exc.error is not None, exc
    return str(exc.error.code), str(exc.error.message)


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

    def sdk_kwargs(self) -> dict[str, Any]:
        """What an azure-mgmt client needs to reach this azuresim: its URL, its CA, and fast polling."""
        return {"base_url": self.base_url, "connection_verify": self.ca_file, "polling_interval": 0.05}

    def mgmt_client(
        self, factory: Callable[..., T], subscription: str, *, token: str = "azuresim-token"
    ) -> T:
        """An official azure-mgmt client (``factory``: its class) for ``subscription``, over HTTPS to here."""
        return factory(StaticTokenCredential(token), subscription, **self.sdk_kwargs())

    def secret_client(self) -> SecretClient:
        """The official Key Vault secrets client, over HTTPS to this azuresim's vault endpoint."""
        # The challenge names resource https://vault.azure.net, which is not a parent domain of 127.0.0.1.
        return SecretClient(
            self.base_url,
            StaticTokenCredential("azuresim-token"),
            connection_verify=self.ca_file,
            verify_challenge_resource=False,
        )

    def stop(self) -> None:
        """Stop it with SIGTERM (it writes its state file on the way out); SIGKILL after 10 s."""
        terminate(self.process)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> AzureSim:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_azuresim(
    *,
    storage_connection_string: str | None,
    state_file: Path | None = None,
    latency_scale: float = 0.0,
    port: int = 0,
    extra_args: list[str] | None = None,
    timeout: float = 30.0,
) -> AzureSim:
    """Start ``python -m azuresim`` on 127.0.0.1 and wait for its ready line.

    The answer is a context manager that stops it: ``with start_azuresim(...) as sim:``.
    """
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
    info = _ready_line(proc, stderr_path, timeout)
    return AzureSim(proc, info["base_url"], info["ca_file"], info["port"], state_file, stderr_path)


def _ready_line(proc: subprocess.Popen[str], stderr_path: Path, timeout: float) -> dict[str, Any]:
    """The JSON of azuresim's ready line; the process is killed when none comes in ``timeout`` seconds."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline()
            if line.startswith(READY):
                info: dict[str, Any] = json.loads(line[len(READY) :])
                return info
        if proc.poll() is not None:
            raise RuntimeError(f"azuresim exited early: {stderr_path.read_text()}")
    proc.kill()
    raise RuntimeError("azuresim did not become ready in time")
