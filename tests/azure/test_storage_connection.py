"""kiln's own storage without a key: ``KILN_STORAGE_CONNECTION_STRING=BlobEndpoint=https://…`` (as infra/
sets it) makes the document store and the blob port sign requests with kiln's Entra credential."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

from shared.azure.connection import StorageConnectionError, blob_service_from, parse_storage_connection
from shared.azure.docstore import BlobDocuments
from shared.bootstrap import Overrides, bootstrap
from shared.settings import Settings
from tests.fakes import FakeAzure

ENDPOINT = "https://stkilnabc.blob.core.windows.net"
SUB = "11111111-2222-3333-4444-555555555555"


class Refused(Exception):
    """Raised by the recording credential so that no request leaves the process."""


class RecordingCredential:
    """A TokenCredential (a framework object) that records the scopes asked for, then refuses."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        raise Refused("no token here")


@pytest.mark.parametrize(
    "conn", [f"BlobEndpoint={ENDPOINT}", f"BlobEndpoint={ENDPOINT}/;", f" blobendpoint = {ENDPOINT} ;"]
)
def test_a_blob_endpoint_without_a_key_is_keyless(conn: str) -> None:
    parsed = parse_storage_connection(conn)

    assert parsed.keyless and parsed.blob_endpoint == ENDPOINT


@pytest.mark.parametrize(
    "conn",
    [
        "UseDevelopmentStorage=true",
        "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=a2V5;EndpointSuffix=core.windows.net",
        f"BlobEndpoint={ENDPOINT};SharedAccessSignature=sv=2024&sig=abc%3D",
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;",
    ],
)
def test_a_connection_string_with_a_key_sas_or_azurite_is_not_keyless(conn: str) -> None:
    assert not parse_storage_connection(conn).keyless


@pytest.mark.parametrize(
    ("conn", "says"),
    [("AccountName=stkiln", "BlobEndpoint="), ("BlobEndpoint=http://stkiln.example", "must be https")],
)
def test_a_keyless_string_kiln_cannot_use_is_refused_naming_the_setting(conn: str, says: str) -> None:
    with pytest.raises(StorageConnectionError, match="KILN_STORAGE_CONNECTION_STRING") as raised:
        parse_storage_connection(conn)
    assert says in str(raised.value)


def test_a_keyless_service_is_signed_by_the_credential_and_a_keyed_one_never_asks_for_it() -> None:
    cred = RecordingCredential()
    asked: list[bool] = []

    def credential() -> RecordingCredential:
        asked.append(True)
        return cred

    keyless = blob_service_from(f"BlobEndpoint={ENDPOINT};", credential)
    keyed = blob_service_from("UseDevelopmentStorage=true", credential)

    assert keyless.credential is cred and keyless.url.startswith(ENDPOINT)
    assert keyed.credential.account_name == "devstoreaccount1"
    assert asked == [True]


def test_the_document_store_asks_the_credential_for_a_storage_token_on_its_first_request() -> None:
    cred = RecordingCredential()
    documents = BlobDocuments(
        connection_string=f"BlobEndpoint={ENDPOINT}", container="kiln", credential=lambda: cred
    )

    with pytest.raises(Refused):
        documents.read(key="templates/x.json")

    assert cred.scopes and cred.scopes[0] == ("https://storage.azure.com/.default",)


def test_the_root_signs_keyless_storage_with_kilns_user_assigned_identity() -> None:
    settings = Settings(
        azure_mode="azure",
        subscription_id=SUB,
        managed_identity_client_id="client-id-of-kiln",
        storage_connection_string=f"BlobEndpoint={ENDPOINT}",
    )
    kiln = bootstrap(settings)

    credential = kiln.entra_credential()
    blobs = kiln.azure.blobs()

    assert isinstance(credential, ManagedIdentityCredential)
    assert credential is kiln.azure.credential  # one credential for ARM, Key Vault and storage
    assert blobs._service.credential is credential  # type: ignore[attr-defined]
    assert kiln.documents._credential == kiln.entra_credential  # type: ignore[attr-defined]


def test_with_the_azure_ports_overridden_the_credential_still_comes_from_settings() -> None:
    settings = Settings(azure_mode="azure", storage_connection_string=f"BlobEndpoint={ENDPOINT}")

    kiln = bootstrap(settings, overrides=Overrides(azure=FakeAzure()))

    assert isinstance(kiln.entra_credential(), DefaultAzureCredential)
