"""Template documents to start the template-file tests from: a raw body and the wrappers around it."""

from __future__ import annotations

from typing import Any

TEMPLATE_TYPE = "Microsoft.VirtualMachineImages/imageTemplates"


def body(location: str = "eastus") -> dict[str, Any]:
    return {
        "location": location,
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {"<identityId>": {}}},
        "properties": {
            "source": {
                "type": "PlatformImage",
                "publisher": "Canonical",
                "offer": "o",
                "sku": "s",
                "version": "latest",
            },
            "distribute": [{"type": "VHD", "runOutputName": "<runOutputName>"}],
        },
    }


def deployment(resources: list[Any], **extra: Any) -> dict[str, Any]:
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": resources,
        **extra,
    }


def nested(template: dict[str, Any], **properties: Any) -> dict[str, Any]:
    return {
        "type": "Microsoft.Resources/deployments",
        "name": "n",
        "properties": {"template": template, **properties},
    }
