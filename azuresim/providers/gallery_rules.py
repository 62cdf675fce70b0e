"""What Azure checks on gallery resources: image definition fields and security features, an image version's
name, its source (a generalized VM, a managed image or another version) and its fit with the definition."""

from __future__ import annotations

import re
from typing import Any

from azuresim.errors import SimError
from azuresim.providers.compute_common import invalid, missing
from azuresim.providers.vm_model import hyperv_generation

_VERSION_NAME = re.compile(r"^\d+\.\d+\.\d+$")
_BASE = "galleryImageVersion.properties"
TRUSTED_LAUNCH_VALUES = ("TrustedLaunch", "TrustedLaunchSupported", "TrustedLaunchAndConfidentialVmSupported")
SECURITY_VALUES = (*TRUSTED_LAUNCH_VALUES, "ConfidentialVM", "ConfidentialVMSupported", "Standard")


def validate_definition(props: dict[str, Any]) -> dict[str, Any]:
    """Check an image definition's properties as Azure does; returns them with defaults filled in."""
    base = "galleryImage.properties"
    for field in ("osType", "osState", "identifier"):
        if not props.get(field):
            raise missing(f"{base}.{field}")
    if props["osType"] not in ("Windows", "Linux"):
        raise invalid(f"{base}.osType", f"The value '{props['osType']}' of parameter 'osType' is invalid.")
    if props["osState"] not in ("Generalized", "Specialized"):
        raise invalid(f"{base}.osState", f"The value '{props['osState']}' of parameter 'osState' is invalid.")
    for field in ("publisher", "offer", "sku"):
        if not props["identifier"].get(field):
            raise missing(f"{base}.identifier.{field}")
    props.setdefault("hyperVGeneration", "V1")
    if props["hyperVGeneration"] not in ("V1", "V2"):
        raise invalid(
            f"{base}.hyperVGeneration", "The value of parameter 'hyperVGeneration' must be V1 or V2."
        )
    security = security_type(props)
    if security is not None:
        if security not in SECURITY_VALUES:
            raise invalid(f"{base}.features", f"The value '{security}' of feature 'SecurityType' is invalid.")
        if props["hyperVGeneration"] != "V2" and security != "Standard":
            raise invalid(
                f"{base}.hyperVGeneration",
                f"The feature 'SecurityType' with value '{security}' is supported only with "
                "HyperVGeneration V2.",
            )
    props.setdefault("architecture", "x64")
    return props


def security_type(props: dict[str, Any]) -> str | None:
    for feature in props.get("features") or []:
        if isinstance(feature, dict) and str(feature.get("name", "")).lower() == "securitytype":
            return str(feature.get("value"))
    return None


def resolve_source(sim: Any, storage: dict[str, Any]) -> tuple[str, str, str | None]:
    """(source id, its Hyper-V generation, its security type) — after Azure's checks on the source."""
    src = storage.get("source") or {}
    source_id = str(src.get("virtualMachineId") or src.get("id") or "")
    if not source_id:
        raise missing(f"{_BASE}.storageProfile.source")
    found = sim.store.get(source_id)
    if found is None:
        raise SimError(
            404, "NotFound", f"The source '{source_id}' was not found.", f"{_BASE}.storageProfile.source"
        )
    kind = found["type"].lower()
    if kind.endswith("/virtualmachines"):
        if not found.get("_generalized"):
            raise SimError(
                409,
                "OperationNotAllowed",
                f"The operation 'Create Image Version' requires the Virtual Machine '{found['name']}' "
                "to be Generalized.",
            )
        security = found["properties"].get("securityProfile", {}).get("securityType")
        return found["id"], hyperv_generation(found), security
    if kind.endswith("/images") and "/galleries/" not in kind:
        return found["id"], str(found["properties"].get("hyperVGeneration", "V1")), None
    if kind.endswith("/versions"):
        definition = sim.store.get(found["id"].rsplit("/versions/", 1)[0]) or {"properties": {}}
        return found["id"], str(definition["properties"].get("hyperVGeneration", "V1")), None
    raise invalid(f"{_BASE}.storageProfile.source", f"'{source_id}' is not a supported image source.")


def check_compatible(definition: dict[str, Any], generation: str, security: str | None) -> None:
    props = definition["properties"]
    if props.get("hyperVGeneration", "V1") != generation:
        raise invalid(
            f"{_BASE}.storageProfile.source",
            f"The source has HyperVGeneration '{generation}', which does not match the gallery image "
            f"definition's HyperVGeneration '{props.get('hyperVGeneration', 'V1')}'.",
        )
    if security == "TrustedLaunch" and security_type(props) not in TRUSTED_LAUNCH_VALUES:
        raise invalid(
            f"{_BASE}.storageProfile.source",
            "A source VM with security type 'TrustedLaunch' requires the gallery image definition to have "
            "the "
            "feature 'SecurityType' set to 'TrustedLaunchSupported' or 'TrustedLaunch'.",
        )


def check_version_name(version: str) -> None:
    if not _VERSION_NAME.match(version):
        raise invalid(
            "galleryImageVersionName",
            f"The gallery image version name '{version}' is invalid. It must be of the "
            "form Major(int32).Minor(int32).Patch(int32).",
        )


def os_disk_size(sim: Any, source_id: str) -> int:
    source = sim.store.get(source_id) or {}
    os_disk = source.get("properties", {}).get("storageProfile", {}).get("osDisk", {})
    return int(os_disk.get("diskSizeGB") or 30)
