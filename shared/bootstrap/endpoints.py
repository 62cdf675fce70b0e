"""What the composition root derives from settings alone: where a storage account's blobs are, and the
runs' timing policy."""

from __future__ import annotations

from shared.models.build import TimingPolicy
from shared.models.cycles import CyclePolicy
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


def storage_account_url(settings: Settings, account: str) -> str:
    """The blob endpoint of a storage account kiln created (in sim mode every account is Azurite's)."""
    if settings.azure_mode == "sim":
        return sim_blob_endpoint(settings.storage_connection_string)
    return f"https://{account}.{BLOB_SUFFIXES[settings.azure_cloud]}"


def timing_policy(settings: Settings) -> TimingPolicy:
    """The runs' timing: Azure's defaults, or (``local`` profile) the same policy on the simulator's clock,
    ``time_scale`` times Azure's (the local stack's latency scale)."""
    if settings.timing_profile == "local":
        return TimingPolicy().scaled(settings.time_scale)
    return TimingPolicy()


def cycle_policy(settings: Settings) -> CyclePolicy:
    """How patch cycles pace themselves: the settings, on the simulator's clock in the ``local`` profile."""
    scale = settings.time_scale if settings.timing_profile == "local" else 1.0
    return CyclePolicy(
        max_builds=settings.cycle_max_builds,
        start_batch=max(1, settings.cycle_max_builds // 4),
        start_spacing_seconds=settings.cycle_start_spacing_seconds * scale,
        poll_seconds=max(0.05, settings.cycle_poll_seconds * scale),
        completions_per_generation=settings.cycle_completions_per_generation,
    )
