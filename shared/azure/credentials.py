"""Credentials: Entra ID for Azure (default chain or a user-assigned identity), a fixed token for azuresim."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from azure.core.credentials import AccessToken, TokenCredential
from azure.core.exceptions import ClientAuthenticationError
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


class SimIdentityCredential:
    """azuresim's token for a user-assigned identity: an unsigned JWT whose ``oid`` is the identity's
    principal id, so azuresim's RBAC decides what the identity may do. The principal is looked up (through
    kiln's own ARM ports) on the first token, not when the credential is made."""

    def __init__(self, principal_of: Callable[[], str]) -> None:
        self._principal_of = principal_of
        self._token = ""
        self._lock = threading.Lock()

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        with self._lock:
            if not self._token:
                principal = self._principal_of()
                if not principal:  # a token without oid is azuresim's owner: never hand one out
                    raise ClientAuthenticationError("the identity has no principalId")
                self._token = unsigned_jwt({"oid": principal})
        return AccessToken(self._token, int(time.time()) + 3600)


def unsigned_jwt(claims: dict[str, Any]) -> str:
    """A JWT with ``alg: none`` (azuresim reads the claims, it checks no signature)."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return ".".join([part({"alg": "none", "typ": "JWT"}), part(claims), "sim"])


def identity_credential(identity_id: str) -> TokenCredential:
    """The credential of a user-assigned identity the Function app holds, by its resource id (the App
    Service managed identity endpoint accepts ``mi_res_id``; no client-id lookup is needed)."""
    return ManagedIdentityCredential(identity_config={"resource_id": identity_id})


def azure_credential(*, cloud: str, managed_identity_client_id: str, tenant_id: str) -> TokenCredential:
    """``ManagedIdentityCredential`` for a user-assigned identity by client id, else the default chain."""
    if managed_identity_client_id:
        return ManagedIdentityCredential(client_id=managed_identity_client_id)
    kwargs: dict[str, Any] = {"authority": AUTHORITIES[cloud]}
    if tenant_id:
        kwargs["additionally_allowed_tenants"] = [tenant_id]
    return DefaultAzureCredential(**kwargs)
