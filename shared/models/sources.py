"""``properties.source``: the image a build starts from (contract §2)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from shared.models.fields import ImageVersionId, ManagedImageId, NonEmpty, WireModel


class PlatformImagePurchasePlan(WireModel):
    """Marketplace plan of a platform image (e.g. RHEL BYOS); all three parts are required."""

    planName: NonEmpty
    planProduct: NonEmpty
    planPublisher: NonEmpty


class PlatformImageSource(WireModel):
    """A Marketplace image; ``version: latest`` is resolved at build time into ``exactVersion``."""

    type: Literal["PlatformImage"]
    publisher: NonEmpty | None = None
    offer: NonEmpty | None = None
    sku: NonEmpty | None = None
    version: NonEmpty | None = None
    planInfo: PlatformImagePurchasePlan | None = None
    exactVersion: str | None = None  # read-only


class ManagedImageSource(WireModel):
    """A managed image in the template's subscription and region."""

    type: Literal["ManagedImage"]
    imageId: ManagedImageId


class SharedImageVersionSource(WireModel):
    """An Azure Compute Gallery (or Direct Shared Gallery) image version; ``versions/latest`` allowed."""

    type: Literal["SharedImageVersion"]
    imageVersionId: ImageVersionId
    exactVersion: str | None = None  # read-only


Source = Annotated[
    PlatformImageSource | ManagedImageSource | SharedImageVersionSource,
    Field(discriminator="type"),
]
SOURCE_TYPES = ("PlatformImage", "ManagedImage", "SharedImageVersion")
