"""Annotated string types for the template's fields, each with the check AIB (or ARM) applies."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from shared.models import resource_ids as rids
from shared.models.regions import AIB_REGION_DISPLAY_NAMES, is_aib_region, is_well_formed_region

NAME_PATTERN = re.compile(r"^[A-Za-z0-9\-_.]{1,64}$")
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")
_VM_SIZE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class WireModel(BaseModel):
    """Base of every contract model: wire names as attribute names, closed schema, JSON-strict types."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_default=False, serialize_by_alias=True)


def problem(code: str, message: str) -> PydanticCustomError:
    """A validation problem carrying one of our detail codes (see docs/contract.md)."""
    return PydanticCustomError(code, message)


def _checked(check: Callable[[str], str | None], code: str) -> AfterValidator:
    def run(value: str) -> str:
        message = check(value)
        if message is not None:
            raise problem(code, message)
        return value

    return AfterValidator(run)


def _resource_id(kind: rids.ResourceKind) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        try:
            rids.parse_typed_id(value, kind)
        except rids.ResourceIdError as err:
            return f"'{value}' is not a valid {kind.label} resource id: {err}"
        return None

    return check


def _gallery_image(value: str) -> str | None:
    """Distribution target: an image definition, or one explicit (new) version of it."""
    kind = rids.GALLERY_IMAGE_VERSION if "/versions/" in value.lower() else rids.GALLERY_IMAGE
    message = _resource_id(kind)(value)
    if message is None and kind is rids.GALLERY_IMAGE_VERSION:
        why = rids.check_gallery_version(value.rsplit("/", 1)[1], allow_latest=False)
        if why:
            return f"'{value}': {why}; to let AIB pick the next version, give the image definition id"
    return message


def _image_version(value: str) -> str | None:
    """Source: an Azure Compute Gallery version id, or a Direct Shared Gallery version id."""
    if "/sharedgalleries/" in value.lower():
        return _direct_shared_version(value)
    message = _resource_id(rids.GALLERY_IMAGE_VERSION)(value)
    if message is None:
        why = rids.check_gallery_version(value.rsplit("/", 1)[1], allow_latest=True)
        if why:
            return f"'{value}': {why}"
    return message


def _direct_shared_version(value: str) -> str | None:
    shape = (
        "/subscriptions/{subscriptionId}/providers/Microsoft.Compute/locations/{location}"
        "/sharedGalleries/{galleryUniqueName}/images/{image}/versions/{version}"
    )
    try:
        rid = rids.parse_resource_id(value)
    except rids.ResourceIdError as err:
        return f"'{value}' is not a valid Direct Shared Gallery image version id: {err}"
    chain = [t.lower() for t, _ in rid.types]
    if rid.resource_group is not None or chain != ["locations", "sharedgalleries", "images", "versions"]:
        return f"'{value}' is not a valid Direct Shared Gallery image version id; expected {shape}"
    return rids.check_gallery_version(rid.name, allow_latest=True)


def _resource_group_id(value: str) -> str | None:
    try:
        rid = rids.parse_resource_id(value)
    except rids.ResourceIdError as err:
        return f"'{value}' is not a valid resource group id: {err}"
    if rid.resource_group is None or rid.provider is not None:
        return (
            f"'{value}' must be a resource group id: /subscriptions/{{subscriptionId}}/resourceGroups/{{rg}}"
        )
    return None


def _template_region(value: str) -> str | None:
    if is_aib_region(value):
        return None
    return (
        f"'{value}' is not a region where Azure VM Image Builder runs; use one of: "
        + ", ".join(AIB_REGION_DISPLAY_NAMES)
        + " (display or normalised names, e.g. 'westus2')"
    )


def _region(value: str) -> str | None:
    if is_well_formed_region(value):
        return None
    return f"'{value}' is not a well-formed Azure region name (e.g. 'eastus2' or 'East US 2')"


# The blob service hosts of Azure Storage accounts (public cloud, US Government, China).
STORAGE_SUFFIXES = (".blob.core.windows.net", ".blob.core.usgovcloudapi.net", ".blob.core.chinacloudapi.cn")


def is_storage_url(uri: str) -> bool:
    """Whether ``uri`` points into an Azure Storage account's blob service."""
    return (urlsplit(uri).hostname or "").lower().endswith(STORAGE_SUFFIXES)


def _any_case(text: str) -> str:
    """``text`` as a regex matching it in any case (JSON Schema patterns have no flags)."""
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in text)


def _uri(value: str) -> str | None:
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or " " in value:
        return f"'{value}' is not an absolute http(s) URI"
    return None


def _optional_uri(value: str) -> str | None:
    return None if value == "" else _uri(value)


def _sha256(value: str) -> str | None:
    if value == "" or _SHA256.match(value):
        return None
    return f"'{value}' is not a SHA-256 checksum (64 hexadecimal characters) or empty"


def _run_output_name(value: str) -> str | None:
    if NAME_PATTERN.match(value):
        return None
    return f"'{value}' must match ^[A-Za-z0-9-_.]{{1,64}}$ (it names the runOutputs sub-resource)"


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def _duration(value: str) -> str | None:
    if _DURATION.match(value):
        return None
    return f"'{value}' is not a duration such as '5m', '90s' or '1h30m'"


def duration_seconds(value: str) -> int:
    """Seconds in a Go-style duration (``5m``, ``90s``, ``1h30m``), as ``restartTimeout`` uses.

    Raises:
        ValueError: not a duration.
    """
    problem_text = _duration(value)
    if problem_text is not None:
        raise ValueError(problem_text)
    return int(sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(value)))


