"""runOutputs of a template (written by the build flow; empty until a build has distributed something)."""

from __future__ import annotations

from typing import Any

from shared.errors import NotFound
from shared.service import documents
from shared.service.templates import Page
from shared.store import JsonStore, TemplateRef, keys


class RunOutputService:
    """Read-only access to the run outputs stored under a template."""

    def __init__(self, store: JsonStore, *, page_size: int) -> None:
        self._store = store
        self._page_size = page_size

    def list(self, ref: TemplateRef, *, token: str | None) -> Page:
        """One page of the template's run outputs."""
        documents.read(self._store, ref)
        docs, marker = self._store.list_page(
            keys.children_prefix(keys.RUN_OUTPUTS, ref),
            page_size=self._page_size,
            continuation=documents.decode_token(token),
        )
        return Page([render_run_output(d.body) for d in docs], documents.encode_token(marker))

    def get(self, ref: TemplateRef, name: str) -> dict[str, Any]:
        """One run output; 404 when the template or the run output is absent."""
        documents.read(self._store, ref)
        doc = self._store.get(keys.child(keys.RUN_OUTPUTS, ref, name))
        if doc is None:
            raise NotFound(f"Run output '{name}' of image template '{ref.name}' was not found.")
        return render_run_output(doc.body)


def render_run_output(body: dict[str, Any]) -> dict[str, Any]:
    """The runOutput resource: ``{id, name, type, properties}`` (artifactId, artifactUri, state)."""
    return {k: body[k] for k in ("id", "name", "type", "properties") if k in body}
