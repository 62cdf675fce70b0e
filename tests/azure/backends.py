"""The backends the port-level contract suite runs on: the in-memory fake, azuresim, and real Azure.

Each backend gives the same ports (``.ports``) plus the few test-only levers a backend has (scripted
run-command outcomes, the blob endpoint of a staging account). Levers a backend cannot offer (real Azure
cannot be told how a script ends) make the test skip there.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

from shared.bootstrap import AzurePorts, bootstrap
from shared.settings import Settings
from tests.fakes import FakeAzure, ScriptOutcome
from tests.support.azuresim import AzureSim
from tests.support.azurite import Azurite

T = TypeVar("T")


@dataclass
class Backend:
    name: str
    ports: Any  # AzurePorts or FakeAzure: the same attributes
    location: str = "westeurope"
    sim: AzureSim | None = None
    azurite: Azurite | None = None
    created_groups: list[str] = field(default_factory=list)

    def new_group(self, prefix: str = "kiln-contract") -> str:
        """A fresh resource group (created, tagged, deleted at teardown)."""
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.ports.resource_groups.create(name=name, location=self.location, tags={"kiln.contract": "1"})
        self.created_groups.append(name)
        return name

    def script_outcome(self, *, pattern: str, exit_code: int, stdout: str, stderr: str = "") -> None:
        if isinstance(self.ports, FakeAzure):
            self.ports.run_commands.outcomes.insert(0, ScriptOutcome(pattern, exit_code, stdout, stderr))
        elif self.sim is not None:
            rule = {"pattern": pattern, "exitCode": exit_code, "stdout": stdout, "stderr": stderr}
            self.sim.control("PUT", "/_sim/runcommand-outcomes", [rule])
        else:
            pytest.skip("real Azure runs scripts for real: outcomes cannot be scripted")

    def slow_down(self) -> None:
        """Make long operations take long enough to be seen in progress (azuresim's latency model)."""
        if self.sim is not None:
            self.sim.control("PUT", "/_sim/latency", {"scale": 0.005})

    def fail_replication(self, region: str) -> None:
        """Make the next gallery image version fail to replicate to ``region``."""
        if isinstance(self.ports, FakeAzure):
            self.ports.galleries.failing_regions.add(region)
        elif self.sim is not None:
            self.sim.control(
                "POST", "/_sim/faults", {"method": "PUT", "path": f"/_replication/{region}$", "status": 500}
            )
        else:
            pytest.skip("a region's replication cannot be made to fail in real Azure")

    def blob_account_url(self, account_name: str | None = None) -> str:
        """The blob endpoint of a storage account the build created, or of the suite's own when None."""
        if self.azurite is not None:
            return self.azurite.blob_endpoint  # azuresim's storage accounts are Azurite's account
        if account_name is None and self.name == "azure":
            url = os.environ.get("KILN_CONTRACT_STORAGE_URL")
            if not url:
                pytest.skip("set KILN_CONTRACT_STORAGE_URL to run the blob contract against Azure")
            return url
        return f"https://{account_name or 'kilnfake'}.blob.core.windows.net"

    def fault(self, rule: dict[str, Any]) -> None:
        if self.sim is None:
            pytest.skip("fault injection over HTTP needs azuresim")
        self.sim.control("POST", "/_sim/faults", rule)

    def cleanup(self) -> None:
        if self.sim is not None:
            self.sim.control("DELETE", "/_sim/faults")
            self.sim.control("PUT", "/_sim/latency", {"scale": 0.0})
        for name in self.created_groups:
            self.ports.resource_groups.begin_delete(name=name)


def sim_ports(sim: AzureSim, azurite: Azurite, **overrides: Any) -> AzurePorts:
    values: dict[str, Any] = {
        "azure_mode": "sim",
        "sim_base_url": sim.base_url,
        "sim_ca_file": sim.ca_file,
        "lro_poll_seconds": 0.05,
        # The field has an alias (the Functions host's name), so it is set by its alias.
        "KILN_STORAGE_CONNECTION_STRING": azurite.connection_string,
    }
    settings = Settings(**{**values, **overrides})
    return bootstrap(settings).azure


def azure_ports() -> AzurePorts:
    """Real Azure, from the environment (``KILN_SUBSCRIPTION_ID`` … as the function app reads them)."""
    return bootstrap(Settings(azure_mode="azure")).azure


def azure_configured() -> bool:
    return os.environ.get("KILN_AZURE_CONTRACT") == "1" and bool(os.environ.get("KILN_SUBSCRIPTION_ID"))


def poll(
    read: Callable[[], T], done: Callable[[T], bool], *, timeout: float = 60.0, interval: float = 0.05
) -> T:
    """Read until ``done`` holds, as the orchestrator's durable-timer loop does; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still not done after {timeout}s: {value!r}")
        time.sleep(interval)
