"""Port-level contract: blobs (artifacts, append-blob logs, server-side copies) and Key Vault secrets."""

from __future__ import annotations

import uuid

import pytest

from shared.errors import AzureNotFound
from shared.ports import Blobs
from tests.azure.backends import Backend, poll

pytestmark = pytest.mark.timeout(60)


def staging_blobs(backend: Backend) -> tuple[Blobs, str]:
    blobs: Blobs = backend.ports.blobs(account_url=backend.blob_account_url())
    container = f"kiln-{uuid.uuid4().hex[:10]}"
    blobs.ensure_container(container=container)
    blobs.ensure_container(container=container)  # a second call is harmless
    return blobs, container


def test_artifacts_round_trip_and_list_by_prefix(backend: Backend) -> None:
    blobs, container = staging_blobs(backend)

    url = blobs.upload(container=container, name="scripts/0-setup.sh", data=b"#!/bin/sh\necho hi\n")
    blobs.upload(container=container, name="other.txt", data=b"x")

    assert url.endswith(f"/{container}/scripts/0-setup.sh")
    assert blobs.download(container=container, name="scripts/0-setup.sh") == b"#!/bin/sh\necho hi\n"
    assert blobs.list_names(container=container, prefix="scripts/") == ["scripts/0-setup.sh"]


def test_an_append_blob_log_is_followed_from_an_offset(backend: Backend) -> None:
    blobs, container = staging_blobs(backend)
    blobs.create_append_blob(container=container, name="customization.log")

    blobs.append(container=container, name="customization.log", data=b"line 1\n")
    first = blobs.read_from(container=container, name="customization.log", offset=0)
    blobs.append(container=container, name="customization.log", data=b"line 2\n")
    rest = blobs.read_from(container=container, name="customization.log", offset=len(first))

    assert first == b"line 1\n"
    assert rest == b"line 2\n"
    assert (
        blobs.read_from(container=container, name="customization.log", offset=len(first) + len(rest)) == b""
    )


def test_a_blob_is_copied_server_side_and_the_copy_polled_to_success(backend: Backend) -> None:
    blobs, container = staging_blobs(backend)
    vhd = bytes(range(256)) * 8
    source = blobs.upload(container=container, name="osdisk.vhd", data=vhd)

    blobs.begin_copy_from_url(source_url=source, container=container, name="copy.vhd")

    state = poll(
        lambda: blobs.get_copy_state(container=container, name="copy.vhd"), lambda s: s.status != "pending"
    )
    assert state.status == "success"
    assert blobs.download(container=container, name="copy.vhd") == vhd


def test_missing_blobs_are_not_found_and_deleting_them_succeeds(backend: Backend) -> None:
    blobs, container = staging_blobs(backend)

    with pytest.raises(AzureNotFound) as missing:
        blobs.download(container=container, name="nope")
    blobs.delete(container=container, name="nope")

    assert missing.value.code == "BlobNotFound"
    assert "\n" not in missing.value.message


def test_secrets_are_set_read_and_deleted_and_missing_ones_are_not_found(backend: Backend) -> None:
    secrets = backend.ports.secrets
    name = f"kiln-contract-{uuid.uuid4().hex[:8]}"

    secrets.set(name=name, value="first")
    secrets.set(name=name, value="second")
    value = secrets.get(name=name)
    secrets.delete(name=name)
    secrets.delete(name=name)

    assert value == "second"
    with pytest.raises(AzureNotFound):
        secrets.get(name=name)
