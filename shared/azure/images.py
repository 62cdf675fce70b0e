"""Adapters over azure-mgmt-compute for build outputs and sources: managed images, galleries, Marketplace."""

from __future__ import annotations

from typing import Any

from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.models import Gallery, GalleryImage, GalleryImageVersion, Image

from shared.azure._wire import dig, finish, tags_of, wire
from shared.azure.errors import azure_errors, missing_ok
from shared.models.azure import (
    GalleryInfo,
    ImageDefinitionInfo,
    ImageDefinitionSpec,
    ImageVersionSpec,
    ImageVersionState,
    ManagedImageInfo,
    RegionReplication,
)


def _compute_id(client: ComputeManagementClient, resource_group: str, path: str) -> str:
    subscription = client._config.subscription_id
    return f"/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.Compute/{path}"


class AzureManagedImages:
    """Managed images captured from a generalized VM."""

    def __init__(self, client: ComputeManagementClient) -> None:
        self._client = client

    def begin_create_from_vm(
        self,
        *,
        resource_group: str,
        name: str,
        location: str,
        source_vm_id: str,
        tags: dict[str, str],
        hyper_v_generation: str | None = None,
    ) -> str:
        props: dict[str, Any] = {"sourceVirtualMachine": {"id": source_vm_id}}
        if hyper_v_generation:
            # Azure assumes V1: a Gen2 VM's image must say V2 or the create is refused.
            props["hyperVGeneration"] = hyper_v_generation
        body = {"location": location, "tags": tags, "properties": props}
        with azure_errors(name):
            self._client.images.begin_create_or_update(resource_group, name, Image(body), polling=False)
        return _compute_id(self._client, resource_group, f"images/{name}")

    def get(self, *, resource_group: str, name: str) -> ManagedImageInfo:
        with azure_errors(name):
            data = wire(self._client.images.get(resource_group, name))
        props = data.get("properties") or {}
        return ManagedImageInfo(
            id=data["id"],
            name=data["name"],
            location=data.get("location", ""),
            provisioning_state=props.get("provisioningState") or "Unknown",
            source_vm_id=dig(props, "sourceVirtualMachine", "id"),
            hyper_v_generation=props.get("hyperVGeneration"),
            tags=tags_of(data),
            os_type=dig(props, "storageProfile", "osDisk", "osType"),
        )

    def begin_delete(self, *, resource_group: str, name: str) -> None:
        with missing_ok(name):
            self._client.images.begin_delete(resource_group, name, polling=False)


def features_of(raw: Any) -> dict[str, str]:
    return {str(f["name"]): str(f["value"]) for f in raw or [] if isinstance(f, dict) and "name" in f}


def _definition(raw: Any) -> ImageDefinitionInfo:
    data = wire(raw)
    props = data.get("properties") or {}
    return ImageDefinitionInfo(
        id=data["id"],
        name=data["name"],
        location=data.get("location", ""),
        os_type=props.get("osType") or "",
        hyper_v_generation=props.get("hyperVGeneration") or "V1",
        features=features_of(props.get("features")),
        provisioning_state=props.get("provisioningState") or "Unknown",
    )


def image_version_state(raw: Any) -> ImageVersionState:
    """An ``ImageVersionState`` from a version read with ``$expand=ReplicationStatus``."""
    data = wire(raw)
    props = data.get("properties") or {}
    summary = dig(props, "replicationStatus", "summary", default=[])
    return ImageVersionState(
        id=data["id"],
        name=data["name"],
        location=data.get("location", ""),
        provisioning_state=props.get("provisioningState") or "Unknown",
        exclude_from_latest=bool(dig(props, "publishingProfile", "excludeFromLatest", default=False)),
        regions=[
            RegionReplication(
                region=str(s.get("region")),
                state=str(s.get("state") or "Unknown"),
                progress=s.get("progress"),
                details=s.get("details"),
            )
            for s in summary
        ],
        tags=tags_of(data),
    )


