"""kiln's settings: one pydantic-settings class, read from app settings (environment variables)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_STORAGE = "UseDevelopmentStorage=true"


class Settings(BaseSettings):
    """Every setting kiln reads. Names are the app-setting names, prefixed ``KILN_``."""

    model_config = SettingsConfigDict(env_prefix="KILN_", extra="ignore")

    storage_connection_string: str = Field(
        default=DEVELOPMENT_STORAGE,
        validation_alias=AliasChoices("KILN_STORAGE_CONNECTION_STRING", "AzureWebJobsStorage"),
        description="Blob Storage holding templates, triggers, runs and run outputs.",
    )
    store_container: str = Field(default="kiln", description="Container of kiln's own documents.")
    azure_mode: Literal["azure", "sim"] = Field(
        default="azure", description="'azure' talks to Azure; 'sim' to azuresim (local mode)."
    )
    azure_cloud: Literal["AzureCloud", "AzureUSGovernment", "AzureChinaCloud"] = "AzureCloud"
    sim_base_url: str = "https://127.0.0.1:8443"
    sim_ca_file: str = ""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once (never at import time)."""
    return Settings()
