"""kiln's document store in Blob Storage: a JSON blob per template, trigger, run, run output, operation."""

from __future__ import annotations

from shared.store.documents import Document, JsonStore, TooMuchContention
from shared.store.keys import TemplateRef
from shared.store.port import DocumentBlobs, DocumentExists, DocumentMissing, EtagMismatch, StoreError


def open_store(*, connection_string: str, container: str) -> JsonStore:
    """A ``JsonStore`` over Blob Storage (the SDK is imported on first use, not here)."""
    from shared.azure.docstore import BlobDocuments

    return JsonStore(BlobDocuments(connection_string=connection_string, container=container))


__all__ = [
    "Document",
    "DocumentBlobs",
    "DocumentExists",
    "DocumentMissing",
    "EtagMismatch",
    "JsonStore",
    "StoreError",
    "TemplateRef",
    "TooMuchContention",
    "open_store",
]
