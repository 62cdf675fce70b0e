"""``properties.distribute[]``: where the built image goes (contract §5)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from shared.models.customizers import INT32_MAX
from shared.models.fields import (
    GalleryImageId,
    ManagedImageId,
    OptionalUri,
    Region,
    RunOutputName,
    Tags,
    WireModel,
)

StorageAccountType = Literal["Standard_LRS", "Standard_ZRS", "Premium_LRS"]
DEFAULT_STORAGE_ACCOUNT_TYPE: StorageAccountType = "Standard_LRS"


class TargetRegion(WireModel):
    """One gallery replication region."""

    name: Region
    replicaCount: Annotated[int, Field(ge=1, le=INT32_MAX)] = 1
    storageAccountType: StorageAccountType = DEFAULT_STORAGE_ACCOUNT_TYPE


class LatestVersioner(WireModel):
    """Next patch version above the highest existing one within ``major`` (-1 = any major)."""

    scheme: Literal["Latest"]
    major: Annotated[int, Field(ge=-1, le=INT32_MAX)] = -1


class SourceVersioner(WireModel):
    """Version number derived from the source image's version."""

    scheme: Literal["Source"]


Versioner = Annotated[LatestVersioner | SourceVersioner, Field(discriminator="scheme")]


class ManagedImageDistributor(WireModel):
    """Writes a managed image."""

    type: Literal["ManagedImage"]
    runOutputName: RunOutputName
    artifactTags: Tags | None = None
    imageId: ManagedImageId
    location: Region


class SharedImageDistributor(WireModel):
    """Publishes an image version to an Azure Compute Gallery image definition."""

    type: Literal["SharedImage"]
    runOutputName: RunOutputName
    artifactTags: Tags | None = None
    galleryImageId: GalleryImageId
    targetRegions: list[TargetRegion] | None = None
    replicationRegions: list[Region] | None = None  # deprecated since 2022-07-01
    versioning: Versioner = Field(default_factory=lambda: LatestVersioner(scheme="Latest"))
    excludeFromLatest: bool = False
    storageAccountType: StorageAccountType | None = None  # deprecated; only with replicationRegions
    replicationMode: Literal["Full", "Shallow"] = "Full"

    @model_validator(mode="after")
    def _default_storage_type(self) -> SharedImageDistributor:
        # The distributor-level default only exists together with replicationRegions; elsewhere the
        # per-region storageAccountType applies and a distributor-level value is an error.
        if self.replicationRegions is not None and self.storageAccountType is None:
            self.storageAccountType = DEFAULT_STORAGE_ACCOUNT_TYPE
        return self


class VhdDistributor(WireModel):
    """Writes a VHD; an empty ``uri`` means a storage account in the staging resource group."""

    type: Literal["VHD"]
    runOutputName: RunOutputName
    artifactTags: Tags | None = None
    uri: OptionalUri = ""


Distributor = Annotated[
    ManagedImageDistributor | SharedImageDistributor | VhdDistributor,
    Field(discriminator="type"),
]
DISTRIBUTE_TYPES = ("ManagedImage", "SharedImage", "VHD")
