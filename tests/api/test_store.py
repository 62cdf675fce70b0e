"""The document store against Azurite: conditional creates, ETag-guarded updates, paged listing."""

from __future__ import annotations

import functools
import threading

import pytest

from shared.store import DocumentExists, DocumentMissing, JsonStore, TemplateRef, keys


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
