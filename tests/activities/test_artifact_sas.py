"""A user's SAS in a storage scriptUri / sourceUri is honoured when the artifact is read, and never echoed.

The read goes through the real adapter against Azurite with a SAS signed by Azurite's key (as a user's
would be by theirs); the staging activity against the stateful fakes, with the SAS kept out of its answer.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from azure.core.credentials import AccessToken
from azure.storage.blob import BlobSasPermissions, BlobServiceClient, generate_blob_sas

from activities import stage_artifacts
from activities.support.uris import split_blob_url, user_sas
from shared.azure.blobs import AzureBlobs
from shared.azure.clients import blob_service
from shared.errors import AzureError
from shared.models.access import BLOB_READ, required_permissions
from shared.models.durable import ArtifactsInput
from shared.models.template import ImageTemplate
from shared.settings import Settings
from tests.activities.support import deployed, linux_template, world
from tests.support.azurite import ACCOUNT, KEY, Azurite

SCRIPT = b"#!/bin/sh\necho from a private container\n"


def _sas(name: str, container: str, *, read: bool = True, hours: float = 1) -> str:
    now = datetime.now(UTC)
    return generate_blob_sas(
        account_name=ACCOUNT,
        container_name=container,
        blob_name=name,
        account_key=KEY,
        permission=BlobSasPermissions(read=read, write=not read),
        start=now - timedelta(minutes=5),
        expiry=now + timedelta(hours=hours),
    )


def _private_blob(azurite: Azurite) -> tuple[str, str, str]:
    """(blob endpoint, container, blob name) of a script in a private container."""
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    container = f"user{uuid.uuid4().hex[:12]}"
    blobs = AzureBlobs(service)
    blobs.ensure_container(container=container)
    blobs.upload(container=container, name="tools/setup.sh", data=SCRIPT)
    return str(service.url).rstrip("/"), container, "tools/setup.sh"


class _NoToken:
    """A credential that fails the test if anything asks it for a token."""

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        raise AssertionError(f"a token was asked for {scopes}: the SAS alone must be used")


def _read(url: str) -> bytes:
    """Read ``url`` as stage_artifacts does: split it, and build the client from the account URL + SAS."""
    account, container, name = split_blob_url(url)
    sas = user_sas(url)
    settings = Settings(azure_mode="azure", storage_connection_string="UseDevelopmentStorage=true")
    service = blob_service(
        settings=settings,
        cred=_NoToken(),
        account_url=f"{account}?{sas}" if sas else account,
    )
    return AzureBlobs(service).download(container=container, name=name)


@pytest.mark.timeout(60)
def test_a_users_read_sas_reads_a_private_blob_and_a_wrong_one_fails_without_its_signature(
    azurite: Azurite,
) -> None:
    endpoint, container, name = _private_blob(azurite)
    good = _sas(name, container)
    assert _read(f"{endpoint}/{container}/{name}?{good}") == SCRIPT

    forged = good.replace("sig=", "sig=AAAA")
    with pytest.raises(AzureError) as refused:
        _read(f"{endpoint}/{container}/{name}?{forged}")
    signature = forged.split("sig=", 1)[1].split("&", 1)[0]
    assert signature not in str(refused.value) and signature not in refused.value.message

    expired = _sas(name, container, hours=-1)
    with pytest.raises(AzureError):
        _read(f"{endpoint}/{container}/{name}?{expired}")
    write_only = _sas(name, container, read=False)
    with pytest.raises(AzureError):
        _read(f"{endpoint}/{container}/{name}?{write_only}")


def test_user_sas_is_only_a_query_with_a_signature() -> None:
    signed = "https://a.blob.core.windows.net/c/x.sh?sv=2024&sp=r&sig=abc%3D"
    assert user_sas(signed) == "sv=2024&sp=r&sig=abc%3D"
    assert user_sas("https://a.blob.core.windows.net/c/x.sh?version=3") == ""
    assert split_blob_url("https://a.blob.core.windows.net/c/d/x.sh?sv=1&sig=s") == (
        "https://a.blob.core.windows.net",
        "c",
        "d/x.sh",
    )


def test_a_sas_url_is_staged_and_the_staged_record_shows_it_redacted() -> None:
    fake = world()
    url = "https://userstore.blob.core.windows.net/scripts/setup.sh"
    fake.cloud.blobs[url] = bytearray(SCRIPT)
    secret = "c2VjcmV0LXNpZ25hdHVyZQ%3D%3D"
    template = linux_template(
        customize=[
            {
                "type": "Shell",
                "scriptUri": f"{url}?sv=2024-08-04&sp=r&se=2099-01-01&sig={secret}",
                "sha256Checksum": hashlib.sha256(SCRIPT).hexdigest(),
            }
        ]
    )
    run, _, _, vm = deployed(fake, template)

    out = stage_artifacts.run(ArtifactsInput(run=run, template=template, vm=vm), ports=fake)

    assert out.error is None
    assert [s.sha256 for s in out.staged] == [hashlib.sha256(SCRIPT).hexdigest()]
    assert secret not in out.model_dump_json()
    assert "sig=" in out.staged[0].uri and out.staged[0].uri.startswith(url + "?")


def test_preflight_asks_the_identity_for_a_blob_read_role_only_where_no_sas_grants_it() -> None:
    plain = "https://userstore.blob.core.windows.net/scripts/a.sh"
    template = linux_template(
        customize=[
            {"type": "Shell", "scriptUri": plain},
            {"type": "Shell", "scriptUri": "https://userstore.blob.core.windows.net/tools/b.sh?sp=r&sig=x"},
        ]
    )
    reads = [r for r in required_permissions(ImageTemplate.model_validate(template)) if r.action == BLOB_READ]
    assert [(r.target, r.container) for r in reads] == [("properties.customize[0].scriptUri", "scripts")]
