"""The ports of the build's activities, as the composition root hands them over."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared import ports
from shared.bootstrap.endpoints import storage_account_url

if TYPE_CHECKING:
    from shared.bootstrap.root import Kiln


class BuildPorts:
    """What the build's activities reach the world through (``ports.BuildPorts``): the root's Azure ports
    (kiln's own identity's, or with ``acting_as`` a template identity's), the artifact fetcher, the run
    recorder, and where the vault and the staging accounts are."""

    def __init__(self, kiln: Kiln, azure: ports.AzurePortSet | None = None) -> None:
        self._kiln = kiln
        self._azure = azure
        self.key_vault_id = kiln.settings.key_vault_id

    @property
    def azure(self) -> ports.AzurePortSet:
        return self._azure or self._kiln.azure

    def acting_as(self, identity_id: str | None) -> ports.BuildPorts:
        """These ports with every Azure call made as ``identity_id`` (None: as kiln itself)."""
        if not identity_id:
            return self
        return BuildPorts(self._kiln, self._kiln.acting_as(identity_id))

    def cannot_act_as(self, identity_id: str) -> str | None:
        return self._kiln.cannot_act_as(identity_id)

    @property
    def resource_groups(self) -> ports.ResourceGroups:
        return self.azure.resource_groups

    @property
    def resources(self) -> ports.Resources:
        return self.azure.resources

    @property
    def deployments(self) -> ports.Deployments:
        return self.azure.deployments

    @property
    def virtual_machines(self) -> ports.VirtualMachines:
        return self.azure.virtual_machines

    @property
    def run_commands(self) -> ports.RunCommands:
        return self.azure.run_commands

    @property
    def disks(self) -> ports.Disks:
        return self.azure.disks

    @property
    def managed_images(self) -> ports.ManagedImages:
        return self.azure.managed_images

    @property
    def galleries(self) -> ports.Galleries:
        return self.azure.galleries

    @property
    def marketplace(self) -> ports.Marketplace:
        return self.azure.marketplace

    @property
    def secrets(self) -> ports.Secrets:
        return self.azure.secrets

    @property
    def access(self) -> ports.Access:
        return self.azure.access

    @property
    def limits(self) -> ports.Limits:
        return self.azure.limits

    def blobs(self, *, account_url: str | None = None) -> ports.Blobs:
        return self.azure.blobs(account_url=account_url)

    @property
    def fetcher(self) -> ports.ArtifactFetcher:
        return self._kiln.fetcher

    @property
    def runs(self) -> ports.RunRecorder:
        return self._kiln.service.records

    def storage_account_url(self, name: str) -> str:
        return storage_account_url(self._kiln.settings, name)
