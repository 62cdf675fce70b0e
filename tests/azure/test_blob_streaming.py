"""The blob adapter streams: an artifact goes to Azurite and comes back a chunk at a time, never whole."""

from __future__ import annotations

import hashlib
import tracemalloc
import uuid
from collections.abc import Iterator

import pytest
from azure.storage.blob import BlobServiceClient

from shared.azure.blobs import AzureBlobs
from tests.support.azurite import Azurite

MIB = 1024 * 1024
SIZE = 64 * MIB


def _chunks() -> Iterator[bytes]:
    for i in range(SIZE // MIB):
        yield bytes([i % 256]) * MIB


@pytest.mark.timeout(120)
def test_a_blob_written_from_chunks_reads_back_in_chunks_with_the_same_sha256(azurite: Azurite) -> None:
    blobs = AzureBlobs(BlobServiceClient.from_connection_string(azurite.connection_string))
    container = f"stream{uuid.uuid4().hex[:12]}"
    blobs.ensure_container(container=container)
    expected = hashlib.sha256()
    for chunk in _chunks():
        expected.update(chunk)

    tracemalloc.start()
    try:
        blobs.upload_chunks(container=container, name="big.bin", chunks=_chunks())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < SIZE / 2, f"uploading 64 MiB peaked at {peak / MIB:.1f} MiB"
    got, size, largest = hashlib.sha256(), 0, 0
    for chunk in blobs.download_chunks(container=container, name="big.bin"):
        got.update(chunk)
        size, largest = size + len(chunk), max(largest, len(chunk))

    assert (size, got.hexdigest()) == (SIZE, expected.hexdigest())
    assert largest <= 32 * MIB  # the SDK's download chunks, not the whole blob
    blobs.delete(container=container, name="big.bin")
