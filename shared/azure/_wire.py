"""Helpers for reading SDK results as ARM wire JSON (the SDK's "hybrid" models are mappings of wire names)."""

from __future__ import annotations

from typing import Any

from shared.errors import TransientAzureError
from shared.models.azure import ErrorInfo

# api-versions the generic resources API needs per resource type (it has no default of its own).
API_VERSIONS: dict[str, str] = {
    "microsoft.compute/virtualmachines": "2024-07-01",
    "microsoft.compute/disks": "2024-03-02",
    "microsoft.compute/images": "2024-07-01",
    "microsoft.compute/galleries": "2023-07-03",
    "microsoft.compute/galleries/images": "2023-07-03",
    "microsoft.compute/galleries/images/versions": "2023-07-03",
    "microsoft.compute/snapshots": "2024-03-02",
    "microsoft.network/networkinterfaces": "2024-05-01",
    "microsoft.network/publicipaddresses": "2024-05-01",
    "microsoft.network/networksecuritygroups": "2024-05-01",
    "microsoft.network/virtualnetworks": "2024-05-01",
    "microsoft.network/virtualnetworks/subnets": "2024-05-01",
    "microsoft.storage/storageaccounts": "2023-05-01",
    "microsoft.managedidentity/userassignedidentities": "2023-01-31",
    "microsoft.resources/deployments": "2025-04-01",
}
DEFAULT_API_VERSION = "2024-05-01"


def wire(obj: Any) -> dict[str, Any]:
    """The wire-format dict of an SDK model (or a dict), ``{}`` for None."""
    if obj is None:
        return {}
    if isinstance(obj, dict):
        return obj
    as_dict = getattr(obj, "as_dict", None)
    if callable(as_dict):
        return dict(as_dict())
    return dict(obj)


def dig(data: Any, *keys: str, default: Any = None) -> Any:
    """``data[k1][k2]…`` or ``default`` when any step is missing."""
    for key in keys:
        if not isinstance(data, dict) or key not in data or data[key] is None:
            return default
        data = data[key]
    return data


def resource_type_of(resource_id: str) -> str:
    """``Microsoft.Compute/galleries/images`` for ``…/providers/Microsoft.Compute/galleries/g/images/i``."""
    parts = resource_id.strip("/").split("/")
    lowered = [p.lower() for p in parts]
    if "providers" not in lowered:
        return "Microsoft.Resources/resourceGroups"
    at = len(lowered) - 1 - lowered[::-1].index("providers")
    namespace, rest = parts[at + 1], parts[at + 2 :]
    return "/".join([namespace, *rest[0::2]])


def api_version_for(resource_id: str) -> str:
    return API_VERSIONS.get(resource_type_of(resource_id).lower(), DEFAULT_API_VERSION)


def error_info(raw: Any) -> ErrorInfo | None:
    """An ``ErrorInfo`` from an ARM error object (possibly nested one level under ``error``)."""
    data = wire(raw)
    if not data:
        return None
    if "error" in data and isinstance(data["error"], dict):
        data = data["error"]
    details = data.get("details") or []
    message = str(data.get("message") or "")
    if details and isinstance(details[0], dict) and details[0].get("message"):
        message = f"{message} {details[0].get('code', '')}: {details[0]['message']}".strip()
    return ErrorInfo(code=str(data.get("code") or "Unknown"), message=message)


def tags_of(data: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (data.get("tags") or {}).items()}


def name_of(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[-1]


SYNC_LRO_TIMEOUT = 300.0


def finish(poller: Any, *, target: str, timeout: float = SYNC_LRO_TIMEOUT) -> Any:
    """Wait for a short LRO (``poller.result``), never forever: still running after ``timeout`` is transient.

    Raises:
        TransientAzureError: the operation did not finish in time (the caller retries; the PUT is idempotent).
    """
    result = poller.result(timeout=timeout)
    if not poller.done():
        raise TransientAzureError(
            f"Operation on '{target}' still running after {timeout:.0f}s.",
            code="OperationTimedOut",
            target=target,
        )
    return result
