"""Fixtures of the REST API tests: a fresh store container per test on the session's Azurite."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator

import pytest

from shared.service import get_service
from shared.settings import get_settings
from shared.store import JsonStore, open_store
from tests.api.direct import DirectApi, app_functions
from tests.api.live import LiveKiln, start_live_kiln
from tests.fakes import FakeAzure
from tests.support.azurite import Azurite


@pytest.fixture
def container_name() -> str:
    return f"kiln{uuid.uuid4().hex[:20]}"


@pytest.fixture
def store(azurite: Azurite, container_name: str) -> Iterator[JsonStore]:
    yield open_store(connection_string=azurite.connection_string, container=container_name)


@pytest.fixture
def fake_azure(monkeypatch: pytest.MonkeyPatch) -> FakeAzure:
    """The Azure the service reaches (staging cleanup, logs): the stateful fakes, via the composition root."""
    fake = FakeAzure()
    monkeypatch.setattr("shared.bootstrap.bootstrap", lambda settings=None: fake)
    return fake


@pytest.fixture
def api(
    azurite: Azurite, container_name: str, monkeypatch: pytest.MonkeyPatch, fake_azure: FakeAzure
) -> Iterator[DirectApi]:
    """The function app called in-process, its store a fresh container, lists paged by 3."""
    monkeypatch.setenv("KILN_STORAGE_CONNECTION_STRING", azurite.connection_string)
    monkeypatch.setenv("KILN_STORE_CONTAINER", container_name)
    monkeypatch.setenv("KILN_API_PAGE_SIZE", "3")
    get_settings.cache_clear()
    get_service.cache_clear()
    yield _direct_api()
    get_settings.cache_clear()
    get_service.cache_clear()


@pytest.fixture(scope="session")
def live(azurite: Azurite) -> Iterator[LiveKiln]:
    """kiln's function app under devhost over HTTPS (lists paged by 2), shared by the session."""
    yield from start_live_kiln(azurite, page_size=2)


@functools.cache
def _direct_api() -> DirectApi:
    return DirectApi(app_functions())


def blob_snapshot(azurite: Azurite, container: str) -> dict[str, bytes]:
    """Every blob of the container with its content (to prove a request changed nothing)."""
    from azure.storage.blob import ContainerClient

    client = ContainerClient.from_connection_string(azurite.connection_string, container)
    if not client.exists():
        return {}
    return {b.name: client.download_blob(b.name).readall() for b in client.list_blobs()}
