"""The document store's contract, run over the in-memory fake and over Azurite so the two cannot drift:
conditional creates, ETag-guarded updates and deletes, paged listing with continuation tokens."""

from __future__ import annotations

import functools
import re
import threading
import uuid
from collections.abc import Iterator

import pytest

from shared.bootstrap import bootstrap
from shared.settings import Settings
from shared.store import (
    DocumentBlobs,
    DocumentExists,
    DocumentMissing,
    EtagMismatch,
    JsonStore,
    TemplateRef,
    keys,
)
from tests.fakes import InMemoryDocuments
from tests.support.azurite import Azurite


@pytest.fixture(params=["memory", "azurite"])
def documents(request: pytest.FixtureRequest) -> Iterator[DocumentBlobs]:
    """The raw document port: the in-memory fake, or Blob Storage in a fresh container of Azurite."""
    if request.param == "memory":
        yield InMemoryDocuments()
        return
    azurite: Azurite = request.getfixturevalue("azurite")
    settings = Settings(
        storage_connection_string=azurite.connection_string, store_container=f"store{uuid.uuid4().hex[:16]}"
    )
    yield bootstrap(settings).documents


@pytest.fixture
def store(documents: DocumentBlobs) -> JsonStore:
    return JsonStore(documents)


def test_create_then_get_returns_the_same_body_and_an_etag(store: JsonStore) -> None:
    created = store.create("a/b.json", {"x": 1})
    got = store.get("a/b.json")
    assert got is not None
    assert got.body == {"x": 1}
    assert got.etag == created.etag


def test_second_create_of_a_key_raises_document_exists(store: JsonStore) -> None:
    store.create("a/b.json", {"x": 1})
    with pytest.raises(DocumentExists):
        store.create("a/b.json", {"x": 2})
    got = store.get("a/b.json")
    assert got is not None and got.body == {"x": 1}


def test_update_of_a_missing_document_raises_document_missing(store: JsonStore) -> None:
    with pytest.raises(DocumentMissing):
        store.update("nope.json", lambda b: b)


def test_an_update_that_changes_nothing_writes_nothing(store: JsonStore) -> None:
    created = store.create("u.json", {"a": {"b": [1, 2]}, "c": "x"})

    same = store.update("u.json", lambda b: {**b, "c": "x"})
    assert same.etag == created.etag
    got = store.get("u.json")
    assert got is not None and got.etag == created.etag

    changed = store.update("u.json", lambda b: {**b, "c": "y"})
    assert changed.etag != created.etag
    got = store.get("u.json")
    assert got is not None and got.body["c"] == "y" and got.etag == changed.etag


def test_delete_reports_whether_the_document_existed(store: JsonStore) -> None:
    store.create("d.json", {})
    assert store.delete("d.json") is True
    assert store.delete("d.json") is False
    assert store.get("d.json") is None


@pytest.mark.timeout(120)
def test_parallel_writers_never_lose_an_update(store: JsonStore) -> None:
    store.create("counter.json", {"n": 0, "writers": []})
    writers, increments = 8, 10
    errors: list[BaseException] = []

    def bump(body: dict[str, object], who: str) -> dict[str, object]:
        n = body["n"]
        assert isinstance(n, int)
        seen = list(body["writers"])  # type: ignore[call-overload]
        return {"n": n + 1, "writers": [*seen, who]}

    def work(i: int) -> None:
        try:
            for j in range(increments):
                who = f"{i}.{j}"
                store.update("counter.json", functools.partial(bump, who=who))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    final = store.get("counter.json")
    assert final is not None
    assert final.body["n"] == writers * increments
    assert sorted(final.body["writers"]) == sorted(
        f"{i}.{j}" for i in range(writers) for j in range(increments)
    )


def test_listing_pages_with_continuation_tokens_covers_every_document_once(store: JsonStore) -> None:
    for i in range(7):
        store.create(keys.template(TemplateRef("sub", "rg", f"t{i}")), {"i": i})
    store.create(keys.template(TemplateRef("sub", "rg2", "other")), {"i": 99})
    seen: list[int] = []
    pages = 0
    token: str | None = None
    while True:
        docs, token = store.list_page(keys.templates_prefix("sub", "rg"), page_size=3, continuation=token)
        pages += 1
        seen.extend(d.body["i"] for d in docs)
        if token is None:
            break
    assert sorted(seen) == list(range(7))
    assert pages == 3


def test_keys_are_case_insensitive_as_arm_names_are() -> None:
    assert keys.template(TemplateRef("SUB", "MyRG", "Tpl")) == keys.template(
        TemplateRef("sub", "myrg", "tpl")
    )
    assert keys.template(TemplateRef("s", "rg", "t")) == "imageTemplates/s/rg/t.json"
    assert keys.templates_prefix("S", "RG1") != keys.templates_prefix("s", "rg10")[:-1]


def test_etags_are_quoted_hex_and_change_on_every_write(documents: DocumentBlobs) -> None:
    first = documents.create(key="e.json", data=b"{}")
    second = documents.replace(key="e.json", data=b'{"a":1}', etag=first)

    assert re.fullmatch(r'"0x[0-9A-F]+"', first) and re.fullmatch(r'"0x[0-9A-F]+"', second)
    assert first != second
    with pytest.raises(EtagMismatch):
        documents.replace(key="e.json", data=b"{}", etag=first)
    with pytest.raises(EtagMismatch):
        documents.delete(key="e.json", etag=first)
    assert documents.delete(key="e.json", etag=second) is True


def test_a_conditional_write_or_delete_of_a_missing_document_is_an_etag_mismatch(
    documents: DocumentBlobs,
) -> None:
    # Blob Storage answers 412 for an If-Match on a blob that does not exist (not 404).
    with pytest.raises(EtagMismatch):
        documents.replace(key="missing.json", data=b"{}", etag='"0x1"')
    with pytest.raises(EtagMismatch):
        documents.delete(key="missing.json", etag='"0x1"')
    assert documents.delete(key="missing.json") is False


def test_the_continuation_token_is_the_last_key_of_the_page_and_a_foreign_token_ends_the_listing(
    documents: DocumentBlobs,
) -> None:
    for name in ("a/1.json", "a/2.json", "a/3.json", "b/1.json"):
        documents.create(key=name, data=b"{}", metadata={"n": name})

    first, token = documents.list_page(prefix="a/", page_size=2)
    rest, end = documents.list_page(prefix="a/", page_size=2, continuation=token)
    beyond, none = documents.list_page(prefix="a/", page_size=2, continuation="zzz")

    assert [(k.key, k.metadata) for k in first] == [
        ("a/1.json", {"n": "a/1.json"}),
        ("a/2.json", {"n": "a/2.json"}),
    ]
    assert token == "a/2.json"
    assert [k.key for k in rest] == ["a/3.json"] and end is None
    assert beyond == [] and none is None
