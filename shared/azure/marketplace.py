"""Adapter over azure-mgmt-compute's Marketplace image catalog (``virtual_machine_images``)."""

from __future__ import annotations

from azure.mgmt.compute import ComputeManagementClient

from shared.azure._wire import dig, wire
from shared.azure.errors import azure_errors
from shared.azure.images import features_of
from shared.errors import AzureNotFound
from shared.models.azure import MarketplaceImage, PurchasePlan


def version_key(version: str) -> tuple[int, ...]:
    """Sort key for Marketplace versions (``20.04.202411010`` style, numeric per part)."""
    return tuple(int(p) if p.isdigit() else -1 for p in version.split("."))


class AzureMarketplace:
    """Marketplace image versions: list (ascending) and get (generation, features, plan)."""

    def __init__(self, client: ComputeManagementClient) -> None:
        self._client = client

    def list_versions(self, *, location: str, publisher: str, offer: str, sku: str) -> list[str]:
        with azure_errors(f"{publisher}:{offer}:{sku}"):
            items = self._client.virtual_machine_images.list(location, publisher, offer, sku)
            names = [str(wire(i)["name"]) for i in items]
        return sorted(names, key=version_key)

    def get_version(
        self, *, location: str, publisher: str, offer: str, sku: str, version: str
    ) -> MarketplaceImage:
        if version.lower() == "latest":
            # The get API has no 'latest': resolve it the way Azure does, the highest version listed.
            versions = self.list_versions(location=location, publisher=publisher, offer=offer, sku=sku)
            if not versions:
                raise AzureNotFound(f"No versions of {publisher}:{offer}:{sku} in {location}.")
            version = versions[-1]
        with azure_errors(f"{publisher}:{offer}:{sku}:{version}"):
            data = wire(self._client.virtual_machine_images.get(location, publisher, offer, sku, version))
        props = data.get("properties") or {}
        plan = props.get("plan")
        return MarketplaceImage(
            id=str(data.get("id") or ""),
            publisher=publisher,
            offer=offer,
            sku=sku,
            version=str(data.get("name") or version),
            location=str(data.get("location") or location),
            os_type=dig(props, "osDiskImage", "operatingSystem"),
            hyper_v_generation=props.get("hyperVGeneration"),
            features=features_of(props.get("features")),
            plan=PurchasePlan(name=plan["name"], product=plan["product"], publisher=plan["publisher"])
            if plan
            else None,
        )
