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


LOCAL_MAX_POLL_SECONDS = 1.0


def timing_policy(settings: Settings) -> TimingPolicy:
    """The runs' timing: Azure's defaults, or (``local`` profile) the same policy on the simulator's clock,
    ``time_scale`` times Azure's (the local stack's latency scale).

    ``poll_scale`` (the local stack with real VMs) splits that clock: timeouts stay on ``time_scale`` (a
    tenth of Azure's, as a boot and a script take their real time), every wait's first look comes on
    ``poll_scale`` (azuresim's hundredth, where its simulated operations end), and no pause is longer than
    a second (what such a run waits on is a QEMU VM whose shutdown or export takes seconds, not Azure's
    minutes times the scale; a look costs a few ms of local CPU)."""
    if settings.timing_profile != "local":
        return TimingPolicy()
    policy = TimingPolicy().scaled(settings.time_scale)
    if settings.poll_scale is None:
        return policy
    first = TimingPolicy().scaled(settings.poll_scale).wait_poll_seconds
    return policy.model_copy(
        update={
            "wait_poll_seconds": min(first, policy.wait_poll_seconds),
            "max_wait_poll_seconds": min(policy.max_wait_poll_seconds, LOCAL_MAX_POLL_SECONDS),
            "step_wait_poll_seconds": min(policy.step_wait_poll_seconds, LOCAL_MAX_POLL_SECONDS),
        }
    )


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
