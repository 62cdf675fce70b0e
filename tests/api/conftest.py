"""Fixtures of the REST API tests: kiln composed over an in-memory document store and the fake Azure, its
functions called in-process; the live fixture runs the function app under devhost over Azurite."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import pytest

from shared.bootstrap import Kiln, Overrides, bootstrap, installed
from shared.settings import Settings
from shared.store import JsonStore
from tests.api.direct import DirectApi, app_functions
from tests.api.live import LiveKiln, start_live_kiln
from tests.fakes import FakeAzure, InMemoryDocuments
from tests.support.azurite import Azurite


@pytest.fixture
def documents() -> InMemoryDocuments:
    return InMemoryDocuments()


@pytest.fixture
def store(documents: InMemoryDocuments) -> JsonStore:
    return JsonStore(documents)


@pytest.fixture
def fake_azure() -> FakeAzure:
    """The Azure the service reaches (staging cleanup, logs, triggers): the stateful fakes."""
    return FakeAzure()


def compose(documents: InMemoryDocuments, azure: FakeAzure | None = None, **settings: object) -> Kiln:
    """kiln over the in-memory documents (and the fake Azure), lists paged by 3 unless said otherwise."""
    values: dict[str, object] = {"api_page_size": 3, **settings}
    return bootstrap(Settings(**values), overrides=Overrides(azure=azure, documents=documents))  # type: ignore[arg-type]


@pytest.fixture
def kiln(documents: InMemoryDocuments, fake_azure: FakeAzure) -> Iterator[Kiln]:
    """kiln composed for a test and installed as the process's root (what the functions call)."""
    with installed(compose(documents, fake_azure)) as composed:
        yield composed


@pytest.fixture
def api(kiln: Kiln) -> DirectApi:
    """The function app called in-process over the test's kiln."""
    return _direct_api()


@pytest.fixture(scope="session")
def live(azurite: Azurite) -> Iterator[LiveKiln]:
    """kiln's function app under devhost over HTTPS (lists paged by 2), shared by the session."""
    yield from start_live_kiln(azurite, page_size=2)


@functools.cache
def _direct_api() -> DirectApi:
    return DirectApi(app_functions())
