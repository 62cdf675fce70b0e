"""Stateful in-memory fakes of every port in ``shared/ports.py``, sharing one ``FakeCloud``, and of the
document store's port (``InMemoryDocuments``).

``FakeAzure`` is a ``ports.BuildPorts`` (every Azure port, the fetcher, a run recorder): the composition root
takes it as ``Overrides(azure=...)``, and activities run on it directly; tests assert on ``FakeAzure.cloud``
(resources, groups, blobs, secrets, calls) and on ``FakeAzure.runs``.
"""

from __future__ import annotations

from tests.fakes.access import FakeAccess, FakeLimits
from tests.fakes.cloud import SUBSCRIPTION, FakeCloud, arm_id
from tests.fakes.compute import FakeDisks, FakeRunCommands, FakeVirtualMachines, ScriptOutcome
from tests.fakes.documents import InMemoryDocuments
from tests.fakes.images import FakeGalleries, FakeManagedImages, FakeMarketplace
from tests.fakes.resources import FakeDeployments, FakeResourceGroups, FakeResources
from tests.fakes.runs import FakeRunRecorder
from tests.fakes.storage import FakeBlobs, FakeFetcher, FakeSecrets

KEY_VAULT_ID = arm_id("kiln-rg", "Microsoft.KeyVault/vaults", "kiln-fake-kv")


class FakeAzure:
    """Every port, faked over one shared in-memory subscription."""

    def __init__(self, cloud: FakeCloud | None = None) -> None:
        self.cloud = cloud or FakeCloud()
        self.resource_groups = FakeResourceGroups(self.cloud)
        self.resources = FakeResources(self.cloud)
        self.deployments = FakeDeployments(self.cloud)
        self.virtual_machines = FakeVirtualMachines(self.cloud)
        self.run_commands = FakeRunCommands(self.cloud)
        self.disks = FakeDisks(self.cloud)
        self.managed_images = FakeManagedImages(self.cloud)
        self.galleries = FakeGalleries(self.cloud)
        self.marketplace = FakeMarketplace(self.cloud)
        self.secrets = FakeSecrets(self.cloud)
        self.access = FakeAccess(self.cloud)
        self.limits = FakeLimits(self.cloud)
        self._blobs: dict[str, FakeBlobs] = {}
        self.fetcher = FakeFetcher(self.cloud)
        self.runs = FakeRunRecorder()
        self.key_vault_id = KEY_VAULT_ID
        self.acted_as: list[str] = []  # the identities ``acting_as`` was asked for, in order
        self.not_held: set[str] = set()  # identities kiln cannot get a token as (not on the Function app)

    def acting_as(self, identity_id: str | None) -> FakeAzure:
        """The same fake subscription (it models no RBAC); which identity was asked for is recorded."""
        if identity_id:
            self.acted_as.append(identity_id)
        return self

    def cannot_act_as(self, identity_id: str) -> str | None:
        if identity_id in self.not_held:
            return f"no managed identity endpoint token for '{identity_id}'"
        return None

    def storage_account_url(self, name: str) -> str:
        return f"https://{name}.blob.core.windows.net"

    def blobs(self, *, account_url: str | None = None) -> FakeBlobs:
        url = account_url or "https://kilnfake.blob.core.windows.net"
        if url not in self._blobs:
            self._blobs[url] = FakeBlobs(self.cloud, url)
        return self._blobs[url]


__all__ = [
    "SUBSCRIPTION",
    "FakeAzure",
    "FakeCloud",
    "FakeFetcher",
    "FakeRunRecorder",
    "InMemoryDocuments",
    "ScriptOutcome",
    "arm_id",
]
