"""kiln's settings: one pydantic-settings class, read from app settings (environment variables)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_STORAGE = "UseDevelopmentStorage=true"


class Settings(BaseSettings):
    """Every setting kiln reads. Names are the app-setting names, prefixed ``KILN_``."""

    model_config = SettingsConfigDict(env_prefix="KILN_", extra="ignore", populate_by_name=True)

    storage_connection_string: str = Field(
        default=DEVELOPMENT_STORAGE,
        validation_alias=AliasChoices("KILN_STORAGE_CONNECTION_STRING", "AzureWebJobsStorage"),
        description="Blob Storage holding templates, triggers, runs and run outputs.",
    )
    store_container: str = Field(default="kiln", description="Container of kiln's own documents.")
    api_page_size: int = Field(
        default=100, ge=1, le=1000, description="Items per page of the REST API's lists."
    )
    azure_mode: Literal["azure", "sim"] = Field(
        default="azure", description="'azure' talks to Azure; 'sim' to azuresim (local mode)."
    )
    azure_cloud: Literal["AzureCloud", "AzureUSGovernment", "AzureChinaCloud"] = "AzureCloud"
    sim_base_url: str = "https://127.0.0.1:8443"
    sim_ca_file: str = ""
    # Azure access (shared/bootstrap/ builds every client from these).
    subscription_id: str = Field(default="", description="Subscription kiln builds in.")
    tenant_id: str = Field(default="", description="Entra tenant; empty lets the credential decide.")
    managed_identity_client_id: str = Field(
        default="", description="Client id of the user-assigned identity kiln runs as; empty: default chain."
    )
    key_vault_url: str = Field(
        default="", description="Key Vault holding build secrets (https://<name>.vault…)."
    )
    key_vault_id: str = Field(
        default="", description="ARM id of that Key Vault (deployments reference the admin password by it)."
    )
    sim_key_vault_url: str = Field(
        default="", description="azuresim's Key Vault URL; empty: the sim base URL."
    )
    http_connect_timeout: float = Field(default=10.0, gt=0, description="Seconds to open a connection.")
    http_read_timeout: float = Field(default=60.0, gt=0, description="Seconds to wait for a response.")
    retry_total: int = Field(default=4, ge=0, description="In-process retries of one Azure request.")
    max_retry_after: float = Field(
        default=30.0,
        ge=0,
        description="Longest Retry-After slept in-process; longer waits go back to the caller.",
    )
    lro_poll_seconds: float = Field(
        default=5.0, gt=0, description="Poll interval of the few synchronous LROs."
    )
    # Runs (issue 6).
    timing_profile: Literal["azure", "local"] = Field(
        default="azure",
        description="'azure': TimingPolicy defaults; 'local': short retries and polls (builds take seconds).",
    )
    time_scale: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="local profile: how fast the simulated Azure's clock runs (azuresim's latency scale).",
    )
    poll_scale: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="local profile: the clock of the first look of every wait (default: time_scale); with "
        "real VMs azuresim's latency scale, where its simulated operations end.",
    )
    log_follow_seconds: float = Field(
        default=15.0, ge=0, le=120, description="Longest wait of GET …/runs/{runId}/log?follow=true."
    )
    # Tracing (docs/observability.md): Azure Monitor in Azure, else a local file of OTLP/JSON lines.
    applicationinsights_connection_string: str = Field(
        default="",
        validation_alias=AliasChoices("APPLICATIONINSIGHTS_CONNECTION_STRING"),
        description="Application Insights of kiln in Azure: runs' traces and log lines (Entra auth).",
    )
    trace_azure_calls: bool = Field(
        default=True,
        description="With Application Insights: record every Azure SDK call as a dependency (two items per "
        "call: the SDK method and its HTTP request; the distro keeps 5 per second per process). false: runs' "
        "spans and log lines only.",
    )
    trace_file: str = Field(
        default="",
        description="No Application Insights: a file the runs' spans are appended to as OTLP/JSON lines.",
    )
    # Outbound fetches and callers (docs/security.md).
    fetch_allowed_hosts: str = Field(
        default="",
        description="Comma-separated hosts (or host:port) the artifact fetcher may reach although they "
        "resolve to a loopback, link-local or private address; local mode names its artifact server.",
    )
    fetch_max_bytes: int = Field(
        default=256 * 1024 * 1024, ge=1, description="Largest artifact (script or file) kiln downloads."
    )
    fetch_total_seconds: float = Field(
        default=600.0, gt=0, description="Longest time one artifact download may take, redirects included."
    )
    trust_easy_auth: bool = Field(
        default=False,
        description="App Service authentication is enabled (the platform then strips and sets the "
        "x-ms-client-principal headers); only then does kiln read the caller's principal from them.",
    )
    # Builds that start by themselves. functions/timers.py reads the schedule from the environment when
    # the app is indexed (the host needs it before any Settings exists); the field documents it.
    source_poll_schedule: str = Field(
        default="0 */30 * * * *",
        description="NCRONTAB schedule of the SourceImage trigger poll (Marketplace sources, missed events).",
    )
    # Patch cycles (docs/cycles.md). functions/timers.py reads the tick's schedule from the environment.
    cycle_tick_schedule: str = Field(
        default="0 * * * * *", description="NCRONTAB schedule of the timer that starts due patch cycles."
    )
    cycle_max_builds: int = Field(
        default=20, ge=1, le=1000, description="Most builds patch cycles run at once, across every cycle."
    )
    cycle_start_spacing_seconds: float = Field(
        default=5.0, ge=0, description="Mean gap between two starts of a cycle (jittered ±50 %)."
    )
    cycle_poll_seconds: float = Field(
        default=30.0, gt=0, description="How often a cycle looks at its builds in flight."
    )
    cycle_completions_per_generation: int = Field(
        default=50, ge=1, description="A cycle continues as new after this many finished builds."
    )
    cycle_late_after_seconds: float = Field(
        default=300.0, ge=0, description="A cycle starting this long after its due time is marked late."
    )
    trigger_failures_to_disable: int = Field(
        default=3, ge=1, le=10, description="Consecutive failed triggered builds that disable a trigger."
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once (never at import time)."""
    return Settings()
