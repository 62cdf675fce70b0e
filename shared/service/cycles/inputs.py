"""Whether a build would change anything: a template's input fingerprint now, beside its last success's.

The fingerprint is computed as the build records it (``shared/models/fingerprint.py``): the version the
source resolves to now (``latest`` as the resolve phase picks it, or the pinned version), the template's hash,
and each artifact's sha256 — the declared ``sha256Checksum`` where the template gives one (a build only
succeeds with that content), otherwise the downloaded bytes'. The last successful run's fingerprint is kept
on the template document (``kiln.lastSucceeded``) when the run ends.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from shared.models import fingerprint as fp
from shared.models.fields import is_storage_url
from shared.service.source_watch import latest_version, watched
from shared.store import JsonStore, TemplateRef, keys

if TYPE_CHECKING:
    from shared.ports import ArtifactFetcher, AzurePortSet


@dataclass(frozen=True)
class Unchanged:
    """A build that would change nothing: the run it would repeat, and why."""

    last_run: str
    fingerprint: str
    reason: str


class InputProbe:
    """Computes a template's current fingerprint over the Azure ports and the artifact fetcher."""

    def __init__(self, store: JsonStore, *, azure: AzurePortSet, fetcher: ArtifactFetcher) -> None:
        self._store = store
        self._azure = azure
        self._fetcher = fetcher

    def current(self, template: dict[str, Any]) -> dict[str, Any]:
        """The ``properties.inputs`` a build of ``template`` (its document) would record now."""
        spec = template["spec"]
        hashes = {a.key: a.sha256.lower() or self._digest(a.uri) for a in fp.artifacts(spec)}
        return fp.inputs(self._source_version(template), fp.template_hash(spec), hashes)

    def unchanged(self, ref: TemplateRef) -> Unchanged | None:
        """The skip of a template whose inputs equal its last successful run's; None when it should build."""
        doc = self._store.get(keys.template(ref))
        if doc is None:
            return None
        last = doc.body["kiln"].get("lastSucceeded") or {}
        if not last.get("fingerprint"):
            return None
        now = self.current(doc.body)
        if now["fingerprint"] != last["fingerprint"]:
            return None
        reason = (
            f"No input changed since run '{last['runId']}': source version {now['sourceVersion']}, the "
            f"same template, {len(now['artifacts'])} artifact(s) with the same sha256 "
            f"(fingerprint {now['fingerprint'][:12]})."
        )
        return Unchanged(last["runId"], now["fingerprint"], reason)

    def _source_version(self, template: dict[str, Any]) -> str | None:
        item = watched(template, "")
        if item is not None:
            return latest_version(self._azure, item)
        source = template["spec"].get("properties", {}).get("source", {})
        pinned = source.get("version") or source.get("imageId") or source.get("imageVersionId")
        return str(pinned) if pinned else None

    def _digest(self, uri: str) -> str:
        parts = urlsplit(uri)
        if is_storage_url(uri):
            container, _, name = parts.path.lstrip("/").partition("/")
            blobs = self._azure.blobs(account_url=f"{parts.scheme}://{parts.netloc}")
            chunks = blobs.download_chunks(container=container, name=name)
        else:
            chunks = self._fetcher.stream(url=uri)
        digest = hashlib.sha256()
        for chunk in chunks:  # an artifact of any size, never whole in memory
            digest.update(chunk)
        return digest.hexdigest()
