"""Small mutations of request bodies for table-driven rule tests."""

from __future__ import annotations

from typing import Any

from tests.models.builders import GALLERY_IMAGE, MANAGED_IMAGE, SUB
from tests.models.helpers import Mutation


def set_in(*path: Any, value: Any) -> Mutation:
    def change(body: dict[str, Any]) -> None:
        node = body
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return change


def drop(*path: Any) -> Mutation:
    def change(body: dict[str, Any]) -> None:
        node = body
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]

    return change


def customize(*items: dict[str, Any]) -> Mutation:
    return set_in("properties", "customize", value=list(items))


def distribute(*items: dict[str, Any]) -> Mutation:
    return set_in("properties", "distribute", value=list(items))


def vnet(**config: Any) -> Mutation:
    return set_in("properties", "vmProfile", value={"vnetConfig": config})


DIRECT_SHARED = (
    f"/subscriptions/{SUB}/providers/Microsoft.Compute/locations/westus2/sharedGalleries/g-1/images/i"
)
SIG = {"type": "SharedImage", "galleryImageId": GALLERY_IMAGE, "runOutputName": "sig"}
MI = {"type": "ManagedImage", "imageId": MANAGED_IMAGE, "location": "westus2", "runOutputName": "mi"}
