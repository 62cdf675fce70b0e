"""The local stack as ``bench/build.py`` drives it: ``cli.local_stack.LocalStack`` plus azuresim's control
plane, runs started through kiln's API (or, for the serial baseline, with ``distribution: serial``), and
devhost's Durable status API and execution log for the figures."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from cli.client import KilnClient
from cli.local_stack import LocalStack
from shared.bootstrap import bootstrap, timing_policy
from shared.models.durable import BUILD_IMAGE
from shared.service.run_control import RunService
from shared.settings import Settings
from shared.store import TemplateRef

RUN_ID_HEADER = "x-kiln-run-id"
DONE = frozenset({"Completed", "Failed", "Terminated", "Canceled"})


class BenchStack(LocalStack):
    """A started, seeded local stack with the calls the build benchmark makes."""

    def __init__(
        self, state_dir: Path, *, latency_scale: float, timing: dict[str, Any] | None = None
    ) -> None:
        super().__init__(state_dir, latency_scale=latency_scale)
        self.timing = timing or {}  # TimingPolicy fields that override KILN_TIMING_PROFILE=local's
        self.http = requests.Session()

    def __enter__(self) -> BenchStack:
        self.start(log=lambda *_: None)
        try:
            self.seed()
        except BaseException:
            self.stop()
            raise
        self.client = KilnClient(self.connection(), timeout=120)
        self.rpc = self.proc("devhost").info["rpcUrl"].rstrip("/") + "/durabletask"
        return self

    # -- azuresim -----------------------------------------------------------------------------------
    def sim(self, method: str, path: str, body: Any) -> Any:
        info = self.proc("azuresim").info
        resp = self.http.request(
            method, info["base_url"] + path, json=body, verify=info["ca_file"], timeout=30
        )
        resp.raise_for_status()
        return resp.json() if resp.content else None

    def configure(self, ops: dict[str, float], customizer_units: float, deprovision_units: float) -> None:
        """Set the latency table and how long customizers and the deprovisioning script "run"."""
        self.sim("PUT", "/_sim/latency", {"scale": self.latency_scale, "ops": ops})
        # Matched against the command text: kiln base64-encodes the user's script but names the step in a
        # comment ("# kiln: customize step 0 'bench-customizer-0' (Shell)"); deprovisioning is plain text.
        rules = [
            {"pattern": "'bench-customizer-", "durationOps": customizer_units},
            {"pattern": "deprovision", "durationOps": deprovision_units},
        ]
        self.sim("PUT", "/_sim/runcommand-outcomes", rules)

    # -- kiln's API ---------------------------------------------------------------------------------
    def create_templates(self, bodies: dict[str, dict[str, Any]]) -> None:
        def create(item: tuple[str, dict[str, Any]]) -> None:
            name, body = item
            resp = self.client.request("PUT", self.client.template_path(name), json=body)
            status = self.client.wait_operation(resp, interval=0.2)
            if status.get("status") != "Succeeded":
                raise RuntimeError(f"template {name} was not created: {status}")

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(create, bodies.items()))

    def start_run(self, name: str, *, serial: bool = False) -> str:
        """``POST …/run``. The serial baseline, and every run when ``timing`` overrides the profile, is
        reserved as that function does and started through devhost's Durable API with the changed input."""
        if not serial and not self.timing:
            return self.client.start_run(name).headers[RUN_ID_HEADER]
        conn = self.connection()
        storage = self.kiln_settings()["KILN_STORAGE_CONNECTION_STRING"]
        settings = Settings(
            storage_connection_string=storage,
            store_container="kiln",
            timing_profile="local",
            time_scale=self.latency_scale,
        )
        kiln = bootstrap(settings)
        timing = timing_policy(settings).model_copy(update=self.timing)
        runs = RunService(kiln.store, operations=kiln.service.operations, page_size=100, timing=timing)
        start = runs.begin(TemplateRef(conn.subscription, conn.resource_group or "", name))
        body = json.dumps({**start.input, "distribution": "serial" if serial else "parallel"})
        url = f"{self.rpc}/orchestrators/{BUILD_IMAGE.name}/{start.run_id}"
        resp = self.http.post(url, json=body, timeout=30)
        resp.raise_for_status()
        return start.run_id

    # -- devhost ------------------------------------------------------------------------------------
    def status(self, instance_id: str, **query: str) -> dict[str, Any]:
        resp = self.http.get(f"{self.rpc}/instances/{instance_id}", params=query, timeout=60)
        resp.raise_for_status()
        body: dict[str, Any] = resp.json()
        return body

    def wait_all(self, run_ids: list[str], *, timeout: float) -> list[dict[str, Any]]:
        """Poll each run's orchestration until every one has ended; their final statuses."""
        final: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + timeout
        while len(final) < len(run_ids):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(run_ids) - len(final)} runs still going after {timeout:.0f}s")
            for run_id in run_ids:
                if run_id not in final:
                    status = self.status(run_id)
                    if status.get("runtimeStatus") in DONE:
                        final[run_id] = status
            time.sleep(0.5)
        return [final[r] for r in run_ids]

    def history_events(self, run_id: str) -> int:
        """History events of the run's orchestration (and of any sub-orchestration, by id prefix)."""
        return sum(self.history_breakdown(run_id).values())

    def history_breakdown(self, run_id: str) -> Counter[str]:
        """The run's history events by type (TaskScheduled: activity calls; OrchestratorStarted: episodes)."""
        resp = self.http.get(f"{self.rpc}/instances", params={"instanceIdPrefix": run_id}, timeout=60)
        resp.raise_for_status()
        counts: Counter[str] = Counter()
        for i in [i["instanceId"] for i in resp.json()]:
            for event in self.status(i, showHistory="true").get("historyEvents") or []:
                counts[str(event.get("EventType"))] += 1
        return counts

    def replay_cpu_ms(self, run_ids: list[str]) -> list[float]:
        """Per run: the sum of ``cpuMs`` (the replaying thread's CPU; ``durationMs`` in older logs) of the
        orchestrator executions of its instances (devhost's log)."""
        totals = dict.fromkeys(run_ids, 0.0)
        for line in self.proc("devhost").log_path.read_text(errors="replace").splitlines():
            if not line.startswith("{") or '"orchestrator"' not in line:
                continue
            entry = json.loads(line)
            run_id = str(entry.get("instanceId", "")).split(":", 1)[0]
            if entry.get("kind") == "orchestrator" and run_id in totals:
                totals[run_id] += float(entry.get("cpuMs", entry["durationMs"]))
        return [totals[r] for r in run_ids]

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds (user + system) each process of the stack has used so far."""
        used = {}
        for proc in self.procs:
            fields = Path(f"/proc/{proc.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            used[proc.name] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return used

    def devhost_peak_rss_mib(self) -> float:
        pid = self.proc("devhost").process.pid
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")
