"""Blob access for providers (run-command output, storage accounts): Azurite through azure-storage-blob."""

from __future__ import annotations

import hashlib
from typing import Any

from azure.storage.blob.aio import BlobClient, BlobServiceClient


def _parse(conn: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in conn.split(";"):
        if "=" in part:
            key, _, value = part.partition("=")
            out[key.strip()] = value.strip()
    return out


class BlobAccess:
    """Azurite (or any blob endpoint) reached with the connection string azuresim was started with."""

    def __init__(self, connection_string: str | None) -> None:
        self.connection_string = connection_string
        fields = _parse(connection_string or "")
        self.account_name = fields.get("AccountName", "devstoreaccount1")
        self.account_key = fields.get("AccountKey", "")
        endpoint = fields.get("BlobEndpoint", "")
        self.blob_endpoint = endpoint.rstrip("/") + "/" if endpoint else ""
        self._service: BlobServiceClient | None = None

    @property
    def configured(self) -> bool:
        return bool(self.connection_string)

    @property
    def service(self) -> BlobServiceClient:
        if self.connection_string is None:
            raise RuntimeError("azuresim was started without --storage-connection-string")
        if self._service is None:
            self._service = BlobServiceClient.from_connection_string(self.connection_string)
        return self._service

    def blob_from_url(self, url: str) -> BlobClient:
        """A client for a blob URL; URLs with a SAS use it, others use the account key."""
        credential: Any = (
            None if "sig=" in url else {"account_name": self.account_name, "account_key": self.account_key}
        )
        return BlobClient.from_blob_url(url, credential=credential)

    async def append_text(self, url: str, text: str) -> None:
        """Append to an append blob, creating it first when it does not exist."""
        async with self.blob_from_url(url) as blob:
            if not await blob.exists():
                await blob.create_append_blob()
            if text:
                await blob.append_block(text.encode())

    async def read_text(self, url: str) -> str:
        async with self.blob_from_url(url) as blob:
            data = await (await blob.download_blob()).readall()
            return data.decode() if isinstance(data, bytes) else str(data)

    async def sha256_as_guest(self, url: str) -> str:
        """The sha256 of a blob read as a VM reads it: with the URL's own SAS and nothing else, streamed."""
        digest = hashlib.sha256()
        async with BlobClient.from_blob_url(url, credential=None) as blob:
            stream = await blob.download_blob()
            async for chunk in stream.chunks():
                digest.update(chunk)
        return digest.hexdigest()

    async def close(self) -> None:
        if self._service is not None:
            await self._service.close()
            self._service = None
