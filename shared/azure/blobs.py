"""Adapter over azure-storage-blob: artifacts, append-blob logs and server-side VHD copies."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobSasPermissions, BlobServiceClient, generate_blob_sas

from shared.azure.errors import azure_errors, missing_ok
from shared.models.azure import CopyState

CopyStatus = Literal["pending", "success", "aborted", "failed"]
CLOCK_SKEW = timedelta(minutes=5)  # a SAS starting "now" can be refused by a storage clock a little behind


class AzureBlobs:
    """One storage account's blobs."""

    def __init__(self, service: BlobServiceClient) -> None:
        self._service = service

    def _blob(self, container: str, name: str) -> Any:
        return self._service.get_blob_client(container, name)

    def ensure_container(self, *, container: str) -> None:
        with azure_errors(container):
            try:
                self._service.create_container(container)
            except ResourceExistsError:
                return

    def upload(self, *, container: str, name: str, data: bytes, overwrite: bool = True) -> str:
        blob = self._blob(container, name)
        with azure_errors(f"{container}/{name}"):
            blob.upload_blob(data, overwrite=overwrite)
        return str(blob.url)

    def download(self, *, container: str, name: str) -> bytes:
        with azure_errors(f"{container}/{name}"):
            return bytes(self._blob(container, name).download_blob().readall())

    def download_chunks(self, *, container: str, name: str) -> Iterator[bytes]:
        with azure_errors(f"{container}/{name}"):
            downloader = self._blob(container, name).download_blob()
            for chunk in downloader.chunks():
                yield bytes(chunk)

    def upload_chunks(self, *, container: str, name: str, chunks: Iterable[bytes]) -> str:
        blob = self._blob(container, name)
        with azure_errors(f"{container}/{name}"):
            # An iterable of unknown length: the SDK stages it block by block and commits the list.
            blob.upload_blob(iter(chunks), overwrite=True)
        return str(blob.url)

    def create_append_blob(self, *, container: str, name: str) -> str:
        blob = self._blob(container, name)
        with azure_errors(f"{container}/{name}"):
            blob.create_append_blob()
        return str(blob.url)

    def append(self, *, container: str, name: str, data: bytes) -> None:
        with azure_errors(f"{container}/{name}"):
            self._blob(container, name).append_block(data)

    def read_from(self, *, container: str, name: str, offset: int) -> bytes:
        """Bytes from ``offset`` to the end (empty when nothing new): how a log is followed."""
        blob = self._blob(container, name)
        with azure_errors(f"{container}/{name}"):
            size = int(blob.get_blob_properties().size)
            if offset >= size:
                return b""
            return bytes(blob.download_blob(offset=offset, length=size - offset).readall())

    def list_names(self, *, container: str, prefix: str = "") -> list[str]:
        with azure_errors(container):
            client = self._service.get_container_client(container)
            return [b.name for b in client.list_blobs(name_starts_with=prefix or None)]

    def delete(self, *, container: str, name: str) -> None:
        with missing_ok(f"{container}/{name}"):
            self._blob(container, name).delete_blob()

    def begin_copy_from_url(self, *, source_url: str, container: str, name: str) -> str:
        with azure_errors(f"{container}/{name}"):
            result = self._blob(container, name).start_copy_from_url(source_url)
        return str(result.get("copy_id") or "")

    def get_copy_state(self, *, container: str, name: str) -> CopyState:
        with azure_errors(f"{container}/{name}"):
            copy = self._blob(container, name).get_blob_properties().copy
        status = str(copy.status or "pending")
        return CopyState(
            copy_id=copy.id,
            status=cast(
                CopyStatus, status if status in ("pending", "success", "aborted", "failed") else "pending"
            ),
            progress=copy.progress,
            description=copy.status_description,
        )

    def writable_url(self, *, container: str, name: str, valid_seconds: int) -> str:
        """A SAS URL to create, write and append the blob: signed with the account key when the client has
        one (Azurite, azuresim), else with a user-delegation key got with kiln's Entra credential (kiln's
        identity needs a data role on the account, as for every other blob call)."""
        permission = BlobSasPermissions(read=True, add=True, create=True, write=True)
        return self._signed_url(container, name, valid_seconds, permission)

    def readable_url(self, *, container: str, name: str, valid_seconds: int) -> str:
        """A SAS URL to read only this blob, for ``valid_seconds``; signed as ``writable_url`` is."""
        return self._signed_url(container, name, valid_seconds, BlobSasPermissions(read=True))

    def _signed_url(
        self, container: str, name: str, valid_seconds: int, permission: BlobSasPermissions
    ) -> str:
        now = datetime.now(UTC)
        start, expiry = now - CLOCK_SKEW, now + timedelta(seconds=valid_seconds)
        blob = self._blob(container, name)
        account_key = getattr(self._service.credential, "account_key", None)
        signing: dict[str, Any] = {"account_key": account_key}
        with azure_errors(f"{container}/{name}"):
            if not account_key:
                signing = {"user_delegation_key": self._service.get_user_delegation_key(start, expiry)}
            sas = generate_blob_sas(
                account_name=str(self._service.account_name),
                container_name=container,
                blob_name=name,
                permission=permission,
                start=start,
                expiry=expiry,
                **signing,
            )
        return f"{blob.url}?{sas}"
