"""SDK client construction for ``shared/bootstrap/``: endpoints per cloud, credentials, TLS, retry policy.

Kept here so that nothing outside ``shared/azure/`` imports an Azure SDK; bootstrap imports this module only
when the first port is used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from azure.core import AzureClouds
from azure.core.credentials import TokenCredential
from azure.keyvault.secrets import SecretClient
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.core.tools import get_arm_endpoints
from azure.mgmt.resource.deployments import DeploymentsMgmtClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.storage.blob import BlobServiceClient

from shared.azure.connection import blob_service_from
from shared.azure.credentials import (
    SimIdentityCredential,
    StaticTokenCredential,
    azure_credential,
    identity_credential,
)
from shared.azure.errors import KilnRetryPolicy
from shared.azure.transport import storage_transport, transport
from shared.settings import Settings

SIM_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
SIM_ARM_SCOPE = "https://management.azure.com/.default"
CLOUDS = {
    "AzureCloud": AzureClouds.AZURE_PUBLIC_CLOUD,
    "AzureUSGovernment": AzureClouds.AZURE_US_GOVERNMENT,
    "AzureChinaCloud": AzureClouds.AZURE_CHINA_CLOUD,
}
# Azurite's documented development account (UseDevelopmentStorage=true); a published constant, not a secret.
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
ARM_CLIENTS: dict[str, Any] = {
    "resources": ResourceManagementClient,
    "deployments": DeploymentsMgmtClient,
    "compute": ComputeManagementClient,
}


@dataclass(frozen=True)
class ArmTarget:
    """Where ARM clients send requests and how they authenticate and verify TLS."""

    base_url: str
    credential_scopes: list[str]
    subscription_id: str
    connection_verify: str | bool = True
    client_kwargs: dict[str, Any] = field(default_factory=dict)


def lro_poll_seconds(settings: Settings) -> float:
    """The synchronous LROs' poll interval: ``lro_poll_seconds``, on the simulator's clock in the ``local``
    profile (as every wait of ``TimingPolicy.scaled``; ``poll_scale`` when set, as the first look of every
    wait): azuresim answers ``Retry-After: 0`` while real work (a disk's VHD export on a QEMU VM) is still
    running, and the SDK then waits this interval."""
    if settings.timing_profile == "local":
        scale = settings.time_scale if settings.poll_scale is None else settings.poll_scale
        return max(0.05, settings.lro_poll_seconds * scale)
    return settings.lro_poll_seconds


def arm_target(settings: Settings) -> ArmTarget:
    """The ARM endpoint, token scope and TLS settings for the configured mode and cloud."""
    common: dict[str, Any] = {
        "connection_timeout": settings.http_connect_timeout,
        "read_timeout": settings.http_read_timeout,
        "polling_interval": lro_poll_seconds(settings),
    }
    if settings.azure_mode == "sim":
        return ArmTarget(
            base_url=settings.sim_base_url.rstrip("/"),
            credential_scopes=[SIM_ARM_SCOPE],
            subscription_id=settings.subscription_id or SIM_SUBSCRIPTION,
            connection_verify=settings.sim_ca_file or True,
            client_kwargs=common,
        )
    endpoints = get_arm_endpoints(CLOUDS[settings.azure_cloud])
    return ArmTarget(
        base_url=str(endpoints["resource_manager"]).rstrip("/"),
        credential_scopes=list(endpoints["credential_scopes"]),
        subscription_id=settings.subscription_id,
        client_kwargs=common,
    )


def credential(settings: Settings) -> TokenCredential:
    """A fixed token for azuresim; Entra ID (user-assigned identity or the default chain) for Azure."""
    if settings.azure_mode == "sim":
        return StaticTokenCredential()
    return azure_credential(
        cloud=settings.azure_cloud,
        managed_identity_client_id=settings.managed_identity_client_id,
        tenant_id=settings.tenant_id,
    )


def credential_as(settings: Settings, identity_id: str, principal_of: Callable[[], str]) -> TokenCredential:
    """The credential of the user-assigned identity ``identity_id`` (held by the Function app): a managed
    identity token in Azure; in sim mode a token naming the identity's principal (``principal_of()``), so
    azuresim's RBAC decides what it may do."""
    if settings.azure_mode == "sim":
        return SimIdentityCredential(principal_of)
    return identity_credential(identity_id)


def arm_client(kind: str, *, settings: Settings, target: ArmTarget, cred: TokenCredential) -> Any:
    """One of the ARM management clients (``resources``, ``deployments``, ``compute``)."""
    retry = KilnRetryPolicy(max_retry_after=settings.max_retry_after, retry_total=settings.retry_total)
    connection = {
        "connection_verify": target.connection_verify,
        "connection_timeout": target.client_kwargs.get("connection_timeout"),
        "read_timeout": target.client_kwargs.get("read_timeout"),
    }
    return ARM_CLIENTS[kind](
        cred,
        target.subscription_id,
        base_url=target.base_url,
        credential_scopes=target.credential_scopes,
        retry_policy=retry,
        transport=transport(**{k: v for k, v in connection.items() if v is not None}),
        **target.client_kwargs,
    )


def secret_client(*, settings: Settings, target: ArmTarget, cred: TokenCredential) -> SecretClient:
    kwargs: dict[str, Any] = {
        "connection_timeout": settings.http_connect_timeout,
        "read_timeout": settings.http_read_timeout,
    }
    url = settings.key_vault_url
    if settings.azure_mode == "sim":
        url = settings.sim_key_vault_url or settings.sim_base_url
        # azuresim's challenge names the public vault resource, not 127.0.0.1.
        kwargs.update(verify_challenge_resource=False, connection_verify=target.connection_verify)
    return SecretClient(vault_url=url, credential=cred, transport=transport(**kwargs), **kwargs)


def blob_service(*, settings: Settings, cred: TokenCredential, account_url: str | None) -> BlobServiceClient:
    """Kiln's own storage (from the connection string: keyless ones signed with ``cred``) or a staging
    account by URL."""
    conn = settings.storage_connection_string
    if account_url is None:
        return blob_service_from(conn, lambda: cred)
    if "sig=" in account_url.partition("?")[2]:
        # A user's SAS in an artifact URL: that SAS is the whole credential, as for any holder of the URL.
        return BlobServiceClient(account_url, transport=storage_transport())
    if settings.azure_mode == "sim":
        # Staging accounts in azuresim are Azurite's account: its shared key, not a bearer token.
        parts = dict(p.split("=", 1) for p in conn.split(";") if "=" in p)
        key = {
            "account_name": parts.get("AccountName", AZURITE_ACCOUNT),
            "account_key": parts.get("AccountKey", AZURITE_KEY),
        }
        return BlobServiceClient(account_url, credential=key, transport=storage_transport())
    return BlobServiceClient(account_url, credential=cred, transport=storage_transport())
