"""Valid request bodies to start tests from; each test changes one thing."""

from __future__ import annotations

import copy
from typing import Any

SUB = "11111111-2222-3333-4444-555555555555"
RG = f"/subscriptions/{SUB}/resourceGroups/rg1"
IDENTITY = f"{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/aib-identity"
VNET = f"{RG}/providers/Microsoft.Network/virtualNetworks/vnet1"
GALLERY_IMAGE = f"{RG}/providers/Microsoft.Compute/galleries/gallery1/images/ubuntu22"
MANAGED_IMAGE = f"{RG}/providers/Microsoft.Compute/images/golden"


def minimal_template() -> dict[str, Any]:
    """The smallest template AIB accepts: a platform image to a managed image."""
    return {
        "location": "westus2",
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {IDENTITY: {}}},
        "properties": {
            "source": {
                "type": "PlatformImage",
                "publisher": "Canonical",
                "offer": "0001-com-ubuntu-server-jammy",
                "sku": "22_04-lts-gen2",
                "version": "latest",
            },
            "distribute": [
                {
                    "type": "ManagedImage",
                    "imageId": MANAGED_IMAGE,
                    "location": "westus2",
                    "runOutputName": "mi",
                }
            ],
        },
    }


def full_template() -> dict[str, Any]:
    """A template that uses every part of the 2025-10-01 contract."""
    body = minimal_template()
    body["tags"] = {"team": "platform"}
    body["properties"].update(
        {
            "customize": [
                {"type": "Shell", "name": "setup", "inline": ["sudo apt-get update", "echo $HOME > /tmp/x"]},
                {"type": "Shell", "scriptUri": "https://example.com/a.sh", "sha256Checksum": "ab" * 32},
                {"type": "PowerShell", "inline": ["Write-Host hi"], "runElevated": True, "runAsSystem": True},
                {"type": "File", "sourceUri": "https://example.com/f.txt", "destination": "/tmp/f.txt"},
                {"type": "WindowsRestart", "restartTimeout": "10m"},
                {"type": "WindowsUpdate", "searchCriteria": "IsInstalled=0", "filters": ["include:$true"]},
            ],
            "validate": {
                "continueDistributeOnFailure": False,
                "sourceValidationOnly": False,
                "inVMValidations": [
                    {"type": "Shell", "name": "check", "inline": ["test -f /tmp/f.txt"]},
                    {
                        "type": "PowerShell",
                        "scriptUri": "https://example.com/v.ps1",
                        "validExitCodes": [0, 3010],
                    },
                    {"type": "File", "sourceUri": "https://example.com/v.txt", "destination": "/tmp/v.txt"},
                ],
            },
            "optimize": {
                "vmBoot": {"state": "Enabled"},
                "workload": {"state": "Enabled", "scriptUri": "https://example.com/w.sh"},
            },
            "errorHandling": {"onCustomizerError": "abort", "onValidationError": "cleanup"},
            "buildTimeoutInMinutes": 120,
            "vmProfile": {
                "vmSize": "Standard_D4ds_v5",
                "osDiskSizeGB": 64,
                "userAssignedIdentities": [IDENTITY],
                "vnetConfig": {
                    "subnetId": f"{VNET}/subnets/build",
                    "containerInstanceSubnetId": f"{VNET}/subnets/aci",
                },
            },
            "additionalDataDisks": [{"sizeGB": 32}],
            "stagingResourceGroup": f"/subscriptions/{SUB}/resourceGroups/aib-staging",
            "autoRun": {"state": "Disabled"},
            "managedResourceTags": {"costCenter": "42"},
        }
    )
    body["properties"]["distribute"] += [
        {
            "type": "SharedImage",
            "galleryImageId": GALLERY_IMAGE,
            "runOutputName": "sig",
            "artifactTags": {"build": "1"},
            "targetRegions": [{"name": "westus2"}, {"name": "East US", "replicaCount": 2}],
            "versioning": {"scheme": "Latest", "major": 2},
            "excludeFromLatest": True,
            "replicationMode": "Shallow",
        },
        {"type": "VHD", "runOutputName": "vhd"},
    ]
    return copy.deepcopy(body)
