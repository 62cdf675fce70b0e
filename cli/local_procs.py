"""The processes of the local stack, and the one way kiln's tools start them: Azurite (storage), azuresim
(Azure, simulated) and devhost (the Functions host running kiln's ``function_app``).

The local stack, the tests and the benchmarks all start them through here. Each child runs in its own session
(Ctrl-C reaches only us; we stop the children in order), with stdout in ``<state>/<name>.out`` (its ready
line) and stderr in ``<state>/<name>.log``, both truncated at each start.
"""

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
    """One child process and the files its output goes to; ``info`` is what its ready line said."""

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
                self.kill()

    def kill(self) -> None:
        """SIGKILL: the crash a restart must survive."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def log_lines(self) -> list[str]:
        """What the process wrote on stderr so far."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return []

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_lines()[-lines:])


def spawn(
    name: str, args: list[str], state: Path, env: dict[str, str] | None = None, *, append: bool = False
) -> Proc:
    """Start ``args`` as the child ``name`` in its own session, its output in ``state`` (the log kept, not
    truncated, with ``append``: a restart on the same state)."""
    state.mkdir(parents=True, exist_ok=True)
    out_path, log_path = state / f"{name}.out", state / f"{name}.log"
    with (
        out_path.open("w", encoding="utf-8") as out,
        log_path.open("a" if append else "w", encoding="utf-8") as log,
    ):
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


def ready_line(proc: Proc, *, prefix: str = "", timeout: float) -> str:
    """Wait for the first stdout line starting with ``prefix``; the rest of it. The child is stopped (and
    the error names its last log lines) when none comes in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in proc.out_path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True):
            if line.endswith("\n") and line.startswith(prefix):
                return line[len(prefix) :]
        if not proc.alive():
            break
        time.sleep(0.05)
    proc.stop()
    raise StackError(f"{proc.name} did not become ready; last log lines:\n{proc.log_tail()}")


def azurite_binary() -> str:
    local = REPO / "node_modules" / ".bin" / "azurite-blob"
    found = str(local) if local.exists() else shutil.which("azurite-blob")
    if not found:
        raise StackError("azurite-blob not found: run scripts/setup.sh (it installs Azurite from npm)")
    return found


def start_azurite(
    state: Path, *, in_memory: bool = False, port: int | None = None, timeout: float = 30.0
) -> Proc:
    """Azurite's blob service on a free port, its data in ``state/azurite`` (or in memory)."""
    port = port or free_port()
    args = [
        azurite_binary(), "--blobHost", "127.0.0.1", "--blobPort", str(port),
        "--skipApiVersionCheck", "--disableTelemetry", "--loose",
    ]  # fmt: skip
    if in_memory:
        args.append("--inMemoryPersistence")  # Azurite cannot combine it with --location
    else:
        (state / "azurite").mkdir(parents=True, exist_ok=True)
        args += ["--location", str(state / "azurite")]
    proc = spawn("azurite", args, state)
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


def start_azuresim(
    state: Path,
    *,
    storage: str | None,
    latency_scale: float,
    state_file: Path | None = None,
    port: int = 0,
    extra_args: list[str] | None = None,
    timeout: float = 30.0,
) -> Proc:
    """azuresim with its CA under ``state`` (and its state file, unless ``state_file`` says where);
    ``info`` holds base_url, ca_file and port."""
    args = [
        sys.executable, "-m", "azuresim", "--port", str(port), "--ca-out", str(state / "azuresim-ca.pem"),
        "--latency-scale", str(latency_scale),
    ]  # fmt: skip
    if state_file is not None:
        args += ["--state-file", str(state_file)]
    if storage:
        args += ["--storage-connection-string", storage]
    proc = spawn("azuresim", args + (extra_args or []), state)
    proc.info = json.loads(ready_line(proc, prefix=SIM_READY, timeout=timeout))
    return proc


def start_devhost(
    state: Path,
    *,
    storage: str | None,
    env: dict[str, str],
    app_dir: Path = REPO,
    https: bool = True,
    port: int = 0,
    extra_args: list[str] | None = None,
    append: bool = False,
    timeout: float = 90.0,
) -> Proc:
    """devhost serving ``app_dir`` with its state in ``state/devhost``; ``info`` is its ready line (baseUrl,
    rpcUrl with the durable system key, caFile …) plus the function key. ``append`` keeps the log of an
    earlier start (a restart)."""
    args = [
        sys.executable, "-m", "devhost", "serve", "--app-dir", str(app_dir),
        "--state-dir", str(state / "devhost"), "--port", str(port), "--rpc-port", "0",
    ]  # fmt: skip
    if https:
        args.append("--https")
    if storage:
        args += ["--storage-connection-string", storage]
    pythonpath = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    proc = spawn(
        "devhost", args + (extra_args or []), state, {**env, "PYTHONPATH": pythonpath}, append=append
    )
    proc.info = json.loads("{" + ready_line(proc, prefix="{", timeout=timeout))
    keys = json.loads((state / "devhost" / "keys.json").read_text())
    proc.info["functionKey"] = keys["functionKey"]
    # devhost's RPC listener asks for the durable system key; it rides in the path, as the SDK sends it.
    proc.info["rpcUrl"] = f"{proc.info['rpcUrl'].rstrip('/')}/{keys['systemKeys']['durabletask_extension']}"
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
