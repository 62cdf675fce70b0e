"""The Azure adapters, built on first use from settings: the part of the composition root that makes SDK
clients (``shared/azure/clients.py`` holds the SDK calls). Importing it imports no SDK.

Two modes: ``azure`` (Entra ID: a user-assigned identity when its client id is set, the default chain
otherwise; the configured cloud's endpoints) and ``sim`` (azuresim's base URL and CA, a fixed bearer token,
Azurite for every storage account). ``AzurePorts(settings, credential=…)`` is the same set acting as another
identity: ``Kiln.acting_as`` builds one per template identity (docs/security.md).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import cached_property
from typing import TYPE_CHECKING, Any

from shared import ports
from shared.settings import Settings

if TYPE_CHECKING:
    from shared.azure.clients import ArmTarget

# Blob service clients kept per storage account (kiln's own and the staging accounts of builds in flight):
# a client holds its HTTP connection pool, so a look at a step's log reuses a connection instead of opening
# one and building a pipeline each time. Bounded: staging accounts come and go with the runs.
BLOB_CLIENTS_KEPT = 64


class AzurePorts:
    """Every Azure port over the real adapters, each built on first use (``ports.AzurePortSet``)."""

    def __init__(self, settings: Settings, *, credential: Any = None) -> None:
        self.settings = settings
        self._blob_clients: OrderedDict[str | None, ports.Blobs] = OrderedDict()
        self._blob_lock = threading.Lock()
        if credential is not None:
            self.credential = credential  # fills the cached property: every client signs with it

    @cached_property
    def target(self) -> ArmTarget:
        from shared.azure.clients import arm_target

        return arm_target(self.settings)

    @cached_property
    def credential(self) -> Any:
        """kiln's own identity's credential, unless the set was made with another one."""
        from shared.azure.clients import credential

        return credential(self.settings)

    def _arm(self, kind: str) -> Any:
        from shared.azure.clients import arm_client

        return arm_client(kind, settings=self.settings, target=self.target, cred=self.credential)

    @cached_property
    def _resource_client(self) -> Any:
        return self._arm("resources")

    @cached_property
    def _deployments_client(self) -> Any:
        return self._arm("deployments")

    @cached_property
    def _compute_client(self) -> Any:
        return self._arm("compute")

    @cached_property
    def resource_groups(self) -> ports.ResourceGroups:
        from shared.azure.resources import AzureResourceGroups

        return AzureResourceGroups(self._resource_client)

    @cached_property
    def resources(self) -> ports.Resources:
        from shared.azure.resources import AzureResources

        return AzureResources(self._resource_client)

    @cached_property
    def deployments(self) -> ports.Deployments:
        from shared.azure.resources import AzureDeployments

        return AzureDeployments(self._deployments_client)

    @cached_property
    def virtual_machines(self) -> ports.VirtualMachines:
        from shared.azure.compute import AzureVirtualMachines

        return AzureVirtualMachines(self._compute_client)

    @cached_property
    def run_commands(self) -> ports.RunCommands:
        from shared.azure.compute import AzureRunCommands

        return AzureRunCommands(self._compute_client)

    @cached_property
    def disks(self) -> ports.Disks:
        from shared.azure.compute import AzureDisks

        return AzureDisks(self._compute_client)

    @cached_property
    def managed_images(self) -> ports.ManagedImages:
        from shared.azure.images import AzureManagedImages

        return AzureManagedImages(self._compute_client)

    @cached_property
    def galleries(self) -> ports.Galleries:
        from shared.azure.images import AzureGalleries

        return AzureGalleries(self._compute_client)

    @cached_property
    def marketplace(self) -> ports.Marketplace:
        from shared.azure.marketplace import AzureMarketplace

        return AzureMarketplace(self._compute_client)

    @cached_property
    def secrets(self) -> ports.Secrets:
        from shared.azure.clients import secret_client
        from shared.azure.secrets import AzureSecrets

        return AzureSecrets(secret_client(settings=self.settings, target=self.target, cred=self.credential))

    @cached_property
    def access(self) -> ports.Access:
        from shared.azure.access import AzureAccess

        return AzureAccess(self._resource_client, self.target.subscription_id)

    @cached_property
    def limits(self) -> ports.Limits:
        from shared.azure.limits import AzureLimits

        return AzureLimits(self._resource_client, self.target.subscription_id)

    def blobs(self, *, account_url: str | None = None) -> ports.Blobs:
        """Blobs of one storage account: kiln's own (from the connection string) or a staging one by URL; one
        client per account, reused by every call (a URL carrying a user's SAS gets its own, never kept)."""
        from shared.azure.blobs import AzureBlobs
        from shared.azure.clients import blob_service

        def make() -> ports.Blobs:
            return AzureBlobs(
                blob_service(settings=self.settings, cred=self.credential, account_url=account_url)
            )

        if account_url is not None and "sig=" in account_url.partition("?")[2]:
            return make()
        with self._blob_lock:
            found = self._blob_clients.get(account_url)
            if found is not None:
                self._blob_clients.move_to_end(account_url)
                return found
        made = make()
        with self._blob_lock:
            found = self._blob_clients.setdefault(account_url, made)
            self._blob_clients.move_to_end(account_url)
            while len(self._blob_clients) > BLOB_CLIENTS_KEPT:
                self._blob_clients.popitem(last=False)
        return found
