"""kiln's function app under devhost over HTTPS, and the official ImageBuilderClient pointed at it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from azure.core.pipeline.policies import HeadersPolicy

from shared.azure.credentials import StaticTokenCredential as StaticToken  # kiln ignores the token
from shared.bootstrap import bootstrap
from shared.settings import Settings
from shared.store import JsonStore
from tests.support.azuresim import AzureSim
from tests.support.azurite import Azurite
from tests.support.devhost import REPO, Devhost, start_devhost


@dataclass
class LiveKiln:
    devhost: Devhost
    container: str

    def client(self, subscription: str, *, key: str | None = None) -> Any:
        """ImageBuilderClient against devhost, passing the function key with a headers policy."""
        from azure.mgmt.imagebuilder import ImageBuilderClient

        return ImageBuilderClient(
            StaticToken(),
            subscription,
            base_url=self.devhost.base_url,
            connection_verify=self.devhost.ca_file,
            headers_policy=HeadersPolicy({"x-functions-key": key or self.devhost.function_key}),
            polling_interval=0,
        )


def start_live_kiln(
    azurite: Azurite,
    *,
    page_size: int = 2,
    app_dir: Path = REPO,
    sim: AzureSim | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[LiveKiln]:
    """A function app (kiln's, or a test app) under devhost over HTTPS, on its own store container; in sim
    mode against ``sim`` when one is given."""
    container = f"live{uuid.uuid4().hex[:20]}"
    settings = {
        "KILN_STORAGE_CONNECTION_STRING": azurite.connection_string,
        "KILN_STORE_CONTAINER": container,
        "KILN_API_PAGE_SIZE": str(page_size),
    }
    if sim is not None:
        settings.update(
            KILN_AZURE_MODE="sim",
            KILN_SIM_BASE_URL=sim.base_url,
            KILN_SIM_CA_FILE=sim.ca_file,
            KILN_TIMING_PROFILE="local",
        )
    host = start_devhost(app_dir, env={**settings, **(env or {})}, https=True)
    try:
        yield LiveKiln(host, container)
    finally:
        host.stop()


def blob_snapshot(azurite: Azurite, container: str) -> dict[str, bytes]:
    """Every blob of the container with its content (to prove a request changed nothing)."""
    from azure.storage.blob import ContainerClient

    client = ContainerClient.from_connection_string(azurite.connection_string, container)
    if not client.exists():
        return {}
    return {b.name: client.download_blob(b.name).readall() for b in client.list_blobs()}


def azurite_store(azurite: Azurite, container: str) -> JsonStore:
    """kiln's store over a container of the session's Azurite (what devhost's kiln writes to)."""
    settings = Settings(storage_connection_string=azurite.connection_string, store_container=container)
    return bootstrap(settings).store
