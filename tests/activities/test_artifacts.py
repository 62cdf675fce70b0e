"""stage_artifacts: fetched over https or from Azure Storage, sha256 verified, kept in the staging account."""

from __future__ import annotations

import hashlib

from activities import stage_artifacts
from shared import naming
from shared.models.durable import ArtifactsInput
from tests.activities.support import deployed, linux_template, world

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
