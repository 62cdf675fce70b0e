"""The Blob Storage adapter of kiln's document store (``shared.store.port.DocumentBlobs``).

azure-storage-blob is imported on first use, never at module import, so the function app starts fast.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

from shared.store.port import DocumentExists, DocumentMissing, EtagMismatch, ListedKey, RawDocument

_JSON = "application/json"


class BlobDocuments:
    """JSON documents as block blobs in one container, with ETag-conditional writes."""

    def __init__(
        self, *, connection_string: str, container: str, credential: Callable[[], Any] | None = None
    ) -> None:
        """``credential`` makes the Entra credential a keyless connection string (``BlobEndpoint=…`` only)
        is signed with; it is called on the first request, and only for such a string."""
        self._connection_string = connection_string
        self._credential = credential or _no_credential
        self._container_name = container
        self._client: Any = None
        self._lock = threading.Lock()

    def _container(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._connect()
        return self._client

    def _connect(self) -> Any:
        from azure.core.exceptions import ResourceExistsError

        from shared.azure.connection import blob_service_from

        service = blob_service_from(self._connection_string, self._credential)
        container = service.get_container_client(self._container_name)
        with contextlib.suppress(ResourceExistsError):
            container.create_container()
        return container

    def read(self, *, key: str) -> RawDocument | None:
        """The document at ``key`` with its ETag, or None."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            downloader = self._container().download_blob(key)
            data = downloader.readall()
        except ResourceNotFoundError:
            return None
        props = downloader.properties
        return RawDocument(key=key, data=data, etag=props.etag, metadata=dict(props.metadata or {}))

    def create(self, *, key: str, data: bytes, metadata: dict[str, str] | None = None) -> str:
        """Write ``key`` only if it does not exist; return the new ETag."""
        from azure.core.exceptions import ResourceExistsError, ResourceModifiedError

        try:
            return self._upload(key, data, metadata, if_none_match="*")
        except (ResourceExistsError, ResourceModifiedError) as exc:
            raise DocumentExists(key) from exc

    def replace(self, *, key: str, data: bytes, etag: str, metadata: dict[str, str] | None = None) -> str:
        """Overwrite ``key`` only if its ETag is still ``etag``; return the new ETag."""
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError

        try:
            return self._upload(key, data, metadata, etag=etag, match_condition=MatchConditions.IfNotModified)
        except ResourceModifiedError as exc:
            raise EtagMismatch(key) from exc
        except ResourceNotFoundError as exc:
            raise DocumentMissing(key) from exc

    def _upload(self, key: str, data: bytes, metadata: dict[str, str] | None, **condition: Any) -> str:
        """Upload a JSON blob under an access ``condition``; return its new ETag."""
        from azure.storage.blob import ContentSettings

        blob = self._container().get_blob_client(key)
        result = blob.upload_blob(
            data,
            overwrite=True,
            metadata=metadata,
            content_settings=ContentSettings(content_type=_JSON),
            **condition,
        )
        return str(result["etag"])

    def delete(self, *, key: str, etag: str | None = None) -> bool:
        """Delete ``key`` (only at ``etag`` when given). False when it was already gone."""
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError

        kwargs: dict[str, Any] = {}
        if etag is not None:
            kwargs = {"etag": etag, "match_condition": MatchConditions.IfNotModified}
        try:
            self._container().delete_blob(key, **kwargs)
        except ResourceNotFoundError:
            return False
        except ResourceModifiedError as exc:
            raise EtagMismatch(key) from exc
        return True

    def list_page(
        self, *, prefix: str, page_size: int, continuation: str | None = None
    ) -> tuple[list[ListedKey], str | None]:
        """One page of keys under ``prefix`` (with metadata) and the continuation token of the next."""
        pager = (
            self._container()
            .list_blobs(name_starts_with=prefix, include=["metadata"], results_per_page=page_size)
            .by_page(continuation_token=continuation)
        )
        page: list[Any] = list(next(pager, []))
        keys = [ListedKey(key=b.name, metadata=dict(b.metadata or {}), etag=str(b.etag or "")) for b in page]
        return keys, pager.continuation_token or None


def _no_credential() -> Any:
    raise ValueError("a keyless storage connection string needs kiln's Entra credential; none was given")
