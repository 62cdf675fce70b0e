"""kiln's JSON document store: read, create, ETag-guarded read-modify-write, delete, paged listing."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.store.port import DocumentBlobs, DocumentMissing, EtagMismatch, ListedKey, StoreError

Mutation = Callable[[dict[str, Any]], dict[str, Any]]


class TooMuchContention(StoreError):
    """A read-modify-write lost the ETag race more times than allowed."""


@dataclass(frozen=True)
class Document:
    """A parsed JSON document with the ETag it was read at."""

    key: str
    body: dict[str, Any]
    etag: str


def _encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


class JsonStore:
    """JSON documents over a ``DocumentBlobs`` port; parallel writers never lose an update."""

    def __init__(self, blobs: DocumentBlobs, *, max_attempts: int = 64) -> None:
        self._blobs = blobs
        self._max_attempts = max_attempts

    def get(self, key: str) -> Document | None:
        """The document at ``key``, or None."""
        raw = self._blobs.read(key=key)
        if raw is None:
            return None
        return Document(key=key, body=json.loads(raw.data), etag=raw.etag)

    def create(self, key: str, body: dict[str, Any], *, metadata: dict[str, str] | None = None) -> Document:
        """Create ``key``; raises ``DocumentExists`` when it is taken (If-None-Match: *)."""
        etag = self._blobs.create(key=key, data=_encode(body), metadata=metadata)
        return Document(key=key, body=body, etag=etag)

    def update(self, key: str, mutate: Mutation, *, metadata: dict[str, str] | None = None) -> Document:
        """Apply ``mutate`` to the current document and write it back only if nobody wrote in between.

        ``mutate`` receives a fresh copy on every attempt and may raise to abort. On a lost race (412) the
        document is read again and ``mutate`` re-applied. A mutation that leaves the document as it was
        (and no ``metadata`` to set) writes nothing: the document and its ETag stay as read.

        Raises:
            DocumentMissing: the document does not exist.
            TooMuchContention: every attempt lost the race.
        """
        for attempt in range(self._max_attempts):
            current = self.get(key)
            if current is None:
                raise DocumentMissing(key)
            before = _encode(current.body) if metadata is None else None
            body = mutate(current.body)
            data = _encode(body)
            if data == before:
                return Document(key=key, body=body, etag=current.etag)
            try:
                etag = self._blobs.replace(key=key, data=data, etag=current.etag, metadata=metadata)
            except EtagMismatch:
                # Jittered back-off so that writers racing on one document spread out.
                time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
                continue
            return Document(key=key, body=body, etag=etag)
        raise TooMuchContention(key)

    def delete(self, key: str) -> bool:
        """Delete ``key``; False when it was already gone."""
        return self._blobs.delete(key=key)

    def list_page(
        self, prefix: str, *, page_size: int, continuation: str | None = None
    ) -> tuple[list[Document], str | None]:
        """One page of documents under ``prefix`` and the token of the next page (None at the end).

        A document deleted between the listing and its read is skipped.
        """
        listed, token = self._blobs.list_page(prefix=prefix, page_size=page_size, continuation=continuation)
        docs = [doc for item in listed if (doc := self.get(item.key)) is not None]
        return docs, token

    def list_all_keys(self, prefix: str) -> list[str]:
        """Every key under ``prefix`` (for deletes of a template's children)."""
        return [item.key for item in self.list_all(prefix)]

    def list_all(self, prefix: str) -> list[ListedKey]:
        """Every blob under ``prefix`` as the listing shows it (key, metadata, ETag), contents not read."""
        listed: list[ListedKey] = []
        token: str | None = None
        while True:
            page, token = self._blobs.list_page(prefix=prefix, page_size=500, continuation=token)
            listed.extend(page)
            if token is None:
                return listed
