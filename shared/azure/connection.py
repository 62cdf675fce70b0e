"""kiln's own storage from ``KILN_STORAGE_CONNECTION_STRING``: with a key (Azurite, a classic connection
string) or without one (``BlobEndpoint=https://…``, as infra/ sets it), when kiln's Entra credential signs
every request (identity-based access: the account allows no shared keys).

Parsing imports no SDK; azure-storage-blob is imported when the client is made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient

SETTING = "KILN_STORAGE_CONNECTION_STRING"
# What makes a connection string carry its own authorization (or name Azurite, which has a known key).
_SECRETS = ("accountkey", "sharedaccesssignature")
_DEVELOPMENT = "usedevelopmentstorage"


class StorageConnectionError(ValueError):
    """The storage connection string names no blob endpoint kiln can reach."""


@dataclass(frozen=True)
class StorageConnection:
    """A parsed connection string: the blob endpoint, and whether it needs kiln's Entra credential."""

    connection_string: str
    blob_endpoint: str | None
    keyless: bool


def parse_storage_connection(connection_string: str) -> StorageConnection:
    """Split ``key=value;…`` (keys case-insensitive, values may contain ``=``). Keyless means: a
    ``BlobEndpoint`` and neither ``AccountKey`` nor ``SharedAccessSignature`` nor development storage."""
    parts: dict[str, str] = {}
    for item in connection_string.split(";"):
        key, sep, value = item.strip().partition("=")
        if sep and key.strip():
            parts[key.strip().lower()] = value.strip()
    endpoint = parts.get("blobendpoint") or None
    has_secret = any(parts.get(k) for k in _SECRETS) or parts.get(_DEVELOPMENT, "").lower() == "true"
    if not has_secret and not endpoint:
        raise StorageConnectionError(
            f"{SETTING} has neither an account key, a SAS nor a BlobEndpoint: "
            "set BlobEndpoint=https://<account>.blob.core.windows.net for identity-based access"
        )
    if not has_secret and endpoint and not endpoint.lower().startswith("https://"):
        raise StorageConnectionError(f"{SETTING}: a BlobEndpoint without a key must be https, not {endpoint}")
    return StorageConnection(
        connection_string=connection_string,
        blob_endpoint=endpoint.rstrip("/") if endpoint else None,
        keyless=not has_secret,
    )


def blob_service_from(connection_string: str, credential: Callable[[], Any]) -> BlobServiceClient:
    """The blob service of a connection string; a keyless one is signed by ``credential()`` (called only
    then: kiln's user-assigned identity or the default chain, as the composition root chose)."""
    from azure.storage.blob import BlobServiceClient

    from shared.azure.transport import storage_transport

    conn = parse_storage_connection(connection_string)
    if conn.keyless:
        return BlobServiceClient(
            str(conn.blob_endpoint), credential=credential(), transport=storage_transport()
        )
    return BlobServiceClient.from_connection_string(connection_string, transport=storage_transport())
