"""A stateful in-memory fake of the document port (``DocumentBlobs``), behaving as Azurite does.

The contract suite (``tests/api/test_store.py``) runs the same tests over this fake and over Azurite, so the
two cannot drift: ETags are quoted ``"0x…"`` strings that change on every write; a conditional write at a
stale ETag, or at any ETag on a missing document, is an ``EtagMismatch`` (Blob Storage answers 412 for both);
a listing is in key order and its continuation token is the last key of the page (the next page starts after
it), so a token naming a key beyond the prefix ends the listing.
"""

from __future__ import annotations

import bisect
import itertools
import threading
from dataclasses import dataclass, field

from shared.store.port import DocumentExists, EtagMismatch, ListedKey, RawDocument

_ETAG_START = 0x1D0000000000000


@dataclass
class InMemoryDocuments:
    """One container of JSON documents, kept in a dict; thread-safe like the service it stands in for."""

    blobs: dict[str, RawDocument] = field(default_factory=dict)
    writes: int = 0  # every successful create, replace and delete (tests assert "nothing stored changed")
    _etags: itertools.count[int] = field(default_factory=lambda: itertools.count(_ETAG_START))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _etag(self) -> str:
        return f'"0x{next(self._etags):015X}"'

    def read(self, *, key: str) -> RawDocument | None:
        with self._lock:
            return self.blobs.get(key)

    def create(self, *, key: str, data: bytes, metadata: dict[str, str] | None = None) -> str:
        with self._lock:
            if key in self.blobs:
                raise DocumentExists(key)
            return self._write(key, data, metadata)

    def replace(self, *, key: str, data: bytes, etag: str, metadata: dict[str, str] | None = None) -> str:
        with self._lock:
            current = self.blobs.get(key)
            if current is None or current.etag != etag:
                raise EtagMismatch(key)
            return self._write(key, data, metadata)

    def _write(self, key: str, data: bytes, metadata: dict[str, str] | None) -> str:
        etag = self._etag()
        self.blobs[key] = RawDocument(key=key, data=bytes(data), etag=etag, metadata=dict(metadata or {}))
        self.writes += 1
        return etag

    def delete(self, *, key: str, etag: str | None = None) -> bool:
        with self._lock:
            current = self.blobs.get(key)
            if current is None:
                if etag is not None:
                    raise EtagMismatch(key)
                return False
            if etag is not None and current.etag != etag:
                raise EtagMismatch(key)
            del self.blobs[key]
            self.writes += 1
            return True

    def list_page(
        self, *, prefix: str, page_size: int, continuation: str | None = None
    ) -> tuple[list[ListedKey], str | None]:
        with self._lock:
            names = sorted(k for k in self.blobs if k.startswith(prefix))
            start = bisect.bisect_right(names, continuation) if continuation is not None else 0
            page = names[start : start + page_size]
            listed = [
                ListedKey(key=k, metadata=dict(self.blobs[k].metadata), etag=self.blobs[k].etag) for k in page
            ]
        more = start + page_size < len(names)
        return listed, page[-1] if more and page else None

    def snapshot(self) -> dict[str, bytes]:
        """Every document's bytes (to prove a request changed nothing)."""
        with self._lock:
            return {k: v.data for k, v in self.blobs.items()}
