"""GET /providers/Microsoft.VirtualMachineImages/operations: the provider's operation catalogue."""

from __future__ import annotations

from typing import Any

from shared.service.resources import PROVIDER

_PROVIDER_NAME = "Azure VM Image Builder (kiln)"
_OPERATIONS = (
    ("imageTemplates/read", "Image Templates", "Get Image Template", "Gets the image template"),
    ("imageTemplates/write", "Image Templates", "Create or Update Image Template", "Creates or updates"),
    ("imageTemplates/delete", "Image Templates", "Delete Image Template", "Deletes the image template"),
    ("imageTemplates/run/action", "Image Templates", "Run Image Template", "Runs the image template"),
    ("imageTemplates/cancel/action", "Image Templates", "Cancel Image Template", "Cancels a running build"),
    ("imageTemplates/runOutputs/read", "Run Outputs", "Get Run Output", "Gets the run outputs"),
    ("imageTemplates/triggers/read", "Triggers", "Get Trigger", "Gets the triggers of a template"),
    ("imageTemplates/triggers/write", "Triggers", "Create or Update Trigger", "Creates or updates a trigger"),
    ("imageTemplates/triggers/delete", "Triggers", "Delete Trigger", "Deletes a trigger"),
    ("locations/operations/read", "Operations", "Get Operation", "Gets the status of an async operation"),
    ("operations/read", "Operations", "List Operations", "Lists the operations of the provider"),
)


def provider_operations() -> list[dict[str, Any]]:
    """The operations the provider supports, in ARM's ``Operation`` shape."""
    return [
        {
            "name": f"{PROVIDER}/{name}",
            "isDataAction": False,
            "display": {
                "provider": _PROVIDER_NAME,
                "resource": resource,
                "operation": operation,
                "description": description,
            },
            "origin": "user,system",
        }
        for name, resource, operation, description in _OPERATIONS
    ]
