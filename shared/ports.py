"""Ports: the small interfaces kiln's build uses to reach Azure.

One real adapter per port lives in ``shared/azure/``; a stateful in-memory fake of each in ``tests/fakes/``.
Conventions every implementation keeps:

* arguments are keyword-only; results are models from ``shared.models.azure``;
* ``begin_*`` sends the first request of a long operation and returns at once; ``get*`` reads state to poll;
* failures raise ``TransientAzureError`` (retry), ``PermanentAzureError`` (give up) or ``AzureNotFound``;
* deletes treat "not found" as success; PUTs with the same name return the same resource.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

from shared.models.access import Required
from shared.models.azure import (
    CopyState,
    DeploymentOperationInfo,
    DeploymentState,
    GalleryInfo,
    ImageDefinitionInfo,
    ImageDefinitionSpec,
    ImageVersionSpec,
    ImageVersionState,
    ManagedImageInfo,
    MarketplaceImage,
    ResourceGroupInfo,
    ResourceInfo,
    RunCommandSpec,
    RunCommandState,
    VmState,
)
from shared.models.build import RunRef, RunStatusRecorded, RunStatusUpdate, TargetResult
from shared.models.durable import RegionState
from shared.models.trace import RunSpan


class ResourceGroups(Protocol):
    """Resource groups; ``create`` is create-or-update (same name, same group, tags replaced)."""

    def create(self, *, name: str, location: str, tags: dict[str, str]) -> ResourceGroupInfo: ...
    def get(self, *, name: str) -> ResourceGroupInfo: ...
    def exists(self, *, name: str) -> bool: ...
    def begin_delete(self, *, name: str) -> None: ...
    def list_by_tag(self, *, tag_name: str, tag_value: str | None = None) -> list[ResourceGroupInfo]: ...


class Resources(Protocol):
    """Any resource by ARM id; lists filter on one tag (ARM cannot combine a tag filter with others)."""

    def get_by_id(self, *, resource_id: str) -> ResourceInfo: ...
    def begin_delete_by_id(self, *, resource_id: str) -> None: ...
    def list_by_tag(
        self, *, tag_name: str, tag_value: str | None = None, resource_group: str | None = None
    ) -> list[ResourceInfo]: ...
    def list_in_group(self, *, resource_group: str) -> list[ResourceInfo]: ...


class Deployments(Protocol):
    """Incremental ARM deployments: ``begin_deploy`` returns the deployment id; poll ``get``."""

    def begin_deploy(
        self, *, resource_group: str, name: str, template: dict[str, Any], parameters: dict[str, Any]
    ) -> str: ...
    def get(self, *, resource_group: str, name: str) -> DeploymentState: ...
    def list_operations(self, *, resource_group: str, name: str) -> list[DeploymentOperationInfo]: ...
    def cancel(self, *, resource_group: str, name: str) -> None: ...


class VirtualMachines(Protocol):
    """The build VM; ``get`` includes the instance view (power state, VM agent)."""

    def get(self, *, resource_group: str, name: str) -> VmState: ...
    def begin_deallocate(self, *, resource_group: str, name: str) -> None: ...
    def generalize(self, *, resource_group: str, name: str) -> None: ...
    def begin_restart(self, *, resource_group: str, name: str) -> None: ...
    def begin_delete(self, *, resource_group: str, name: str) -> None: ...


class RunCommands(Protocol):
    """Managed Run Commands; output and errors stream to append blobs; poll ``get`` until ``terminal``."""

    def begin_create(self, *, resource_group: str, vm_name: str, name: str, spec: RunCommandSpec) -> None: ...
    def get(self, *, resource_group: str, vm_name: str, name: str) -> RunCommandState: ...
    def begin_delete(self, *, resource_group: str, vm_name: str, name: str) -> None: ...


class ManagedImages(Protocol):
    """Managed images captured from a generalized VM; ``begin_create_from_vm`` returns the image id."""

    def begin_create_from_vm(
        self,
        *,
        resource_group: str,
        name: str,
        location: str,
        source_vm_id: str,
        tags: dict[str, str],
        hyper_v_generation: str | None = None,
    ) -> str: ...
    def get(self, *, resource_group: str, name: str) -> ManagedImageInfo: ...
    def begin_delete(self, *, resource_group: str, name: str) -> None: ...


class Galleries(Protocol):
    """Compute Gallery: galleries, image definitions and versions with per-region replication status."""

    def create_gallery(
        self, *, resource_group: str, name: str, location: str, tags: dict[str, str]
    ) -> GalleryInfo: ...
    def create_image_definition(
        self, *, resource_group: str, gallery: str, name: str, spec: ImageDefinitionSpec
    ) -> ImageDefinitionInfo: ...
    def get_image_definition(
        self, *, resource_group: str, gallery: str, name: str
    ) -> ImageDefinitionInfo: ...
    def begin_create_version(
        self, *, resource_group: str, gallery: str, image: str, version: str, spec: ImageVersionSpec
    ) -> str: ...
    def get_version(
        self, *, resource_group: str, gallery: str, image: str, version: str
    ) -> ImageVersionState: ...
    def list_versions(self, *, resource_group: str, gallery: str, image: str) -> list[ImageVersionState]: ...
    def begin_delete_version(
        self, *, resource_group: str, gallery: str, image: str, version: str
    ) -> None: ...


class Disks(Protocol):
    """Read access to a managed disk: a SAS URL for copying its VHD, revoked when done."""

    def grant_access(self, *, resource_group: str, name: str, duration_seconds: int) -> str: ...
    def revoke_access(self, *, resource_group: str, name: str) -> None: ...


class Marketplace(Protocol):
    """Marketplace image versions; ``list_versions`` ascends; ``get_version`` accepts ``latest``."""

    def list_versions(self, *, location: str, publisher: str, offer: str, sku: str) -> list[str]: ...
    def get_version(
        self, *, location: str, publisher: str, offer: str, sku: str, version: str
    ) -> MarketplaceImage: ...


class Blobs(Protocol):
    """One storage account. ``read_from`` follows an append-blob log from a byte offset."""

    def ensure_container(self, *, container: str) -> None: ...
    def upload(self, *, container: str, name: str, data: bytes, overwrite: bool = True) -> str: ...
    def download(self, *, container: str, name: str) -> bytes: ...
    def download_chunks(self, *, container: str, name: str) -> Iterator[bytes]:
        """The blob's bytes a chunk at a time (an artifact of any size, never whole in memory)."""
        ...

    def upload_chunks(self, *, container: str, name: str, chunks: Iterable[bytes]) -> str:
        """Write a block blob from ``chunks`` as they come (replacing one of that name); its URL."""
        ...

    def create_append_blob(self, *, container: str, name: str) -> str: ...
    def append(self, *, container: str, name: str, data: bytes) -> None: ...
    def read_from(self, *, container: str, name: str, offset: int) -> bytes: ...
    def list_names(self, *, container: str, prefix: str = "") -> list[str]: ...
    def delete(self, *, container: str, name: str) -> None: ...
    def begin_copy_from_url(self, *, source_url: str, container: str, name: str) -> str: ...
    def get_copy_state(self, *, container: str, name: str) -> CopyState: ...
    def writable_url(self, *, container: str, name: str, valid_seconds: int) -> str:
        """The blob's URL with a SAS letting its holder create, write and append it for ``valid_seconds``.

        For Run Command output blobs: Azure writes them with that URL. Never log or return it.
        """
        ...

    def readable_url(self, *, container: str, name: str, valid_seconds: int) -> str:
        """The blob's URL with a SAS letting its holder read that blob only, for ``valid_seconds``.

        For staged artifacts: the build VM downloads them with that URL. Never log or return it.
        """
        ...


