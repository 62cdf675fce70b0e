"""The raw document port under kiln's store: JSON blobs with ETag conditions, nothing more.

The adapter over azure-storage-blob lives in ``shared/azure/docstore.py`` (the only place that may import the
SDK); tests may substitute any object with the same methods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class StoreError(Exception):
    """Base of the store's own failures (never an SDK type)."""


class DocumentExists(StoreError):
    """A create found the key already taken."""


class DocumentMissing(StoreError):
    """The key does not exist (read-modify-write or delete with an ETag)."""


class EtagMismatch(StoreError):
    """The document changed since it was read (HTTP 412 from Blob Storage)."""


@dataclass(frozen=True)
class RawDocument:
    """One stored blob: its bytes, ETag and metadata."""

    key: str
    data: bytes
    etag: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ListedKey:
    """One blob seen by a listing (content not read)."""

    key: str
    metadata: dict[str, str] = field(default_factory=dict)
    etag: str = ""  # changes with every write: a lister can tell a document changed without reading it


class DocumentBlobs(Protocol):
    """JSON documents in one container; every write can be conditional on an ETag."""

    def read(self, *, key: str) -> RawDocument | None: ...

    def create(self, *, key: str, data: bytes, metadata: dict[str, str] | None = None) -> str: ...

    def replace(self, *, key: str, data: bytes, etag: str, metadata: dict[str, str] | None = None) -> str: ...

    def delete(self, *, key: str, etag: str | None = None) -> bool: ...

    def list_page(
        self, *, prefix: str, page_size: int, continuation: str | None = None
    ) -> tuple[list[ListedKey], str | None]: ...
