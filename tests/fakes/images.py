"""Fakes of the managed-image, gallery and Marketplace ports.

Gallery image versions replicate region by region: each read moves every region ``replication_step`` percent
further, so a test sees Replicating → Completed exactly as the orchestrator's polling loop will.
"""

from __future__ import annotations

from typing import Any

from shared.errors import AzureNotFound, PermanentAzureError
from shared.models.azure import (
    GalleryInfo,
    ImageDefinitionInfo,
    ImageDefinitionSpec,
    ImageVersionSpec,
    ImageVersionState,
    ManagedImageInfo,
    MarketplaceImage,
    PurchasePlan,
    RegionReplication,
)
from tests.fakes.cloud import FakeCloud, arm_id


def _source_vm(cloud: FakeCloud, vm_id: str) -> dict[str, Any]:
    vm = cloud.find(vm_id)
    if vm is None:
        raise AzureNotFound(f"The Resource '{vm_id}' was not found.")
    if not vm.get("generalized"):
        raise PermanentAzureError(
            f"The source virtual machine '{vm_id}' must be generalized.",
            code="OperationNotAllowed",
            status=409,
        )
    return vm


class FakeManagedImages:
    def __init__(self, cloud: FakeCloud) -> None:
        self.cloud = cloud

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
        self.cloud.enter("images.create", name)
        _source_vm(self.cloud, source_vm_id)
        rid = arm_id(resource_group, "Microsoft.Compute/images", name)
        body = {"location": location, "tags": dict(tags), "source_vm_id": source_vm_id}
        body["hyper_v_generation"] = hyper_v_generation or "V1"
        self.cloud.put(rid, {**body, "provisioning_state": "Creating", "pending": self.cloud.lro_reads})
        return rid

    def get(self, *, resource_group: str, name: str) -> ManagedImageInfo:
        self.cloud.enter("images.get", name)
        image = self.cloud.get(arm_id(resource_group, "Microsoft.Compute/images", name))
        if image["pending"] == 0 or self.cloud.step(image):
            image["provisioning_state"] = "Succeeded"
        return ManagedImageInfo(
            id=image["id"],
            name=image["name"],
            location=image["location"],
            provisioning_state=image["provisioning_state"],
            source_vm_id=image["source_vm_id"],
            hyper_v_generation=image["hyper_v_generation"],
            tags=image["tags"],
            os_type=image.get("os_type"),
        )

    def begin_delete(self, *, resource_group: str, name: str) -> None:
        self.cloud.enter("images.delete", name)
        self.cloud.delete(arm_id(resource_group, "Microsoft.Compute/images", name))


class FakeGalleries:
    def __init__(self, cloud: FakeCloud, *, replication_step: int = 50) -> None:
        self.cloud = cloud
        self.replication_step = replication_step
        self.failing_regions: set[str] = set()

    def create_gallery(
        self, *, resource_group: str, name: str, location: str, tags: dict[str, str]
    ) -> GalleryInfo:
        self.cloud.enter("galleries.create", name)
        rid = arm_id(resource_group, "Microsoft.Compute/galleries", name)
        gallery = self.cloud.put(
            rid, {"location": location, "tags": dict(tags), "provisioning_state": "Succeeded"}
        )
        return GalleryInfo(id=gallery["id"], name=name, location=location, provisioning_state="Succeeded")

    def create_image_definition(
        self, *, resource_group: str, gallery: str, name: str, spec: ImageDefinitionSpec
    ) -> ImageDefinitionInfo:
        self.cloud.enter("galleries.create_definition", name)
        self.cloud.get(arm_id(resource_group, "Microsoft.Compute/galleries", gallery))
        rid = arm_id(resource_group, "Microsoft.Compute/galleries/images", gallery, name)
        existing = self.cloud.find(rid)
        if existing is not None and existing["spec"].os_type != spec.os_type:
            raise PermanentAzureError(
                "Changing property 'osType' is not allowed.", code="PropertyChangeNotAllowed"
            )
        self.cloud.put(rid, {"location": spec.location, "tags": dict(spec.tags), "spec": spec})
        return self.get_image_definition(resource_group=resource_group, gallery=gallery, name=name)

    def get_image_definition(self, *, resource_group: str, gallery: str, name: str) -> ImageDefinitionInfo:
        self.cloud.enter("galleries.get_definition", name)
        definition = self.cloud.get(
            arm_id(resource_group, "Microsoft.Compute/galleries/images", gallery, name)
        )
        spec: ImageDefinitionSpec = definition["spec"]
        return ImageDefinitionInfo(
            id=definition["id"],
            name=name,
            location=spec.location,
            os_type=spec.os_type,
            hyper_v_generation=spec.hyper_v_generation,
            features=spec.features,
            provisioning_state="Succeeded",
        )

    def _version_id(self, resource_group: str, gallery: str, image: str, version: str) -> str:
        return arm_id(resource_group, "Microsoft.Compute/galleries/images/versions", gallery, image, version)

    def begin_create_version(
        self, *, resource_group: str, gallery: str, image: str, version: str, spec: ImageVersionSpec
    ) -> str:
        self.cloud.enter("galleries.create_version", f"{image}/{version}")
        self.cloud.get(arm_id(resource_group, "Microsoft.Compute/galleries/images", gallery, image))
        _source_vm(self.cloud, spec.source_vm_id)
        rid = self._version_id(resource_group, gallery, image, version)
        existing = self.cloud.find(rid)
        if existing is not None:
            if existing["spec"] != spec:
                raise PermanentAzureError(
                    f"Gallery image version '{version}' already exists.", code="Conflict"
                )
            return rid
        regions = [r.name for r in spec.target_regions] or [spec.location]
        progress = dict.fromkeys(regions, 0)
        self.cloud.put(
            rid, {"location": spec.location, "tags": dict(spec.tags), "spec": spec, "progress": progress}
        )
        return rid

    def _advance(self, version: dict[str, Any]) -> None:
        for region, done in version["progress"].items():
            if region not in self.failing_regions and done < 100:
                version["progress"][region] = min(100, done + self.replication_step)

    def _state(self, version: dict[str, Any]) -> ImageVersionState:
        regions = [
            RegionReplication(
                region=region,
                state="Failed"
                if region in self.failing_regions
                else ("Completed" if p >= 100 else "Replicating"),
                progress=p,
            )
            for region, p in version["progress"].items()
        ]
        states = {r.state for r in regions}
        provisioning = (
            "Failed" if "Failed" in states else ("Succeeded" if states == {"Completed"} else "Creating")
        )
        return ImageVersionState(
            id=version["id"],
            name=version["name"],
            location=version["location"],
            provisioning_state=provisioning,
            exclude_from_latest=version["spec"].exclude_from_latest,
            regions=regions,
            tags=version["tags"],
        )

    def get_version(
        self, *, resource_group: str, gallery: str, image: str, version: str
    ) -> ImageVersionState:
        self.cloud.enter("galleries.get_version", f"{image}/{version}")
        found = self.cloud.get(self._version_id(resource_group, gallery, image, version))
        self._advance(found)
        return self._state(found)

    def list_versions(self, *, resource_group: str, gallery: str, image: str) -> list[ImageVersionState]:
        self.cloud.enter("galleries.list_versions", image)
        prefix = self._version_id(resource_group, gallery, image, "").lower()
        return [self._state(v) for k, v in self.cloud.resources.items() if k.startswith(prefix)]

    def begin_delete_version(self, *, resource_group: str, gallery: str, image: str, version: str) -> None:
        self.cloud.enter("galleries.delete_version", f"{image}/{version}")
        self.cloud.delete(self._version_id(resource_group, gallery, image, version))


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else -1 for p in version.split("."))


