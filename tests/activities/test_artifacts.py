"""stage_artifacts: fetched over https or from Azure Storage, sha256 verified, kept in the staging account."""

from __future__ import annotations

import hashlib
import tracemalloc
from collections.abc import Iterator

from activities import stage_artifacts
from shared import naming
from shared.models.durable import ArtifactsInput
from tests.activities.support import deployed, linux_template, world
from tests.fakes.storage import Sink

SCRIPT = b"#!/bin/sh\necho hello\n"
SHA = hashlib.sha256(SCRIPT).hexdigest()


def test_scripts_and_files_are_verified_and_stored_in_the_staging_account() -> None:
    fake = world()
    fake.fetcher.pages["https://example.com/setup.sh"] = SCRIPT
    fake.cloud.blobs["https://userstore.blob.core.windows.net/scripts/check.sh"] = bytearray(
        b"test -f /tmp/f"
    )
    template = linux_template(
        customize=[
            {"type": "Shell", "inline": ["echo inline"]},
            {"type": "Shell", "scriptUri": "https://example.com/setup.sh", "sha256Checksum": SHA},
        ],
        validate={
            "inVMValidations": [
                {"type": "Shell", "scriptUri": "https://userstore.blob.core.windows.net/scripts/check.sh"}
            ]
        },
    )
    run, _, _, vm = deployed(fake, template)

    out = stage_artifacts.run(ArtifactsInput(run=run, template=template, vm=vm), ports=fake)

    assert out.error is None
    assert [(s.phase, s.index) for s in out.staged] == [("customize", 1), ("validate", 0)]
    staging = fake.blobs(account_url=fake.storage_account_url(vm.storage_account))
    stored = staging.download(
        container=naming.ARTIFACT_CONTAINER, name=naming.artifact_blob(run.run_id, "customize", 1)
    )
    assert stored == SCRIPT
    assert (
        staging.download(
            container=naming.ARTIFACT_CONTAINER, name=naming.artifact_blob(run.run_id, "validate", 0)
        )
        == b"test -f /tmp/f"
    )


def test_a_checksum_mismatch_names_the_customizer_and_both_hashes() -> None:
    fake = world()
    fake.fetcher.pages["https://example.com/setup.sh"] = SCRIPT
    wrong = "0" * 64
    template = linux_template(
        customize=[
            {"type": "Shell", "inline": ["true"]},
            {"type": "Shell", "scriptUri": "https://example.com/setup.sh", "sha256Checksum": wrong},
        ]
    )
    run, _, _, vm = deployed(fake, linux_template())  # the script changed after preflight checked it

    out = stage_artifacts.run(ArtifactsInput(run=run, template=template, vm=vm), ports=fake)

    assert out.error is not None
    assert out.error.code == "ChecksumMismatch" and out.error.phase == "artifacts"
    assert out.error.target == "properties.customize[1].sha256Checksum"
    assert SHA in out.error.message and wrong in out.error.message
    assert out.error.details == [{"expected": wrong, "actual": SHA, "index": 1}]


def test_an_unreachable_script_is_a_phase_error_naming_the_field() -> None:
    fake = world()
    template = linux_template(customize=[{"type": "Shell", "scriptUri": "https://example.com/gone.sh"}])
    run, _, _, vm = deployed(fake, linux_template())  # the script vanished after preflight

    out = stage_artifacts.run(ArtifactsInput(run=run, template=template, vm=vm), ports=fake)

    assert out.error is not None and out.error.code == "ArtifactNotFound"


def test_a_checksum_mismatch_leaves_no_staged_blob() -> None:
    fake = world()
    fake.fetcher.pages["https://example.com/setup.sh"] = SCRIPT
    template = linux_template(
        customize=[{"type": "Shell", "scriptUri": "https://example.com/setup.sh", "sha256Checksum": "0" * 64}]
    )
    run, _, _, vm = deployed(fake, linux_template())

    out = stage_artifacts.run(ArtifactsInput(run=run, template=template, vm=vm), ports=fake)

    assert out.error is not None and out.error.code == "ChecksumMismatch"
    staging = fake.blobs(account_url=fake.storage_account_url(vm.storage_account))
    assert staging.list_names(container=naming.ARTIFACT_CONTAINER) == []


GIB = 1024**3
MIB = 1024 * 1024


def _zeros(size: int) -> Iterator[bytes]:
    """A large file's chunks made on demand: the test holds one chunk at a time, as kiln must."""
    block = bytes(MIB)
    for _ in range(size // MIB):
        yield block


def test_a_1_gib_file_is_staged_a_chunk_at_a_time_and_only_its_sha256_enters_the_output() -> None:
    fake = world()
    url = "https://example.com/payload.bin"
    fake.fetcher.pages[url] = lambda: _zeros(GIB)
    digest = hashlib.sha256()
    for chunk in _zeros(GIB):
        digest.update(chunk)
    sha = digest.hexdigest()
    template = linux_template(
        customize=[
            {"type": "File", "sourceUri": url, "destination": "/tmp/payload.bin", "sha256Checksum": sha}
        ]
    )
    run, _, _, vm = deployed(fake, template)
    staging = fake.blobs(account_url=fake.storage_account_url(vm.storage_account))
    sink = staging.sinks[naming.artifact_blob(run.run_id, "customize", 0)] = Sink()

    tracemalloc.start()
    try:
        out = stage_artifacts.run(ArtifactsInput(run=run, template=template, vm=vm), ports=fake)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert out.error is None, out.error
    assert (sink.size, sink.digest.hexdigest()) == (GIB, sha) and sink.largest <= MIB
    assert peak < 16 * MIB, f"peak {peak / MIB:.1f} MiB while staging 1 GiB"
    # What goes to Durable history is the staged blob's name and sha256, never the bytes.
    assert len(out.model_dump_json()) < 1024 and out.staged[0].sha256 == sha
