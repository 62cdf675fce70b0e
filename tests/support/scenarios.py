"""Template bodies and scenario helpers for the e2e tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from cli.local_procs import REPO
from cli.local_seed import LOCATION, SUBSCRIPTION

EXAMPLES = REPO / "examples"
IMAGES = "Microsoft.Compute/images"


def example(stem: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((EXAMPLES / f"{stem}.json").read_text())
    return body


IDENTITY = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-image-builder"
    "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-image-builder"
)
UBUNTU = {
    "type": "PlatformImage",
    "publisher": "Canonical",
    "offer": "ubuntu-24_04-lts",
    "sku": "server",
    "version": "latest",
}


def linux_template(
    *, customize: list[dict[str, Any]], distribute: list[dict[str, Any]], **properties: Any
) -> dict[str, Any]:
    """A small Ubuntu 24.04 Gen2 template (seeded identity and source) with the given steps and targets."""
    return {
        "location": LOCATION,
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {IDENTITY: {}}},
        "properties": {
            "source": dict(UBUNTU),
            "vmProfile": {"vmSize": "Standard_D2ds_v5"},
            "customize": customize,
            "distribute": distribute,
            **properties,
        },
    }


def gallery_target(definition_id: str, name: str, regions: tuple[str, ...] = ("eastus",)) -> dict[str, Any]:
    return {
        "type": "SharedImage",
        "galleryImageId": definition_id,
        "runOutputName": name,
        "targetRegions": [
            {"name": r, "replicaCount": 1, "storageAccountType": "Standard_LRS"} for r in regions
        ],
    }


def managed_image_target(name: str) -> dict[str, Any]:
    return {
        "type": "ManagedImage",
        "imageId": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-images/providers/{IMAGES}/{name}",
        "location": LOCATION,
        "runOutputName": name,
    }


def shell(name: str, *lines: str) -> dict[str, Any]:
    return {"type": "Shell", "name": name, "inline": list(lines)}


def run_parallel(scenarios: dict[str, Callable[[], Any]], *, timeout: float = 480.0) -> dict[str, Any]:
    """Run each scenario in its own thread; name → its return value or the exception it raised."""
    from concurrent.futures import ThreadPoolExecutor

    results: dict[str, Any] = {}
    with ThreadPoolExecutor(max_workers=len(scenarios)) as pool:
        futures = {name: pool.submit(fn) for name, fn in scenarios.items()}
        for name, future in futures.items():
            try:
                results[name] = future.result(timeout=timeout)
            except Exception as exc:  # reported by the test that owns the scenario
                results[name] = exc
    return results


def outcome(results: dict[str, Any], name: str) -> Any:
    """A scenario's result; re-raises what the scenario raised, so its test fails with that error."""
    value = results[name]
    if isinstance(value, BaseException):
        raise value
    return value
