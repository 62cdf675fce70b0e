"""Phase 5, stage artifacts: fetch each scriptUri / sourceUri, check its sha256, store it for the VM.

Steps later read their script or file from the staging account, never from the original URL, so what ran
is what was verified, and a URL that changes mid-build cannot change the build.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from activities.support.context import fail, guard
from activities.support.uris import ArtifactUri, artifact_uris, split_blob_url, user_sas
from shared import naming, redact
from shared.errors import AzureError
from shared.models.access import template_identity
from shared.models.build import PhaseFailed, RunRef
from shared.models.durable import ArtifactsInput, ArtifactsOutput, StagedArtifact
from shared.models.fields import is_storage_url
from shared.models.fingerprint import artifact_key
from shared.ports import Blobs, BuildPorts


def run(inp: ArtifactsInput, *, ports: BuildPorts) -> ArtifactsOutput:
    """Fetch, verify and store every artifact; a checksum mismatch names the step and both hashes."""
    try:
        staging = ports.blobs(account_url=ports.storage_account_url(inp.vm.storage_account))
        with guard("artifacts", inp.vm.storage_account):
            staging.ensure_container(container=naming.ARTIFACT_CONTAINER)
            staging.ensure_container(container=naming.LOG_CONTAINER)
        reader = ports.acting_as(template_identity(inp.template))  # Azure Storage is read as the identity
        staged = [_stage(inp.run, found, reader, staging) for found in artifact_uris(inp.template)]
        # The run's input fingerprint (shared/models/fingerprint.py) includes what was fetched.
        ports.runs.record_artifacts(inp.run, {artifact_key(s.phase, s.index): s.sha256 for s in staged})
        return ArtifactsOutput(staged=staged)
    except PhaseFailed as e:
        return ArtifactsOutput(error=e.error)


def checksum_problem(found: ArtifactUri, actual: str) -> dict[str, Any] | None:
    """The ``ChecksumMismatch`` detail when ``actual`` (a sha256) is not the template's, else None."""
    if not found.sha256 or actual == found.sha256.lower():
        return None
    message = (
        f"the sha256 of {found.phase} step {found.index} ({redact.url(found.uri)}) is {actual}, "
        f"but the template expects {found.sha256.lower()}"
    )
    target = found.field.rsplit(".", 1)[0] + ".sha256Checksum"
    return {"code": "ChecksumMismatch", "target": target, "message": message, "actual": actual}


def _stage(run: RunRef, found: ArtifactUri, ports: BuildPorts, staging: Blobs) -> StagedArtifact:
    """Stream the artifact into its staging blob, hashing it on the way (never whole in memory, whatever its
    size); a checksum mismatch deletes the blob again."""
    blob = naming.artifact_blob(run.run_id, found.phase, found.index)
    digest = hashlib.sha256()

    def hashed() -> Iterator[bytes]:
        for chunk in chunks(found, ports):
            digest.update(chunk)
            yield chunk

    with guard("artifacts", found.field):
        staging.upload_chunks(container=naming.ARTIFACT_CONTAINER, name=blob, chunks=hashed())
    actual = digest.hexdigest()
    problem = checksum_problem(found, actual)
    if problem is not None:
        with guard("artifacts", blob):
            staging.delete(container=naming.ARTIFACT_CONTAINER, name=blob)
        raise fail(
            "artifacts",
            "ChecksumMismatch",
            problem["message"],
            target=problem["target"],
            expected=found.sha256.lower(),
            actual=actual,
            index=found.index,
        )
    with guard("artifacts", blob):
        checksum = naming.artifact_checksum_blob(run.run_id, found.phase, found.index)
        staging.upload(
            container=naming.ARTIFACT_CONTAINER, name=checksum, data=actual.encode(), overwrite=True
        )
    shown = redact.url(found.uri)
    return StagedArtifact(phase=found.phase, index=found.index, uri=shown, blob=blob, sha256=actual)


def sha256_of(found: ArtifactUri, ports: BuildPorts, *, name_the_step: bool = True) -> str:
    """The artifact's sha256, read through once (preflight's check)."""
    digest = hashlib.sha256()
    for chunk in chunks(found, ports, name_the_step=name_the_step):
        digest.update(chunk)
    return digest.hexdigest()


def chunks(found: ArtifactUri, ports: BuildPorts, *, name_the_step: bool = True) -> Iterator[bytes]:
    """The artifact's bytes a chunk at a time: from Azure Storage through the Blobs port, otherwise over
    https.

    The one place a source URL is read. A storage URL carrying the user's SAS is read with that SAS (and
    nothing else: the SAS is what the user granted); one without is read with the ports' own credential.
    Either way the URL is shown redacted in every message.
    """
    if is_storage_url(found.uri):
        account, container, name = split_blob_url(found.uri)
        sas = user_sas(found.uri)
        account_url = f"{account}?{sas}" if sas else account
        yield from ports.blobs(account_url=account_url).download_chunks(container=container, name=name)
        return
    try:
        yield from ports.fetcher.stream(url=found.uri)
    except AzureError as e:
        if not name_the_step:  # the caller names it
            raise
        # The fetcher names the URL (redacted); the run's message also names the step it belongs to.
        named = f" '{found.name}'" if found.name else ""
        e.message = f"{found.phase} step {found.index}{named} ({found.field}): {e.message}"
        e.args = (e.message,)
        raise
