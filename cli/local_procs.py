"""The three processes of the local stack: Azurite (storage), azuresim (Azure, simulated) and devhost
(the Functions host running kiln's ``function_app``). Each writes its log under the state directory."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's documented, well-known development key (not a secret).
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
SIM_READY = "AZURESIM READY "


class StackError(RuntimeError):
    """A process of the local stack did not start or is not healthy."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proc:
    """One child process of the stack and the log file its output goes to."""

    name: str
    process: subprocess.Popen[str]
    log_path: Path
    out_path: Path
    info: dict[str, Any] = field(default_factory=dict)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (each process saves its state on the way out); SIGKILL if it does not exit in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _spawn(name: str, args: list[str], state: Path, env: dict[str, str] | None = None) -> Proc:
    """Start a child in its own session (Ctrl-C reaches only us; we stop the children in order), with
    stdout in ``state/<name>.out`` and stderr in ``state/<name>.log``, so it outlives us under ``up``."""
    state.mkdir(parents=True, exist_ok=True)
    out_path, log_path = state / f"{name}.out", state / f"{name}.log"
    with out_path.open("w", encoding="utf-8") as out, log_path.open("a", encoding="utf-8") as log:
        process = subprocess.Popen(
            args,
            cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=log,
            text=True,
            start_new_session=True,
        )
    return Proc(name, process, log_path, out_path)


def _ready_line(proc: Proc, *, prefix: str = "", timeout: float) -> str:
    """Wait for the first stdout line starting with ``prefix``; the rest of it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in proc.out_path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True):
            if line.endswith("\n") and line.startswith(prefix):
                return line[len(prefix) :]
        if not proc.alive():
            break
        time.sleep(0.1)
    proc.stop()
    raise StackError(f"{proc.name} did not become ready; last log lines:\n{proc.log_tail()}")


def azurite_binary() -> str:
    local = REPO / "node_modules" / ".bin" / "azurite-blob"
    found = str(local) if local.exists() else shutil.which("azurite-blob")
    if not found:
        raise StackError("azurite-blob not found: run scripts/setup.sh (it installs Azurite from npm)")
    return found


def start_azurite(state: Path, *, timeout: float = 30.0) -> Proc:
    """Azurite's blob service on a free port, keeping its data in ``state/azurite``."""
    port = free_port()
    args = [
        azurite_binary(), "--blobHost", "127.0.0.1", "--blobPort", str(port),
        "--location", str(state / "azurite"), "--skipApiVersionCheck", "--disableTelemetry", "--loose",
    ]  # fmt: skip
    (state / "azurite").mkdir(parents=True, exist_ok=True)
    proc = _spawn("azurite", args, state)
    endpoint = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
    proc.info = {
        "port": port,
        "blobEndpoint": endpoint,
        "connectionString": f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
        f"AccountKey={AZURITE_KEY};BlobEndpoint={endpoint};",
    }
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise StackError(f"azurite exited early:\n{proc.log_tail()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.stop()
    raise StackError("azurite did not accept connections in time")


def start_azuresim(state: Path, *, storage: str, latency_scale: float, timeout: float = 30.0) -> Proc:
    """azuresim with its state file and CA under ``state``; ``info`` holds base_url and ca_file."""
    args = [
        sys.executable, "-m", "azuresim", "--port", "0", "--state-file", str(state / "azuresim.json"),
        "--ca-out", str(state / "azuresim-ca.pem"), "--storage-connection-string", storage,
        "--latency-scale", str(latency_scale),
    ]  # fmt: skip
    proc = _spawn("azuresim", args, state)
    proc.info = json.loads(_ready_line(proc, prefix=SIM_READY, timeout=timeout))
    return proc


def start_devhost(
    state: Path, *, storage: str, env: dict[str, str], app_dir: Path = REPO, timeout: float = 90.0
) -> Proc:
    """devhost serving kiln's function_app over HTTPS; ``info`` is its ready line (baseUrl, caFile …)."""
    args = [
        sys.executable, "-m", "devhost", "serve", "--app-dir", str(app_dir),
        "--state-dir", str(state / "devhost"), "--https", "--port", "0", "--rpc-port", "0",
        "--storage-connection-string", storage,
    ]  # fmt: skip
    pythonpath = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    proc = _spawn("devhost", args, state, {**env, "PYTHONPATH": pythonpath})
    proc.info = json.loads("{" + _ready_line(proc, prefix="{", timeout=timeout))
    keys = json.loads((state / "devhost" / "keys.json").read_text())
    proc.info["functionKey"] = keys["functionKey"]
    return proc


def responds(url: str, *, ca_file: str | None = None, timeout: float = 10.0) -> bool:
    """Whether ``url`` gives any HTTP answer (an error status counts) within ``timeout`` seconds."""
    context = ssl.create_default_context(cafile=ca_file) if url.startswith("https") else None
    try:
        with urllib.request.urlopen(url, context=context, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


def wait_healthy(url: str, *, ca_file: str | None, timeout: float = 30.0) -> dict[str, Any]:
    """GET ``url`` until it answers 200; its JSON body."""
    context = ssl.create_default_context(cafile=ca_file) if url.startswith("https") else None
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, context=context, timeout=5) as resp:
                body = resp.read()
                return json.loads(body) if body else {}
        except (OSError, ValueError) as e:
            last = e
            time.sleep(0.2)
    raise StackError(f"{url} is not healthy: {last}")
