"""Marketplace plan terms (Microsoft.MarketplaceOrdering) and regional vCPU quota (Microsoft.Compute usages,
vmSizes) through ARM (``ports.Limits``): read-only calls preflight makes before anything is created."""

from __future__ import annotations

from typing import Any

from shared.azure.access import arm_get

ORDERING_API = "2021-01-01"
COMPUTE_API = "2024-07-01"


class AzureLimits:
    def __init__(self, client: Any, subscription: str) -> None:
        self._client = client  # a ResourceManagementClient: its pipeline sends the raw ARM requests
        self._subscription = subscription

    def terms_accepted(self, *, publisher: str, offer: str, plan: str) -> bool:
        path = (
            f"/subscriptions/{self._subscription}/providers/Microsoft.MarketplaceOrdering/offerTypes/"
            f"VirtualMachine/publishers/{publisher}/offers/{offer}/plans/{plan}/agreements/current"
        )
        return bool((arm_get(self._client, path, ORDERING_API).get("properties") or {}).get("accepted"))

    def vcpus(self, *, location: str, vm_size: str) -> tuple[int, int] | None:
        base = f"/subscriptions/{self._subscription}/providers/Microsoft.Compute/locations/{location}"
        sizes = arm_get(self._client, base + "/vmSizes", COMPUTE_API).get("value") or []
        size = next((s for s in sizes if str(s.get("name", "")).lower() == vm_size.lower()), None)
        usages = arm_get(self._client, base + "/usages", COMPUTE_API).get("value") or []
        cores = next((u for u in usages if (u.get("name") or {}).get("value") == "cores"), None)
        if size is None or cores is None:
            return None
        return int(size["numberOfCores"]), int(cores["limit"]) - int(cores["currentValue"])