class Secrets(Protocol):
    """One Key Vault. Values never appear in errors or logs."""

    def get(self, *, name: str) -> str: ...
    def set(self, *, name: str, value: str) -> None: ...
    def delete(self, *, name: str) -> None: ...


class Access(Protocol):
    """Azure RBAC as ARM holds it: who an identity is, and what a principal may not do (docs/security.md)."""

    def principal_of(self, *, identity_id: str) -> str:
        """The principal (object) id of a user-assigned identity; ``AzureNotFound`` when it does not exist."""
        ...

    def missing(
        self, *, principal_id: str, required: list[Required], groups: Sequence[str] = ()
    ) -> list[Required]:
        """The requirements no role assigned to ``principal_id`` or to one of its ``groups`` (object ids,
        at their scope or above) allows, with their scope filled in where the adapter had to find it (a
        storage container's)."""
        ...


class Limits(Protocol):
    """What the subscription allows a build before it starts: Marketplace plan terms, regional vCPU quota."""

    def terms_accepted(self, *, publisher: str, offer: str, plan: str) -> bool: ...

    def vcpus(self, *, location: str, vm_size: str) -> tuple[int, int] | None:
        """(vCPUs of ``vm_size``, vCPUs still free of the region's quota); None when the size is unknown."""
        ...


