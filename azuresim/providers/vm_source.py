"""Where a new VM's OS comes from: Marketplace image references (``latest`` resolved, purchase plans checked)
or the id of a managed image / gallery image version; yields the VM's Hyper-V generation."""

from __future__ import annotations

from typing import Any

from azuresim.errors import SimError
from azuresim.providers.marketplace import AGREEMENTS, catalog_of


def _platform_image(sim: Any, ref: dict[str, Any]) -> str:
    """Resolve a Marketplace imageReference (``latest`` included); returns its Hyper-V generation."""
    catalog = catalog_of(sim)
    sku = catalog.find(str(ref.get("publisher", "")), str(ref.get("offer", "")), str(ref.get("sku", "")))
    version = str(ref.get("version", "latest"))
    versions = catalog.versions(sku.publisher, sku.offer, sku.sku, top=None, descending=True) if sku else []
    exact = versions[0] if version.lower() == "latest" and versions else version
    if sku is None or exact not in versions:
        urn = ":".join(str(ref.get(k, "")) for k in ("publisher", "offer", "sku", "version"))
        raise SimError(
            404,
            "PlatformImageNotFound",
            f"The platform image '{urn}' is not available. Verify that all fields in the storage profile are "
            "correct. For more details about storage profile information, please refer to https://aka.ms/storageprofile",
            "imageReference",
        )
    ref["exactVersion"] = exact
    return sku.generation


def image_generation(sim: Any, ref: dict[str, Any]) -> str:
    if ref.get("id"):
        source = sim.store.get(str(ref["id"]))
        if source is None:
            raise SimError(
                404, "NotFound", f"The source image '{ref['id']}' was not found.", "imageReference.id"
            )
        if source["type"].lower().endswith("galleries/images/versions"):
            definition = sim.store.get(source["id"].rsplit("/versions/", 1)[0]) or {}
            return str(definition.get("properties", {}).get("hyperVGeneration", "V1"))
        return str(source.get("properties", {}).get("hyperVGeneration", "V1"))
    if ref.get("publisher"):
        return _platform_image(sim, ref)
    return "V1"


def check_plan(sim: Any, vm_id: str, ref: dict[str, Any], plan: dict[str, Any] | None) -> None:
    """Marketplace images with a purchase plan need ``plan`` on the VM and accepted terms (Azure's checks)."""
    sku = catalog_of(sim).find(
        str(ref.get("publisher", "")), str(ref.get("offer", "")), str(ref.get("sku", ""))
    )
    if sku is None or not sku.plan:
        return
    if not plan:
        raise SimError(
            400,
            "VMMarketplaceInvalidInput",
            "Creating a virtual machine from Marketplace image or a custom image sourced from a Marketplace "
            f"image requires Plan information in the request. VM: '{vm_id}'.",
            "plan",
        )
    key = "/".join(str(plan.get(k, "")).lower() for k in ("publisher", "product", "name"))
    if not sim.control.get(AGREEMENTS, {}).get(key):
        sub = vm_id.strip("/").split("/")[1]
        raise SimError(
            400,
            "MarketplacePurchaseEligibilityFailed",
            "Marketplace purchase eligibilty check returned errors. See inner errors for details. Details: "
            f"You have not accepted the legal terms on this subscription: '{sub}' for this plan. Before the "
            "subscription can be used, you need to accept the legal terms of the image.",
        )
