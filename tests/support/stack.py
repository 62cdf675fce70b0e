"""The whole local stack for end-to-end tests: Azurite + azuresim + devhost serving kiln's ``function_app``.

``KilnStack`` is ``cli.local_stack.LocalStack`` (reused, not forked) on a temporary state directory, plus what
tests need: the REST API through ``cli.client.KilnClient``, azuresim's control plane (inventory, request log,
fault rules, run-command outcomes), the Durable status API with history, a SIGKILL + restart of devhost on the
same state, and an HTTPS artifact server on 127.0.0.1 whose CA devhost trusts (``SSL_CERT_FILE``), so File
customizers and scriptUris download something real without leaving this machine.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cli.client import KilnClient
from cli.local_artifacts import ArtifactServer
from cli.local_procs import REPO, start_devhost, wait_healthy
from cli.local_stack import LocalStack
from tests.support.sim_control import SimControl

TERMINAL = frozenset({"Succeeded", "PartiallySucceeded", "Failed", "Canceled"})


class KilnStack(LocalStack, SimControl):
    """A started, seeded local stack with the helpers the e2e tests use."""

    def __init__(self, state_dir: Path, *, latency_scale: float = 0.001, compute: str = "sim") -> None:
        super().__init__(state_dir, latency_scale=latency_scale, app_dir=REPO, compute=compute)
        self._artifacts: ArtifactServer | None = None
        self._client: KilnClient | None = None

    @property
    def artifacts(self) -> ArtifactServer:
        """The HTTPS artifact server on 127.0.0.1 (started with the stack) whose CA devhost trusts."""
        assert self._artifacts is not None, "the stack is not started"
        return self._artifacts

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self, *, log: Any = None) -> KilnStack:
        self._artifacts = ArtifactServer(self.state / "artifacts")
        try:
            super().start(log=log or (lambda _line: None))
            self.seed()
        except BaseException:
            self.artifacts.stop()
            raise
        return self

    def stop(self) -> None:
        super().stop()
        self.artifacts.stop()

    def kiln_settings(self) -> dict[str, str]:
        # devhost's default TLS context (the artifact fetcher's) trusts the artifact server's CA.
        return {**super().kiln_settings(), "SSL_CERT_FILE": str(self.artifacts.bundle)}

    def kill_devhost(self) -> None:
        """SIGKILL devhost: the crash a restart must survive."""
        self.proc("devhost").kill()

    def restart_devhost(self) -> None:
        """Start devhost again on the same state directory (its history, keys and TLS material)."""
        old = self.proc("devhost")
        if old.alive():
            old.stop()
        storage = self.proc("azurite").info["connectionString"]
        new = start_devhost(
            self.state, storage=storage, env=self.kiln_settings(), app_dir=self.app_dir, append=True
        )
        self.procs[self.procs.index(old)] = new
        wait_healthy(new.info["baseUrl"] + "/healthz", ca_file=new.info.get("caFile"))
        self._client = None
        self.write_profile()

    # -- kiln's REST API --------------------------------------------------------------------------
    @property
    def client(self) -> KilnClient:
        if self._client is None:
            self._client = KilnClient(self.connection())
        return self._client

    def create_template(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """PUT a template and wait for its operation; the template as kiln shows it."""
        resp = self.client.request("PUT", self.client.template_path(name), json=body)
        status = self.client.wait_operation(resp, interval=0.2, timeout=60)
        assert status.get("status") == "Succeeded", f"template {name} not created: {status}"
        template: dict[str, Any] = self.client.get_template(name)
        return template

    def start_run(self, name: str) -> str:
        """POST …/run; the id of the run it started (the one run not listed before)."""
        known = {r["name"] for r in self.client.list_runs(name)}
        resp = self.client.start_run(name)
        assert resp.status_code == 202, f"POST run of {name}: {resp.status_code} {resp.text}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            fresh = [str(r["name"]) for r in self.client.list_runs(name) if r["name"] not in known]
            if fresh:
                return fresh[0]
            time.sleep(0.2)
        raise AssertionError(f"the run of {name} was accepted but is not listed")

    def run_doc(self, name: str, run_id: str) -> dict[str, Any]:
        doc: dict[str, Any] = self.client.get_run(name, run_id)
        return doc

    def wait_run(self, name: str, run_id: str, *, timeout: float = 300.0) -> dict[str, Any]:
        """Poll the run document until its runState is terminal; that document."""
        return self.wait_for(
            name, run_id, lambda p: p["runState"] in TERMINAL, timeout=timeout, what="a terminal runState"
        )

    def wait_phase(self, name: str, run_id: str, phase: str, *, timeout: float = 180.0) -> dict[str, Any]:
        """Wait until the run is in ``phase`` (the last phase entered); the run document."""

        def entered(props: dict[str, Any]) -> bool:
            if props["runState"] in TERMINAL:
                raise AssertionError(
                    f"run {run_id} ended before {phase}: {props['runState']} {props['message']}"
                )
            phases = props.get("phases") or []
            return bool(phases) and phases[-1]["phase"] == phase

        return self.wait_for(name, run_id, entered, timeout=timeout, what=f"phase {phase}")

    def wait_for(
        self,
        name: str,
        run_id: str,
        ready: Callable[[dict[str, Any]], bool],
        *,
        timeout: float,
        what: str,
        interval: float = 0.5,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        doc: dict[str, Any] = {}
        while time.monotonic() < deadline:
            doc = self.run_doc(name, run_id)
            if ready(doc["properties"]):
                return doc
            time.sleep(interval)
        props = doc.get("properties", {})
        raise AssertionError(
            f"run {run_id} of {name} did not reach {what} in {timeout:.0f}s: {props.get('runState')} "
            f"{props.get('runSubState')} phases={[p['phase'] for p in props.get('phases') or []]} "
            f"message={props.get('message')!r}"
        )

    def run_outputs(self, name: str) -> dict[str, dict[str, Any]]:
        return {o["name"]: o for o in self.client.run_outputs(name)}

    # -- Durable ----------------------------------------------------------------------------------
    def durable_status(self, instance_id: str, *, history: bool = False) -> dict[str, Any]:
        """devhost's Durable status of one instance (with its input; with history and outputs if asked)."""
        rpc = self.proc("devhost").info["rpcUrl"].rstrip("/")
        flags = "showInput=true" + ("&showHistory=true&showHistoryOutput=true" if history else "")
        url = f"{rpc}/durabletask/instances/{urllib.parse.quote(instance_id, safe='')}?{flags}"
        with urllib.request.urlopen(url, timeout=30) as resp:
            status: dict[str, Any] = json.loads(resp.read())
        return status

    def durable_histories(self, run_id: str) -> list[dict[str, Any]]:
        """Status with history, input and outputs of the run's orchestration and its sub-orchestrations."""
        rpc = self.proc("devhost").info["rpcUrl"].rstrip("/")
        query = f"{rpc}/durabletask/instances?instanceIdPrefix={run_id}&top=1000"
        with urllib.request.urlopen(query, timeout=30) as resp:
            found = json.loads(resp.read())
        ids = [i["instanceId"] for i in (found if isinstance(found, list) else found.get("value", []))]
        return [self.durable_status(iid, history=True) for iid in ids]


def start_stack(state_dir: Path) -> KilnStack:
    """A started, seeded stack; the caller stops it."""
    return KilnStack(state_dir).start()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KilnStack]:
    """A started, seeded stack for one test module, on its own state directory (removed by pytest)."""
    running = start_stack(tmp_path_factory.mktemp("stack"))
    try:
        yield running
    finally:
        running.stop()
