"""Credentials: Entra ID for Azure (default chain or a user-assigned identity), a fixed token for azuresim."""

from __future__ import annotations

import time
from typing import Any

from azure.core.credentials import AccessToken, TokenCredential
from azure.identity import AzureAuthorityHosts, DefaultAzureCredential, ManagedIdentityCredential

AUTHORITIES = {
    "AzureCloud": AzureAuthorityHosts.AZURE_PUBLIC_CLOUD,
    "AzureUSGovernment": AzureAuthorityHosts.AZURE_GOVERNMENT,
    "AzureChinaCloud": AzureAuthorityHosts.AZURE_CHINA,
}


class StaticTokenCredential:
    """A ``TokenCredential`` returning one fixed bearer token (azuresim checks presence, not signature)."""

    def __init__(self, token: str = "kiln-sim-token") -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self._token, int(time.time()) + 3600)


def azure_credential(*, cloud: str, managed_identity_client_id: str, tenant_id: str) -> TokenCredential:
    """``ManagedIdentityCredential`` for a user-assigned identity by client id, else the default chain."""
    if managed_identity_client_id:
        return ManagedIdentityCredential(client_id=managed_identity_client_id)
    kwargs: dict[str, Any] = {"authority": AUTHORITIES[cloud]}
    if tenant_id:
        kwargs["additionally_allowed_tenants"] = [tenant_id]
    return DefaultAzureCredential(**kwargs)
