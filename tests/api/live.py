"""kiln's function app under devhost over HTTPS, and the official ImageBuilderClient pointed at it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from azure.core.credentials import AccessToken
from azure.core.pipeline.policies import HeadersPolicy

from tests.support.azurite import Azurite
from tests.support.devhost import REPO, Devhost, start_devhost


class StaticToken:
    """A TokenCredential: the SDK insists on a bearer token (and therefore on TLS); kiln ignores it."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("kiln-test-token", int(time.time()) + 3600)


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


def start_live_kiln(azurite: Azurite, *, page_size: int = 2) -> Iterator[LiveKiln]:
    container = f"live{uuid.uuid4().hex[:20]}"
    env = {
        "KILN_STORAGE_CONNECTION_STRING": azurite.connection_string,
        "KILN_STORE_CONTAINER": container,
        "KILN_API_PAGE_SIZE": str(page_size),
    }
    host = start_devhost(REPO, env=env, https=True)
    try:
        yield LiveKiln(host, container)
    finally:
        host.stop()