def image_version_body(spec: ImageVersionSpec) -> dict[str, Any]:
    regions = [
        {
            "name": r.name,
            "regionalReplicaCount": r.replica_count,
            "storageAccountType": r.storage_account_type,
        }
        for r in spec.target_regions
    ]
    publishing: dict[str, Any] = {
        "excludeFromLatest": spec.exclude_from_latest,
        "replicationMode": spec.replication_mode,
    }
    if regions:
        publishing["targetRegions"] = regions
    return {
        "location": spec.location,
        "tags": spec.tags,
        "properties": {
            "publishingProfile": publishing,
            "storageProfile": {"source": {"virtualMachineId": spec.source_vm_id}},
        },
    }


class AzureGalleries:
    """Azure Compute Gallery: galleries and image definitions (short, synchronous), image versions (long)."""

    def __init__(self, client: ComputeManagementClient) -> None:
        self._client = client

    def create_gallery(
        self, *, resource_group: str, name: str, location: str, tags: dict[str, str]
    ) -> GalleryInfo:
        body = {"location": location, "tags": tags, "properties": {}}
        with azure_errors(name):
            poller = self._client.galleries.begin_create_or_update(resource_group, name, Gallery(body))
            data = wire(finish(poller, target=name))
        return GalleryInfo(
            id=data["id"],
            name=data["name"],
            location=data.get("location", location),
            provisioning_state=dig(data, "properties", "provisioningState", default="Succeeded"),
        )

    def create_image_definition(
        self, *, resource_group: str, gallery: str, name: str, spec: ImageDefinitionSpec
    ) -> ImageDefinitionInfo:
        props: dict[str, Any] = {
            "osType": spec.os_type,
            "osState": spec.os_state,
            "hyperVGeneration": spec.hyper_v_generation,
            "identifier": {"publisher": spec.publisher, "offer": spec.offer, "sku": spec.sku},
        }
        if spec.features:
            props["features"] = [{"name": k, "value": v} for k, v in spec.features.items()]
        body = {"location": spec.location, "tags": spec.tags, "properties": props}
        with azure_errors(f"{gallery}/{name}"):
            poller = self._client.gallery_images.begin_create_or_update(
                resource_group, gallery, name, GalleryImage(body)
            )
            return _definition(finish(poller, target=f"{gallery}/{name}"))

    def get_image_definition(self, *, resource_group: str, gallery: str, name: str) -> ImageDefinitionInfo:
        with azure_errors(f"{gallery}/{name}"):
            return _definition(self._client.gallery_images.get(resource_group, gallery, name))

    def begin_create_version(
        self, *, resource_group: str, gallery: str, image: str, version: str, spec: ImageVersionSpec
    ) -> str:
        with azure_errors(f"{gallery}/{image}/{version}"):
            self._client.gallery_image_versions.begin_create_or_update(
                resource_group,
                gallery,
                image,
                version,
                GalleryImageVersion(image_version_body(spec)),
                polling=False,
            )
        return _compute_id(
            self._client, resource_group, f"galleries/{gallery}/images/{image}/versions/{version}"
        )

    def get_version(
        self, *, resource_group: str, gallery: str, image: str, version: str
    ) -> ImageVersionState:
        with azure_errors(f"{gallery}/{image}/{version}"):
            raw = self._client.gallery_image_versions.get(
                resource_group, gallery, image, version, expand="ReplicationStatus"
            )
        return image_version_state(raw)

    def list_versions(self, *, resource_group: str, gallery: str, image: str) -> list[ImageVersionState]:
        with azure_errors(f"{gallery}/{image}"):
            pages = self._client.gallery_image_versions.list_by_gallery_image(resource_group, gallery, image)
            return [image_version_state(v) for v in pages]

    def begin_delete_version(self, *, resource_group: str, gallery: str, image: str, version: str) -> None:
        with missing_ok(f"{gallery}/{image}/{version}"):
            self._client.gallery_image_versions.begin_delete(
                resource_group, gallery, image, version, polling=False
            )
