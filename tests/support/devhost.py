"""devhost (``python -m devhost serve``) for tests and benchmarks, any app directory, started as the local
stack starts it (``cli.local_procs``): its ready line on stdout, its JSON log lines in its state folder."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cli.local_procs import REPO, Proc, StackError, ready_line, spawn
from tests.support.tempdirs import new_dir

__all__ = ["REPO", "Devhost", "DevhostError", "start_devhost"]


class DevhostError(RuntimeError):
    """devhost exited or did not become ready."""


class Devhost:
    """A running devhost; ``stderr_lines`` are the JSON log lines it wrote so far."""

    def __init__(
        self, app_dir: Path, args: list[str], env: dict[str, str], state_dir: Path, ready_timeout: float
    ) -> None:
        self.app_dir = app_dir
        self.state_dir = state_dir
        self._args = args
        self._env = env
        self._ready_timeout = ready_timeout
        self.ready: dict[str, Any] = {}
        self.proc: Proc | None = None
        self._launch(append=False)

    # -- public surface used by other areas' tests ------------------------------------------------
    @property
    def base_url(self) -> str:
        return str(self.ready["baseUrl"])

    @property
    def rpc_url(self) -> str:
        """The RPC listener with the durable system key in the path, as the Durable SDK calls it."""
        return f"{str(self.ready['rpcUrl']).rstrip('/')}/{self.system_key('durabletask_extension')}"

    @property
    def bare_rpc_url(self) -> str:
        return str(self.ready["rpcUrl"])

    @property
    def ca_file(self) -> str | None:
        return self.ready.get("caFile")

    @property
    def process(self) -> Any:
        return self.proc.process if self.proc else None

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

    @property
    def stderr_lines(self) -> list[str]:
        return self.proc.log_lines() if self.proc else []

    def log_records(self) -> list[dict[str, Any]]:
        """The JSON lines devhost wrote on stderr so far."""
        records = []
        for line in self.stderr_lines:
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
        return records

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM and wait (SIGKILL if it does not exit)."""
        if self.proc is not None:
            self.proc.stop(timeout)

    def kill(self) -> None:
        """SIGKILL: the crash the restart tests simulate."""
        if self.proc is not None:
            self.proc.kill()

    def restart(self) -> None:
        """Start again on the same state dir and port (after ``stop`` or ``kill``); the log is kept."""
        self.stop()
        port = self.base_url.rsplit(":", 1)[1]
        self._args = _with_option(self._args, "--port", port)
        self._launch(append=True)

    def __enter__(self) -> Devhost:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _launch(self, *, append: bool) -> None:
        args = [sys.executable, "-m", "devhost", "serve", *self._args]
        self.proc = spawn("devhost", args, self.state_dir, self._env, append=append)
        try:
            self.ready = json.loads("{" + ready_line(self.proc, prefix="{", timeout=self._ready_timeout))
        except StackError as exc:
            raise DevhostError(str(exc)) from None


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
    state = Path(state_dir) if state_dir else new_dir("devhost-state-")
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
    full_env = {**(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return Devhost(Path(app_dir), args, full_env, state, ready_timeout)


def _with_option(args: list[str], flag: str, value: str) -> list[str]:
    out = list(args)
    index = out.index(flag)
    out[index + 1] = value
    return out