class FakeMarketplace:
    """A small seeded catalog; ``publish`` adds a version (a new source image for triggers)."""

    def __init__(self, cloud: FakeCloud) -> None:
        self.cloud = cloud
        self.catalog: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.add(
            "Canonical",
            "ubuntu-24_04-lts",
            "server",
            ["24.04.202409120", "24.04.202411030"],
            "V2",
            features={"SecurityType": "TrustedLaunchSupported"},
        )
        self.add(
            "MicrosoftWindowsServer",
            "WindowsServer",
            "2022-datacenter-g2",
            ["20348.2762.241006"],
            "V2",
            os_type="Windows",
        )
        self.add(
            "RedHat",
            "rhel-byos",
            "rhel-lvm9",
            ["9.4.2024061418"],
            "V2",
            plan=PurchasePlan(name="rhel-lvm9", product="rhel-byos", publisher="redhat"),
        )

    def add(
        self,
        publisher: str,
        offer: str,
        sku: str,
        versions: list[str],
        generation: str,
        *,
        os_type: str = "Linux",
        features: dict[str, str] | None = None,
        plan: PurchasePlan | None = None,
    ) -> None:
        key = (publisher.lower(), offer.lower(), sku.lower())
        self.catalog[key] = {
            "names": (publisher, offer, sku),
            "versions": list(versions),
            "generation": generation,
            "os_type": os_type,
            "features": features or {},
            "plan": plan,
        }

    def publish(self, *, publisher: str, offer: str, sku: str, version: str) -> None:
        self.catalog[(publisher.lower(), offer.lower(), sku.lower())]["versions"].append(version)

    def _entry(self, publisher: str, offer: str, sku: str) -> dict[str, Any]:
        entry = self.catalog.get((publisher.lower(), offer.lower(), sku.lower()))
        if entry is None:
            raise AzureNotFound(
                f"Artifact: VMImage was not found: {publisher}:{offer}:{sku}.", code="NotFound"
            )
        return entry

    def list_versions(self, *, location: str, publisher: str, offer: str, sku: str) -> list[str]:
        self.cloud.enter("marketplace.list", f"{publisher}:{offer}:{sku}")
        return sorted(self._entry(publisher, offer, sku)["versions"], key=_key)

    def get_version(
        self, *, location: str, publisher: str, offer: str, sku: str, version: str
    ) -> MarketplaceImage:
        self.cloud.enter("marketplace.get", f"{publisher}:{offer}:{sku}:{version}")
        entry = self._entry(publisher, offer, sku)
        versions = sorted(entry["versions"], key=_key)
        if version.lower() == "latest":
            version = versions[-1]
        if version not in versions:
            raise AzureNotFound(f"Artifact: VMImage was not found: {version}.", code="NotFound")
        pub, off, sk = entry["names"]
        return MarketplaceImage(
            id=f"/Subscriptions/x/Providers/Microsoft.Compute/Locations/{location}/Publishers/{pub}/ArtifactTypes/"
            f"VMImage/Offers/{off}/Skus/{sk}/Versions/{version}",
            publisher=pub,
            offer=off,
            sku=sk,
            version=version,
            location=location,
            os_type=entry["os_type"],
            hyper_v_generation=entry["generation"],
            features=entry["features"],
            plan=entry["plan"],
        )