def _vm_size(value: str) -> str | None:
    if value == "" or _VM_SIZE.match(value):
        return None
    return f"'{value}' is not a VM size name such as 'Standard_D2ds_v4'"


ManagedImageId = Annotated[str, _checked(_resource_id(rids.MANAGED_IMAGE), "InvalidResourceId")]
GalleryImageId = Annotated[str, _checked(_gallery_image, "InvalidResourceId")]
ImageVersionId = Annotated[str, _checked(_image_version, "InvalidResourceId")]
SubnetId = Annotated[str, _checked(_resource_id(rids.SUBNET), "InvalidResourceId")]
IdentityId = Annotated[str, _checked(_resource_id(rids.USER_IDENTITY), "InvalidResourceId")]
ResourceGroupId = Annotated[str, _checked(_resource_group_id, "InvalidResourceId")]
TemplateRegion = Annotated[str, _checked(_template_region, "UnsupportedRegion")]
# Each check's rule is also published in the JSON schema (functions/openapi.py), never looser than the check.
# What kiln downloads uses https, or is an Azure Storage blob URL (rules.secure_uris); a VHD's uri https.
_STORAGE_HOST = r"[A-Za-z0-9-]+(" + "|".join(_any_case(s) for s in STORAGE_SUFFIXES) + ")"
_HTTPS_URI = r"[Hh][Tt][Tt][Pp][Ss]://[A-Za-z0-9._~%!$&'()*+,;=:@-]+([/?#][!-~]*)?"
_DOWNLOAD_PATTERN = rf"({_HTTPS_URI}|[Hh][Tt][Tt][Pp]://{_STORAGE_HOST}(:[0-9]+)?([/?#][!-~]*)?)"
Region = Annotated[
    str,
    _checked(_region, "InvalidValue"),
    Field(json_schema_extra={"pattern": r"^[A-Za-z][A-Za-z0-9]*( [A-Za-z0-9]+)*$", "maxLength": 64}),
]
Uri = Annotated[
    str, _checked(_uri, "InvalidValue"), Field(json_schema_extra={"pattern": f"^{_DOWNLOAD_PATTERN}$"})
]
OptionalUri = Annotated[
    str, _checked(_optional_uri, "InvalidValue"), Field(json_schema_extra={"pattern": f"^({_HTTPS_URI})?$"})
]
Sha256 = Annotated[
    str, _checked(_sha256, "InvalidValue"), Field(json_schema_extra={"pattern": "^([0-9a-fA-F]{64})?$"})
]
# The pattern is also published in the JSON schema (functions/openapi.py); the check gives our own message.
RunOutputName = Annotated[
    str,
    _checked(_run_output_name, "InvalidValue"),
    Field(json_schema_extra={"pattern": NAME_PATTERN.pattern}),
]
Duration = Annotated[
    str, _checked(_duration, "InvalidValue"), Field(json_schema_extra={"pattern": _DURATION.pattern})
]
VmSize = Annotated[
    str,
    _checked(_vm_size, "InvalidValue"),
    Field(json_schema_extra={"pattern": "^([A-Za-z][A-Za-z0-9_]*)?$"}),
]


def _not_blank(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        raise problem("InvalidValue", "must not be empty")
    return value


NonEmpty = Annotated[str, AfterValidator(_not_blank), Field(json_schema_extra={"pattern": r"\S"})]

# ARM's tag limits: they are enforced when kiln tags what it creates, so check them at submit time.
_MAX_TAGS, _MAX_TAG_NAME, _MAX_TAG_VALUE = 50, 512, 256
_BAD_TAG_NAME_CHARS = set("<>%&\\?/")


def _tag_name(name: str) -> str | None:
    if not name or len(name) > _MAX_TAG_NAME or set(name) & _BAD_TAG_NAME_CHARS:
        return f"tag name '{name}' must be 1-{_MAX_TAG_NAME} characters without < > % & \\ ? /"
    return None


def _tag_value(value: str) -> str | None:
    return (
        None if len(value) <= _MAX_TAG_VALUE else f"a tag value must be at most {_MAX_TAG_VALUE} characters"
    )


def _tag_count(tags: dict[str, str]) -> dict[str, str]:
    if len(tags) > _MAX_TAGS:
        raise problem("InvalidValue", f"at most {_MAX_TAGS} tags are allowed; {len(tags)} given")
    return tags


Tags = Annotated[
    dict[
        Annotated[
            str,
            _checked(_tag_name, "InvalidValue"),
            Field(json_schema_extra={"pattern": "^[^<>%&\\\\?/]{1," + str(_MAX_TAG_NAME) + "}$"}),
        ],
        Annotated[
            str, _checked(_tag_value, "InvalidValue"), Field(json_schema_extra={"maxLength": _MAX_TAG_VALUE})
        ],
    ],
    AfterValidator(_tag_count),
    Field(json_schema_extra={"maxProperties": _MAX_TAGS}),
]


# The resource-id checks by field name, for re-checking an id's shape around its placeholders.
RESOURCE_ID_CHECKS: dict[str, Callable[[str], str | None]] = {
    "imageId": _resource_id(rids.MANAGED_IMAGE),
    "galleryImageId": _gallery_image,
    "imageVersionId": _image_version,
    "subnetId": _resource_id(rids.SUBNET),
    "containerInstanceSubnetId": _resource_id(rids.SUBNET),
    "stagingResourceGroup": _resource_group_id,
    "userAssignedIdentities": _resource_id(rids.USER_IDENTITY),
}
