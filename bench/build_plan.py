"""What bench/build.py builds and against which latencies: azuresim's latency table, the template, and the
critical-path lower bound of a build computed from that table."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

# Seconds at latency scale 1.0 (what Azure takes). Ops a build waits on; the rest keep azuresim's defaults.
OPS: dict[str, float] = {
    "arm.request": 0.05,
    "resources.deployment.put": 5.0,
    "network.nsg.put": 3.0,
    "network.vnet.put": 4.0,
    "network.pip.put": 3.0,
    "network.nic.put": 2.0,
    "storage.account.put": 20.0,
    # azuresim's deployment creates the ready resources in waves: deployment 5 + (storage account 20 ‖ NSG ‖
    # public IP) + VNet 4 + NIC 2 + VM 149 = the VM deployment takes 3 min.
    "compute.vm.put": 149.0,
    "compute.runcommand.put": 10.0,
    "compute.runcommand.run": 60.0,  # one script "unit"; a customizer runs 2 units (2 min)
    "compute.vm.deallocate": 60.0,
    "compute.galleryversion.put": 180.0,  # the version's PUT (it then follows its replication)
    "gallery.capture": 180.0,  # the version's copy in its own region; then the build VM may go
    "gallery.replicate": 1200.0,  # per other region, those regions in parallel after the capture
    "compute.image.put": 180.0,  # managed image capture
    "compute.vm.delete": 60.0,
    "compute.disk.delete": 10.0,
    "network.nic.delete": 10.0,
    "network.pip.delete": 10.0,
    "network.vnet.delete": 10.0,
    "network.nsg.delete": 10.0,
    "compute.runcommand.delete": 5.0,
}
CUSTOMIZER_UNITS = 2.0  # compute.runcommand.run units per customizer (2 min)
DEPROVISION_UNITS = 2.0  # deprovisioning; with deallocation, 3 min (generalize itself is synchronous)
CUSTOMIZERS = 5
REGIONS = (
    "eastus",
    "westus",
    "westeurope",
    "northeurope",
    "southeastasia",
    "eastasia",
    "uksouth",
    "centralus",
    "japaneast",
    "australiaeast",
)
GALLERY_IMAGE = (
    "/subscriptions/{sub}/resourceGroups/rg-image-gallery/providers/Microsoft.Compute/galleries/"
    "gal_platform_images/images/{definition}"
)


def vm_deletion_seconds(ops: dict[str, float]) -> float:
    """The build VM's deletion: the VM, then its disk beside its NIC, public IP / VNet and NSG in order."""
    return ops["compute.vm.delete"] + max(
        ops["compute.disk.delete"],
        ops["network.nic.delete"]
        + max(ops["network.pip.delete"], ops["network.vnet.delete"])
        + ops["network.nsg.delete"],
    )


def capture_seconds(ops: dict[str, float]) -> float:
    """Until no target needs the build VM: the gallery versions' capture and the managed image's."""
    return max(ops["gallery.capture"], ops["compute.image.put"])


def lower_bound_seconds(ops: dict[str, float]) -> tuple[float, dict[str, float]]:
    """The critical path of one build from ``ops`` (Azure seconds): its sequential phases + longest branch.

    The build VM is deleted as soon as every target is captured, beside the replication: distribution lasts
    the longest of its branches and of the capture followed by the VM's deletion. Only latencies the build
    must wait out count; requests, polls and kiln's own work are taken as free, so this bound is below any
    real makespan.
    """
    step = max(ops["compute.runcommand.put"], CUSTOMIZER_UNITS * ops["compute.runcommand.run"])
    deprovision = max(ops["compute.runcommand.put"], DEPROVISION_UNITS * ops["compute.runcommand.run"])
    # azuresim's deployment engine creates resources in waves of those whose dependencies are done.
    first_wave = max(ops["storage.account.put"], ops["network.nsg.put"], ops["network.pip.put"])
    deploy = ops["resources.deployment.put"] + first_wave + ops["network.vnet.put"] + ops["network.nic.put"]
    deploy += ops["compute.vm.put"]
    branches = {
        "SharedImage": max(
            ops["compute.galleryversion.put"], ops["gallery.capture"] + ops["gallery.replicate"]
        ),
        "ManagedImage": ops["compute.image.put"],
        "build VM": capture_seconds(ops) + vm_deletion_seconds(ops),
    }
    phases = {
        "deploy": deploy,
        "customize": CUSTOMIZERS * step,
        "generalize": deprovision + ops["compute.vm.deallocate"],
        "distribute": max(branches.values()),
    }
    return sum(phases.values()), phases


def template(index: int, sub: str) -> dict[str, Any]:
    """The benchmark's template: 5 Shell customizers; SharedImage (10 regions), ManagedImage, SharedImage.

    Not VHD: azuresim backs the OS disk with a sparse page blob in Azurite, and Azurite copies it through its
    own memory (30 GiB exhausts its heap; 1 GiB takes ~2 min, then fails with 500).
    """
    body: dict[str, Any] = json.loads((REPO / "examples" / "ubuntu-2404-gallery-3-regions.json").read_text())
    props = body["properties"]
    props["buildTimeoutInMinutes"] = 600
    props["customize"] = [
        {"type": "Shell", "name": f"bench-customizer-{i}", "inline": [f"echo customizer {i}"]}
        for i in range(CUSTOMIZERS)
    ]
    gallery = _gallery_target(props["distribute"][0], sub, "ubuntu-2404-gen2", index, REGIONS)
    second = _gallery_target(props["distribute"][0], sub, "ubuntu-2404-web", index, REGIONS[:2])
    image = {
        "type": "ManagedImage",
        "runOutputName": "managed",
        "location": "eastus",
        "imageId": f"/subscriptions/{sub}/resourceGroups/rg-images/providers/Microsoft.Compute/images/"
        f"bench-{index}",
    }
    props["distribute"] = [gallery, image, second]
    return body


def _gallery_target(
    example: dict[str, Any], sub: str, definition: str, index: int, regions: tuple[str, ...]
) -> dict[str, Any]:
    target = copy.deepcopy(example)
    # An explicit version per template: concurrent builds to one definition do not compete for "latest".
    target["galleryImageId"] = GALLERY_IMAGE.format(sub=sub, definition=definition) + f"/versions/7.{index}.0"
    target["runOutputName"] = definition
    target["targetRegions"] = [{"name": r, "replicaCount": 1} for r in regions]
    target.pop("versioning", None)
    return target
