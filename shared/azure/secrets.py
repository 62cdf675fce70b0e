"""Adapter over azure-keyvault-secrets: get / set / delete one secret by name."""

from __future__ import annotations

from azure.keyvault.secrets import SecretClient

from shared.azure.errors import azure_errors, missing_ok


class AzureSecrets:
    """Secrets of one Key Vault. Values are never logged nor put into error messages."""

    def __init__(self, client: SecretClient) -> None:
        self._client = client

    def get(self, *, name: str) -> str:
        with azure_errors(name):
            return str(self._client.get_secret(name).value or "")

    def set(self, *, name: str, value: str) -> None:
        with azure_errors(name):
            self._client.set_secret(name, value)

    def delete(self, *, name: str) -> None:
        # Soft-delete makes deletion an LRO; the secret is unusable as soon as the first request is accepted.
        with missing_ok(name):
            self._client.begin_delete_secret(name)
