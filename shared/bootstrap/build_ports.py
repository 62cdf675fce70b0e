"""The ports of the build's activities, as the composition root hands them over."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared import ports
from shared.bootstrap.endpoints import storage_account_url

if TYPE_CHECKING:
    from shared.bootstrap.root import Kiln


class BuildPorts:
    """What the build's activities reach the world through (``ports.BuildPorts``): the root's Azure ports,
    the artifact fetcher, the run recorder, and where the vault and the staging accounts are."""

    def __init__(self, kiln: Kiln) -> None:
        self._kiln = kiln
        self.key_vault_id = kiln.settings.key_vault_id

    @property
    def resource_groups(self) -> ports.ResourceGroups:
        return self._kiln.azure.resource_groups

    @property
    def resources(self) -> ports.Resources:
        return self._kiln.azure.resources

    @property
    def deployments(self) -> ports.Deployments:
        return self._kiln.azure.deployments

    @property
    def virtual_machines(self) -> ports.VirtualMachines:
        return self._kiln.azure.virtual_machines

    @property
    def run_commands(self) -> ports.RunCommands:
        return self._kiln.azure.run_commands

    @property
    def disks(self) -> ports.Disks:
        return self._kiln.azure.disks

    @property
    def managed_images(self) -> ports.ManagedImages:
        return self._kiln.azure.managed_images

    @property
    def galleries(self) -> ports.Galleries:
        return self._kiln.azure.galleries

    @property
    def marketplace(self) -> ports.Marketplace:
        return self._kiln.azure.marketplace

    @property
    def secrets(self) -> ports.Secrets:
        return self._kiln.azure.secrets

    @property
    def access(self) -> ports.Access:
        return self._kiln.azure.access

    @property
    def limits(self) -> ports.Limits:
        return self._kiln.azure.limits

    def blobs(self, *, account_url: str | None = None) -> ports.Blobs:
        return self._kiln.azure.blobs(account_url=account_url)

    @property
    def fetcher(self) -> ports.ArtifactFetcher:
        return self._kiln.fetcher

    @property
    def runs(self) -> ports.RunRecorder:
        return self._kiln.service.records

    def storage_account_url(self, name: str) -> str:
        return storage_account_url(self._kiln.settings, name)
