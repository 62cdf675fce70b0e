"""The ports of activities in the function app: ``AzurePorts`` plus the fetcher, vault id and blob URLs."""

from __future__ import annotations

from functools import cached_property

from shared import ports
from shared.bootstrap import AzurePorts, bootstrap
from shared.settings import Settings, get_settings
from shared.storage_urls import staging_account_url


class ActivityPorts:
    """``AzurePorts`` with what only the build needs; each client is still built on first use."""

    def __init__(self, azure: AzurePorts, settings: Settings) -> None:
        self._azure = azure
        self._settings = settings
        self.key_vault_id = settings.key_vault_id

    @property
    def resource_groups(self) -> ports.ResourceGroups:
        return self._azure.resource_groups

    @property
    def resources(self) -> ports.Resources:
        return self._azure.resources

    @property
    def deployments(self) -> ports.Deployments:
        return self._azure.deployments

    @property
    def virtual_machines(self) -> ports.VirtualMachines:
        return self._azure.virtual_machines

    @property
    def run_commands(self) -> ports.RunCommands:
        return self._azure.run_commands

    @property
    def disks(self) -> ports.Disks:
        return self._azure.disks

    @property
    def managed_images(self) -> ports.ManagedImages:
        return self._azure.managed_images

    @property
    def galleries(self) -> ports.Galleries:
        return self._azure.galleries

    @property
    def marketplace(self) -> ports.Marketplace:
        return self._azure.marketplace

    @property
    def secrets(self) -> ports.Secrets:
        return self._azure.secrets

    @cached_property
    def fetcher(self) -> ports.ArtifactFetcher:
        from shared.azure.fetcher import HttpsFetcher

        return HttpsFetcher(timeout=self._settings.http_read_timeout)

    def blobs(self, *, account_url: str | None = None) -> ports.Blobs:
        return self._azure.blobs(account_url=account_url)

    def storage_account_url(self, name: str) -> str:
        """The blob endpoint of a storage account kiln created (in sim mode: Azurite's)."""
        return staging_account_url(self._settings, name)


def activity_ports(settings: Settings | None = None) -> ActivityPorts:
    """The activity ports of this process."""
    settings = settings or get_settings()
    return ActivityPorts(bootstrap(settings), settings)
