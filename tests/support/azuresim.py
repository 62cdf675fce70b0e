"""azuresim for tests and benchmarks, started as the local stack starts it (``cli.local_procs``), and a
fixed-token credential."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from azure.core.exceptions import HttpResponseError
from azure.keyvault.secrets import SecretClient

from cli.local_procs import Proc
from cli.local_procs import start_azuresim as start_azuresim_proc
from shared.azure.credentials import StaticTokenCredential
from tests.support.tempdirs import new_dir

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

    proc: Proc
    state_file: Path | None = None

    @property
    def process(self) -> subprocess.Popen[str]:
        return self.proc.process

    @property
    def base_url(self) -> str:
        return str(self.proc.info["base_url"])

    @property
    def ca_file(self) -> str:
        return str(self.proc.info["ca_file"])

    @property
    def port(self) -> int:
        return int(self.proc.info["port"])

    @property
    def stderr_path(self) -> Path:
        return self.proc.log_path

    def arm(self, method: str, path: str, body: Any = None, *, api_version: str = "2022-04-01") -> Any:
        """One ARM request as the subscription's owner; the parsed answer (None when empty)."""
        import ssl

        data = json.dumps(body).encode() if body is not None else None
        sep = "&" if "?" in path else "?"
        req = urllib.request.Request(
            f"{self.base_url}{path}{sep}api-version={api_version}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Authorization": "Bearer azuresim-token"},
        )
        context = ssl.create_default_context(cafile=self.ca_file)
        with urllib.request.urlopen(req, context=context, timeout=30) as resp:
            text = resp.read()
        return json.loads(text) if text else None

    def grant(self, identity_id: str, role: str, scope: str) -> str:
        """Assign the built-in ``role`` (azuresim.rbac.BUILT_IN) to an identity at ``scope``; the
        assignment's id."""
        import uuid

        from azuresim.rbac import BUILT_IN

        principal = self.arm("GET", identity_id, api_version="2023-01-31")["properties"]["principalId"]
        sub = identity_id.split("/")[2]
        definition = (
            f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{BUILT_IN[role][0]}"
        )
        body = {"properties": {"roleDefinitionId": definition, "principalId": principal}}
        path = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
        self.arm("PUT", path, body)
        return path

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
        self.proc.stop(timeout=10)

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
    proc = start_azuresim_proc(
        new_dir("azuresim-test-"),
        storage=storage_connection_string,
        latency_scale=latency_scale,
        state_file=state_file,
        port=port,
        extra_args=extra_args,
        timeout=timeout,
    )
    return AzureSim(proc, state_file)