class ArtifactFetcher(Protocol):
    """Downloads a customizer's script or file from an ``https://`` URL (no credentials are sent)."""

    def fetch(self, *, url: str) -> bytes: ...
    def stream(self, *, url: str) -> Iterator[bytes]:
        """``url``'s body a chunk at a time, under the same rules and limits as ``fetch``."""
        ...


class RunRecorder(Protocol):
    """The run documents' side of a build: what the orchestration reports, and the run outputs it made.

    Activities write through this port, never through the service: the composition root wires it to the
    store (``shared.service.run_records.RunRecords``).
    """

    def apply(self, update: RunStatusUpdate) -> RunStatusRecorded:
        """Record a change of the run's state; the state the run document holds afterwards."""
        ...

    def record_outputs(self, run: RunRef, targets: list[TargetResult]) -> list[str]:
        """One runOutput per succeeded target (a later run's output wins); the names written."""
        ...

    def progress(self, run: RunRef, target: str, regions: list[RegionState]) -> None:
        """Live progress of a distribute target's regions, written while a waiting activity follows it."""
        ...

    def record_artifacts(self, run: RunRef, hashes: dict[str, str]) -> None:
        """Record the sha256 of every artifact the build fetched (``customize[0]`` → hash) in its inputs."""
        ...

    def provenance(self, run: RunRef) -> dict[str, str]:
        """The provenance tags of what the run publishes (run, template, source version, fingerprint)."""
        ...


class RunTracer(Protocol):
    """Where the ended spans of a run go (``shared.models.trace``): Application Insights in Azure, a file of
    OTLP/JSON lines locally, nowhere when tracing is off. Best effort: it never fails the run's
    bookkeeping."""

    def export(self, spans: Sequence[RunSpan]) -> None: ...


class AzurePortSet(Protocol):
    """Every Azure port: ``shared.bootstrap.AzurePorts`` builds each on first use; tests use ``FakeAzure``."""

    @property
    def resource_groups(self) -> ResourceGroups: ...
    @property
    def resources(self) -> Resources: ...
    @property
    def deployments(self) -> Deployments: ...
    @property
    def virtual_machines(self) -> VirtualMachines: ...
    @property
    def run_commands(self) -> RunCommands: ...
    @property
    def disks(self) -> Disks: ...
    @property
    def managed_images(self) -> ManagedImages: ...
    @property
    def galleries(self) -> Galleries: ...
    @property
    def marketplace(self) -> Marketplace: ...
    @property
    def secrets(self) -> Secrets: ...
    @property
    def access(self) -> Access: ...
    @property
    def limits(self) -> Limits: ...
    def blobs(self, *, account_url: str | None = None) -> Blobs:
        """Blobs of kiln's own storage account (no URL) or of the account at ``account_url``."""
        ...


class BuildPorts(AzurePortSet, Protocol):
    """What the build's activities reach the world through: Azure, the artifact fetcher, the run recorder."""

    @property
    def fetcher(self) -> ArtifactFetcher: ...
    @property
    def runs(self) -> RunRecorder: ...
    @property
    def key_vault_id(self) -> str:
        """The ARM id of the vault holding build VM credentials (deployments reference secrets by it)."""
        ...

    def storage_account_url(self, name: str) -> str:
        """The blob endpoint of a storage account kiln created (in sim mode: Azurite's)."""
        ...

    def acting_as(self, identity_id: str | None) -> BuildPorts:
        """These ports with every Azure call made as the user-assigned identity ``identity_id`` (a template's;
        None: as kiln's own identity). Fetcher, run recorder and endpoints stay the same."""
        ...

    def cannot_act_as(self, identity_id: str) -> str | None:
        """Why kiln cannot obtain a token as ``identity_id`` (the Function app does not hold it), or None."""
        ...
