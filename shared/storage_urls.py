"""Where a storage account's blobs are: the one place the API (run logs) and the activities look it up."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.settings import Settings

BLOB_SUFFIXES = {
    "AzureCloud": "blob.core.windows.net",
    "AzureUSGovernment": "blob.core.usgovcloudapi.net",
    "AzureChinaCloud": "blob.core.chinacloudapi.cn",
}
AZURITE_BLOB = "http://127.0.0.1:10000/devstoreaccount1"


def sim_blob_endpoint(connection_string: str) -> str:
    """Azurite's blob endpoint from a connection string (``UseDevelopmentStorage=true``: the default one)."""
    parts = dict(p.split("=", 1) for p in connection_string.split(";") if "=" in p)
    return parts.get("BlobEndpoint", AZURITE_BLOB).rstrip("/")


def staging_account_url(settings: Settings, account: str) -> str:
    """The blob endpoint of a staging storage account kiln created (in sim mode: Azurite's, for all)."""
    if settings.azure_mode == "sim":
        return sim_blob_endpoint(settings.storage_connection_string)
    return f"https://{account}.{BLOB_SUFFIXES[settings.azure_cloud]}"
