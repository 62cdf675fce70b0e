"""What a template's identity must be allowed to do, and Azure RBAC's matching of actions (docs/security.md).

kiln does a build's work on behalf of the template's user-assigned identity, so before anything is created
preflight asks whether that identity may do each thing the template asks of it — the permissions AIB
documents for a template identity:

| template part | action | scope |
|---|---|---|
| source ManagedImage | ``Microsoft.Compute/images/read`` | the image |
| source SharedImageVersion | ``Microsoft.Compute/galleries/images/versions/read`` | the version |
| distribute ManagedImage | ``Microsoft.Compute/images/write`` | the image |
| distribute SharedImage | ``Microsoft.Compute/galleries/images/versions/write`` | the image definition |
| an Azure Storage scriptUri / sourceUri | ``…/blobServices/containers/blobs/read`` (data) | the container |
| distribute VHD with a ``uri`` | ``…/blobServices/containers/blobs/write`` (data) | the container |
| vmProfile.vnetConfig.subnetId | ``Microsoft.Network/virtualNetworks/subnets/join/action`` | the subnet |
| vmProfile.userAssignedIdentities | ``…/userAssignedIdentities/assign/action`` | each identity |

Matching is RBAC's: ``*`` stands for any run of characters, case is ignored, and a permission block allows an
action its ``actions`` (``dataActions``) match unless its ``notActions`` (``notDataActions``) match too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from shared.models.fields import STORAGE_SUFFIXES
from shared.models.template import ImageTemplate

ASSIGN_IDENTITY = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"
BLOB_READ = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
BLOB_WRITE = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"


@dataclass(frozen=True)
class Required:
    """One action on one scope, and the template field that needs it.

    A blob read names its storage account and container instead of a scope: only Azure knows the account's
    resource group, so the access adapter finds the scope (and fills ``scope`` in what it reports).
    """

    action: str
    scope: str
    target: str
    data: bool = False
    account: str = ""
    container: str = ""


def template_identity(template: ImageTemplate) -> str | None:
    """The user-assigned identity that does the template's work (AIB allows exactly one), None without."""
    return next(iter(template.identity.userAssignedIdentities or {}), None)


def required_permissions(template: ImageTemplate) -> list[Required]:
    """Every (action, scope) the template's identity needs, in template order."""
    props = template.properties
    found: list[Required] = []
    source = props.source
    image_id = getattr(source, "imageId", None)
    version_id = getattr(source, "imageVersionId", None)
    if image_id:
        found.append(Required("Microsoft.Compute/images/read", image_id, "properties.source.imageId"))
    if version_id:
        action = "Microsoft.Compute/galleries/images/versions/read"
        found.append(Required(action, version_id, "properties.source.imageVersionId"))
    validators = props.validate_.inVMValidations if props.validate_ else None
    steps = [(f"properties.customize[{i}]", s) for i, s in enumerate(props.customize or [])]
    steps += [(f"properties.validate.inVMValidations[{i}]", s) for i, s in enumerate(validators or [])]
    for where, step in steps:
        for key in ("scriptUri", "sourceUri"):
            found += _blob(getattr(step, key, None), f"{where}.{key}")
    for i, target in enumerate(props.distribute):
        where = f"properties.distribute[{i}]"
        gallery = getattr(target, "galleryImageId", None)
        managed = getattr(target, "imageId", None)
        if gallery:
            action = "Microsoft.Compute/galleries/images/versions/write"
            found.append(Required(action, _definition_of(gallery), f"{where}.galleryImageId"))
        elif managed:
            found.append(Required("Microsoft.Compute/images/write", managed, f"{where}.imageId"))
        elif getattr(target, "type", "") == "VHD":
            found += _blob(getattr(target, "uri", None), f"{where}.uri", BLOB_WRITE)
    vm = props.vmProfile
    subnet = vm.vnetConfig.subnetId if vm and vm.vnetConfig else None
    if subnet:
        action = "Microsoft.Network/virtualNetworks/subnets/join/action"
        found.append(Required(action, subnet, "properties.vmProfile.vnetConfig.subnetId"))
    for identity in (vm.userAssignedIdentities if vm else None) or []:
        found.append(Required(ASSIGN_IDENTITY, identity, "properties.vmProfile.userAssignedIdentities"))
    return found


def _blob(uri: str | None, where: str, action: str = BLOB_READ) -> list[Required]:
    if not uri:
        return []
    parts = urlsplit(uri)
    host = (parts.hostname or "").lower()
    if not host.endswith(STORAGE_SUFFIXES) or "sig" in parse_qs(parts.query):
        return []  # not storage, or the user's SAS grants the read: the identity needs no role for it
    container = unquote(parts.path).lstrip("/").split("/", 1)[0]
    return [Required(action, "", where, data=True, account=host.split(".", 1)[0], container=container)]


def _definition_of(gallery_image_id: str) -> str:
    """The image definition of a galleryImageId (which may name a version)."""
    return re.sub(r"(?i)/versions/[^/]+$", "", gallery_image_id)


@lru_cache(maxsize=512)
def _pattern(action: str) -> re.Pattern[str]:
    # "a/*/b" also matches "a/b" (Managed Identity Operator: ".../*/assign/action").
    parts = [".*".join(re.escape(p) for p in piece.split("*")) for piece in action.split("/*/")]
    return re.compile("^" + "/(?:.*/)?".join(parts) + "$", re.IGNORECASE)


def matches(patterns: Iterable[str], action: str) -> bool:
    """Whether any RBAC action pattern matches ``action``."""
    return any(_pattern(p).match(action) for p in patterns)


def allows(permissions: Iterable[Mapping[str, Any]], action: str, *, data: bool = False) -> bool:
    """Whether a role's permission blocks allow ``action`` (a data action when ``data``)."""
    yes, no = ("dataActions", "notDataActions") if data else ("actions", "notActions")
    return any(
        matches(block.get(yes) or [], action) and not matches(block.get(no) or [], action)
        for block in permissions
    )


def within(scope: str, assigned: str) -> bool:
    """Whether ``scope`` is ``assigned`` or lies below it (segment by segment, case ignored)."""
    inner, outer = scope.rstrip("/").lower(), assigned.rstrip("/").lower()
    return outer == "" or inner == outer or inner.startswith(outer + "/")


def describe(required: Required, identity: str) -> str:
    """The preflight message of a missing permission: the identity, the action and the scope."""
    kind = "data action" if required.data else "action"
    return (
        f"the template's identity '{identity}' may not perform {kind} '{required.action}' on "
        f"'{required.scope or required.account + '/' + required.container}'; grant it a role with that "
        "action there (docs/security.md)"
    )
