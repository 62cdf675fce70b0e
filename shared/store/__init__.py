"""kiln's document store: a JSON document per template, trigger, run, run output and operation, over the
``DocumentBlobs`` port (Blob Storage in ``shared/azure/docstore.py``; built by the composition root)."""

from __future__ import annotations

from shared.store.documents import Document, JsonStore, TooMuchContention
from shared.store.keys import TemplateRef
from shared.store.port import DocumentBlobs, DocumentExists, DocumentMissing, EtagMismatch, StoreError

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
]
