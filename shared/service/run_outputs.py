"""runOutputs of a template: read by the API, written by ``record_outputs`` when a run has distributed."""

from __future__ import annotations

from typing import Any

from shared.errors import NotFound
from shared.service import documents
from shared.service.resources import RUN_OUTPUT_TYPE
from shared.service.templates import Page
from shared.store import DocumentExists, DocumentMissing, JsonStore, TemplateRef, keys


class RunOutputService:
    """Read-only access to the run outputs stored under a template."""

    def __init__(self, store: JsonStore, *, page_size: int) -> None:
        self._store = store
        self._page_size = page_size

    def list(self, ref: TemplateRef, *, token: str | None) -> Page:
        """One page of the template's run outputs."""
        documents.read(self._store, ref)
        prefix = keys.children_prefix(keys.RUN_OUTPUTS, ref)
        docs, marker = self._store.list_page(
            prefix, page_size=self._page_size, continuation=documents.decode_token(token, prefix)
        )
        return Page([render_run_output(d.body) for d in docs], documents.encode_token(marker, prefix))

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


def record_run_outputs(store: JsonStore, run: dict[str, Any], targets: list[dict[str, Any]]) -> list[str]:
    """Write one runOutput per succeeded target (``TargetResult`` JSON), replacing older ones of that name.

    A run older than the one that wrote a runOutput does not replace it (a late redelivery). Returns the
    names written; nothing is written for a template that no longer exists.
    """
    ref = TemplateRef(run["subscription_id"], run["resource_group"], run["template_name"])
    template = store.get(keys.template(ref))
    if template is None:
        return []
    written = []
    for target in targets:
        if not target.get("succeeded"):
            continue
        name = target["run_output_name"]
        body = {
            "id": f"{template.body['readOnly']['id']}/runOutputs/{name}",
            "name": name,
            "type": RUN_OUTPUT_TYPE,
            "properties": {
                "artifactId": target.get("artifact_id"),
                "artifactUri": target.get("artifact_uri"),
                "provisioningState": "Succeeded",
            },
            "kiln": {"runId": run["run_id"]},
        }
        body["properties"] = {k: v for k, v in body["properties"].items() if v is not None}
        if _put_output(store, keys.child(keys.RUN_OUTPUTS, ref, name), body):
            written.append(name)
    return written


def _put_output(store: JsonStore, key: str, body: dict[str, Any]) -> bool:
    try:
        store.create(key, body)
        return True
    except DocumentExists:
        pass
    wrote = False

    def replace(current: dict[str, Any]) -> dict[str, Any]:
        nonlocal wrote
        # Run ids of one template share a prefix and end in a zero-padded number: they sort by age.
        older = str(current.get("kiln", {}).get("runId", "")) > body["kiln"]["runId"]
        wrote = not older
        return current if older else dict(body)

    try:
        store.update(key, replace)
    except DocumentMissing:
        store.create(key, body)
        return True
    return wrote
