"""Run ``python -m devhost serve`` as a subprocess for tests (any app directory)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


class DevhostError(RuntimeError):
    """devhost exited or did not become ready."""


class Devhost:
    """A running devhost subprocess; ``stderr_lines`` collects its JSON log lines."""

    def __init__(
        self, app_dir: Path, args: list[str], env: dict[str, str], state_dir: Path, ready_timeout: float
    ) -> None:
        self.app_dir = app_dir
        self.state_dir = state_dir
        self._args = args
        self._env = env
        self._ready_timeout = ready_timeout
        self.stderr_lines: list[str] = []
        self.ready: dict[str, Any] = {}
        self.process: subprocess.Popen[str] | None = None
        self._launch()

    # -- public surface used by other areas' tests ------------------------------------------------
    @property
    def base_url(self) -> str:
        return str(self.ready["baseUrl"])

    @property
    def rpc_url(self) -> str:
        return str(self.ready["rpcUrl"])

    @property
    def ca_file(self) -> str | None:
        return self.ready.get("caFile")

    @property
    def keys(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.state_dir / "keys.json").read_text())
        return data

    @property
    def function_key(self) -> str:
        return str(self.keys["functionKey"])

    @property
    def master_key(self) -> str:
        return str(self.keys["masterKey"])

    def system_key(self, name: str) -> str:
        return str(self.keys["systemKeys"][name])

    def log_records(self) -> list[dict[str, Any]]:
        """The JSON lines devhost wrote on stderr so far."""
        records = []
        for line in list(self.stderr_lines):
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
        return records

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM and wait (SIGKILL if it does not exit)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL: the crash the restart tests simulate."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def restart(self) -> None:
        """Start again on the same state dir and port (after ``stop`` or ``kill``)."""
        self.stop()
        port = self.base_url.rsplit(":", 1)[1]
        self._args = _with_option(self._args, "--port", port)
        self._launch()

    def __enter__(self) -> Devhost:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- internals --------------------------------------------------------------------------------
    def _launch(self) -> None:
        cmd = [sys.executable, "-m", "devhost", "serve", *self._args]
        self.process = subprocess.Popen(
            cmd, cwd=REPO, env=self._env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        threading.Thread(target=self._pump_stderr, args=(self.process,), daemon=True).start()
        line = _read_line(self.process, self._ready_timeout)
        if not line:
            self.kill()
            tail = "\n".join(self.stderr_lines[-30:])
            raise DevhostError(f"devhost did not become ready:\n{tail}")
        self.ready = json.loads(line)

    def _pump_stderr(self, process: subprocess.Popen[str]) -> None:
        assert process.stderr is not None
        for line in process.stderr:
            self.stderr_lines.append(line.rstrip("\n"))


def start_devhost(
    app_dir: Path | str,
    *,
    env: Mapping[str, str] | None = None,
    https: bool = False,
    state_dir: Path | str | None = None,
    function_key: str | None = None,
    master_key: str | None = None,
    activity_workers: int | None = None,
    orchestration_workers: int | None = None,
    storage_connection_string: str | None = None,
    extra_args: list[str] | None = None,
    ready_timeout: float = 60.0,
) -> Devhost:
    """Start devhost on free ports for ``app_dir``; the caller stops it (or uses ``with``)."""
    state = Path(state_dir) if state_dir else Path(tempfile.mkdtemp(prefix="devhost-state-"))
    args = ["--app-dir", str(app_dir), "--state-dir", str(state), "--port", "0", "--rpc-port", "0"]
    options = {
        "--function-key": function_key,
        "--master-key": master_key,
        "--activity-workers": activity_workers,
        "--orchestration-workers": orchestration_workers,
        "--storage-connection-string": storage_connection_string,
    }
    for flag, value in options.items():
        if value is not None:
            args += [flag, str(value)]
    if https:
        args.append("--https")
    args += extra_args or []
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), full_env.get("PYTHONPATH")]))
    return Devhost(Path(app_dir), args, full_env, state, ready_timeout)


def _with_option(args: list[str], flag: str, value: str) -> list[str]:
    out = list(args)
    index = out.index(flag)
    out[index + 1] = value
    return out


def _read_line(process: subprocess.Popen[str], timeout: float) -> str | None:
    """The first stdout line (the ready JSON), or None on exit/timeout; later stdout is drained."""
    first: list[str] = []
    arrived = threading.Event()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if not first:
                first.append(line)
                arrived.set()
        arrived.set()

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not arrived.wait(0.05) and time.monotonic() < deadline and process.poll() is None:
        pass
    return first[0] if first and first[0].strip() else None
