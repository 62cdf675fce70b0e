"""Fakes of the blob and secret ports. Blobs are kept by URL: run-command output lands where tests read it."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from shared.errors import AzureNotFound, PermanentAzureError
from shared.models.azure import CopyState
from tests.fakes.cloud import FakeCloud

CHUNK = 1024 * 1024


@dataclass
class Sink:
    """Where a large blob's chunks go: counted and hashed, and the largest chunk noted."""

    size: int = 0
    largest: int = 0
    digest: Any = field(default_factory=hashlib.sha256)

    def take(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self.largest = max(self.largest, len(chunk))
        self.digest.update(chunk)


class FakeBlobs:
    """One storage account's blobs; copies complete after ``copy_reads`` reads of their state."""

    def __init__(self, cloud: FakeCloud, account_url: str = "https://kilnfake.blob.core.windows.net") -> None:
        self.cloud = cloud
        # An account URL with a SAS (a user's artifact URL) reads the same blobs; azurite tests check the SAS.
        self.account_url = account_url.split("?", 1)[0].rstrip("/")
        self.containers: set[str] = set()
        self.append_blobs: set[str] = set()
        self.copies: dict[str, dict[str, object]] = {}
        self.copy_reads = 1
        self.sinks: dict[str, Sink] = {}  # blob name -> where its chunks go instead of memory

    def _url(self, container: str, name: str) -> str:
        return f"{self.account_url}/{container}/{name}"

    def _existing(self, container: str, name: str) -> bytearray:
        data = self.cloud.blobs.get(self._url(container, name))
        if data is None:
            raise AzureNotFound(
                f"The specified blob does not exist: {container}/{name}.", code="BlobNotFound"
            )
        return data

    def _need_container(self, container: str) -> None:
        if container not in self.containers:
            raise AzureNotFound(
                f"The specified container does not exist: {container}.", code="ContainerNotFound"
            )

    def ensure_container(self, *, container: str) -> None:
        self.cloud.enter("blobs.ensure_container", container)
        self.containers.add(container)

    def upload(self, *, container: str, name: str, data: bytes, overwrite: bool = True) -> str:
        self.cloud.enter("blobs.upload", f"{container}/{name}")
        self._need_container(container)
        url = self._url(container, name)
        if not overwrite and url in self.cloud.blobs:
            raise PermanentAzureError(
                "The specified blob already exists.", code="BlobAlreadyExists", status=409
            )
        self.cloud.blobs[url] = bytearray(data)
        return url

    def download(self, *, container: str, name: str) -> bytes:
        self.cloud.enter("blobs.download", f"{container}/{name}")
        return bytes(self._existing(container, name))

    def download_chunks(self, *, container: str, name: str) -> Iterator[bytes]:
        data = self.download(container=container, name=name)
        for start in range(0, max(len(data), 1), CHUNK):
            yield data[start : start + CHUNK]

    def upload_chunks(self, *, container: str, name: str, chunks: Iterable[bytes]) -> str:
        """Stored as the chunks come; with ``sinks`` naming the blob, only counted and hashed (a large
        artifact the test follows without holding it)."""
        self.cloud.enter("blobs.upload", f"{container}/{name}")
        self._need_container(container)
        url = self._url(container, name)
        sink = self.sinks.get(name)
        if sink is not None:
            for chunk in chunks:
                sink.take(chunk)
            self.cloud.blobs[url] = bytearray()
            return url
        data = bytearray()
        for chunk in chunks:
            data += chunk
        self.cloud.blobs[url] = data
        return url

    def create_append_blob(self, *, container: str, name: str) -> str:
        self.cloud.enter("blobs.create_append", f"{container}/{name}")
        self._need_container(container)
        url = self._url(container, name)
        self.cloud.blobs[url] = bytearray()
        self.append_blobs.add(url)
        return url

    def append(self, *, container: str, name: str, data: bytes) -> None:
        self.cloud.enter("blobs.append", f"{container}/{name}")
        self._existing(container, name).extend(data)

    def read_from(self, *, container: str, name: str, offset: int) -> bytes:
        self.cloud.enter("blobs.read_from", f"{container}/{name}")
        return bytes(self._existing(container, name)[offset:])

    def list_names(self, *, container: str, prefix: str = "") -> list[str]:
        self.cloud.enter("blobs.list", container)
        self._need_container(container)
        base = self._url(container, "")
        return sorted(u[len(base) :] for u in self.cloud.blobs if u.startswith(base + prefix))

    def delete(self, *, container: str, name: str) -> None:
        self.cloud.enter("blobs.delete", f"{container}/{name}")
        self.cloud.blobs.pop(self._url(container, name), None)
        self.copies.pop(self._url(container, name), None)  # a deleted blob's pending copy ends with it

    def begin_copy_from_url(self, *, source_url: str, container: str, name: str) -> str:
        self.cloud.enter("blobs.copy", f"{container}/{name}")
        self._need_container(container)
        copy_id = str(uuid.uuid4())
        source = self.cloud.blobs.get(source_url.split("?", 1)[0])
        self.copies[self._url(container, name)] = {"id": copy_id, "source": source, "reads": self.copy_reads}
        self.cloud.blobs[self._url(container, name)] = bytearray()
        return copy_id

    def writable_url(self, *, container: str, name: str, valid_seconds: int) -> str:
        return self._signed(container, name, valid_seconds, "racw")

    def readable_url(self, *, container: str, name: str, valid_seconds: int) -> str:
        return self._signed(container, name, valid_seconds, "r")

    def _signed(self, container: str, name: str, valid_seconds: int, permissions: str) -> str:
        self.cloud.enter("blobs.sas", f"{container}/{name}")
        url = self._url(container, name)
        signature = uuid.uuid4().hex
        self.cloud.sas[signature] = url
        return f"{url}?sp={permissions}&se=+{valid_seconds}s&sig={signature}"

    def get_copy_state(self, *, container: str, name: str) -> CopyState:
        self.cloud.enter("blobs.copy_state", f"{container}/{name}")
        url = self._url(container, name)
        copy = self.copies.get(url)
        if copy is None:
            self._existing(container, name)
            return CopyState(copy_id=None, status="success")
        if copy["source"] is None:
            return CopyState(copy_id=str(copy["id"]), status="failed", description="CannotVerifyCopySource")
        copy["reads"] = int(str(copy["reads"])) - 1
        if int(str(copy["reads"])) > 0:
            return CopyState(copy_id=str(copy["id"]), status="pending", progress="0/1")
        data = bytes(copy["source"])  # type: ignore[call-overload]
        self.cloud.blobs[url] = bytearray(data)
        return CopyState(copy_id=str(copy["id"]), status="success", progress=f"{len(data)}/{len(data)}")


class FakeSecrets:
    def __init__(self, cloud: FakeCloud) -> None:
        self.cloud = cloud

    def get(self, *, name: str) -> str:
        self.cloud.enter("secrets.get", name)
        if name not in self.cloud.secrets:
            raise AzureNotFound(
                f"A secret with (name/id) {name} was not found in this key vault.", code="SecretNotFound"
            )
        return self.cloud.secrets[name]

    def set(self, *, name: str, value: str) -> None:
        self.cloud.enter("secrets.set", name)
        self.cloud.secrets[name] = value

    def delete(self, *, name: str) -> None:
        self.cloud.enter("secrets.delete", name)
        self.cloud.secrets.pop(name, None)


class FakeFetcher:
    """The web, as far as customizer scripts go: ``pages`` maps an https URL to its bytes."""

    def __init__(self, cloud: FakeCloud) -> None:
        self.cloud = cloud
        self.pages: dict[str, Any] = {}  # bytes, or a function giving the chunks

    def fetch(self, *, url: str) -> bytes:
        return b"".join(self.stream(url=url))

    def stream(self, *, url: str) -> Iterator[bytes]:
        """A page in chunks; a page may also be a function giving its chunks (a large artifact that is
        never held whole, not even by the fake)."""
        self.cloud.enter("fetcher.fetch", url)
        if not url.lower().startswith("https://"):
            raise PermanentAzureError(f"refusing to fetch '{url}': only https is allowed", code="InsecureUri")
        if url not in self.pages:
            raise AzureNotFound(f"GET {url} answered 404 Not Found.", code="ArtifactNotFound")
        page = self.pages[url]
        if callable(page):
            yield from page()
            return
        for start in range(0, max(len(page), 1), CHUNK):
            yield page[start : start + CHUNK]
