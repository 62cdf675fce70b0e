"""Phase 1, resolve the source: pin ``latest`` to an exact version and learn what the image implies.

AIB resolves ``version: latest`` at build time, not at submit time (contract §2); the exact version is
what ``exactVersion`` shows afterwards. Generation, OS type and security type come from the image (the
Marketplace image's features or the gallery image definition), never from the template.
"""

from __future__ import annotations

from typing import Literal

from activities.support.context import fail, guard
from shared.errors import AzureNotFound
from shared.models import (
    ManagedImageSource,
    PlatformImageSource,
    SharedImageVersionSource,
    default_vm_size,
    security_type_problems,
)
from shared.models.azure import MarketplaceImage
from shared.models.build import PhaseError, PhaseFailed, ResolvedSource, RunRef
from shared.models.durable import ResolveSourceInput, ResolveSourceOutput
from shared.models.resource_ids import ResourceId, ResourceIdError, parse_resource_id
from shared.models.template import ImageTemplate
from shared.ports import BuildPorts

SECURITY_FEATURE = "SecurityType"


def version_key(version: str) -> tuple[int, ...]:
    """Order versions by their numeric parts (``1.10.0`` after ``1.9.3``); non-numeric parts sort first."""
    return tuple(int(p) if p.isdigit() else -1 for p in version.split("."))


def run(inp: ResolveSourceInput, *, ports: BuildPorts) -> ResolveSourceOutput:
    """Resolve the template's source to an exact image and the build settings it implies.

    Returns:
        The resolved source, or a PhaseError (phase ``resolve``) when the image is missing, its plan does
        not match ``planInfo`` or its security type cannot be a source.
    """
    try:
        source = _resolve(inp.template, inp.run, ports)
        problems = security_type_problems(source.security_type, {})
        if problems:
            details = [d.to_arm() for d in problems]
            error = PhaseError(
                code="UnsupportedSecurityType", message=problems[0].message, phase="resolve", details=details
            )
            return ResolveSourceOutput(error=error)
        return ResolveSourceOutput(source=source)
    except PhaseFailed as e:
        return ResolveSourceOutput(error=e.error)


def _resolve(template: ImageTemplate, run: RunRef, ports: BuildPorts) -> ResolvedSource:
    src = template.properties.source
    profile = template.properties.vmProfile
    if isinstance(src, PlatformImageSource):
        source = _platform(src, run.location, ports)
    elif isinstance(src, ManagedImageSource):
        source = _managed(src, ports, run.subscription_id)
    else:
        source = _gallery(src, ports, run.subscription_id)
    vm_size = profile.vmSize or default_vm_size(source.hyper_v_generation)
    return source.model_copy(update={"vm_size": vm_size, "os_disk_size_gb": profile.osDiskSizeGB or None})


def _platform(src: PlatformImageSource, location: str, ports: BuildPorts) -> ResolvedSource:
    names = {"publisher": src.publisher or "", "offer": src.offer or "", "sku": src.sku or ""}
    wanted = src.version or "latest"
    urn = ":".join([*names.values(), wanted])
    with guard("resolve", urn):
        try:
            if wanted.lower() == "latest":
                versions = ports.marketplace.list_versions(location=location, **names)
                if not versions:
                    raise AzureNotFound(f"no version of {urn} exists in {location}")
                wanted = max(versions, key=version_key)
            image = ports.marketplace.get_version(location=location, version=wanted, **names)
        except AzureNotFound as e:
            raise fail(
                "resolve",
                "SourceImageNotFound",
                _not_offered(names, wanted, location, ports, e),
                target="properties.source",
            ) from None
    plan = _check_plan(src, image)
    return ResolvedSource(
        type="PlatformImage",
        publisher=image.publisher,
        offer=image.offer,
        sku=image.sku,
        version=image.version,
        exact_version=image.version,
        os_type=_os(image.os_type),
        hyper_v_generation=_generation(image.hyper_v_generation),
        security_type=image.features.get(SECURITY_FEATURE) or "Standard",
        plan=plan,
        vm_size="",
    )


SHOWN_VERSIONS = 5


def _not_offered(
    names: dict[str, str], wanted: str, location: str, ports: BuildPorts, error: AzureNotFound
) -> str:
    """Which Marketplace image was not found and where, and what is there instead: the newest versions of
    the SKU when only the version is missing, else that the SKU is not offered there (with Azure's words)."""
    sku = ":".join(names.values())
    head = f"The Marketplace image {sku}:{wanted} was not found in {location}"
    try:
        versions = sorted(ports.marketplace.list_versions(location=location, **names), key=version_key)
    except AzureNotFound:
        versions = []
    if not versions:
        return (
            f"{head}: no image {sku} (publisher:offer:sku) is offered there; check the names and the "
            f"location with 'az vm image list-skus'. Azure said: {error.message}"
        )
    newest = ", ".join(reversed(versions[-SHOWN_VERSIONS:]))
    more = f" and {len(versions) - SHOWN_VERSIONS} older" if len(versions) > SHOWN_VERSIONS else ""
    return f"{head}: version '{wanted}' does not exist; {sku} has {newest}{more} there (or use 'latest')."


def _check_plan(src: PlatformImageSource, image: MarketplaceImage) -> dict[str, str] | None:
    if image.plan is None:
        if src.planInfo is not None:
            raise fail(
                "resolve",
                "PlanMismatch",
                "planInfo is given but the image has no purchase plan",
                target="planInfo",
            )
        return None
    actual = {"name": image.plan.name, "product": image.plan.product, "publisher": image.plan.publisher}
    if src.planInfo is None:
        raise fail(
            "resolve",
            "PlanRequired",
            f"the image has the purchase plan {actual}; set properties.source.planInfo to it "
            "(and accept its terms: az vm image terms accept)",
            target="properties.source.planInfo",
        )
    given = {
        "name": src.planInfo.planName,
        "product": src.planInfo.planProduct,
        "publisher": src.planInfo.planPublisher,
    }
    if {k: v.lower() for k, v in given.items()} != {k: v.lower() for k, v in actual.items()}:
        raise fail(
            "resolve",
            "PlanMismatch",
            f"planInfo {given} does not match the image's purchase plan {actual}",
            target="properties.source.planInfo",
        )
    return actual


def _managed(src: ManagedImageSource, ports: BuildPorts, subscription: str) -> ResolvedSource:
    rid = _parse(src.imageId, "properties.source.imageId", subscription)
    with guard("resolve", src.imageId):
        image = ports.managed_images.get(resource_group=rid.resource_group or "", name=rid.name)
    return ResolvedSource(
        type="ManagedImage",
        image_id=image.id,
        exact_version=image.id,
        os_type=_os(image.os_type),
        hyper_v_generation=_generation(image.hyper_v_generation),
        vm_size="",
    )


def _gallery(src: SharedImageVersionSource, ports: BuildPorts, subscription: str) -> ResolvedSource:
    rid = _parse(src.imageVersionId, "properties.source.imageVersionId", subscription)
    if rid.resource_group is None or len(rid.types) != 3:
        raise fail(
            "resolve",
            "UnsupportedSource",
            "only Azure Compute Gallery image versions in a resource group are supported as a source",
            target="properties.source.imageVersionId",
        )
    where = {"resource_group": rid.resource_group, "gallery": rid.types[0][1], "image": rid.types[1][1]}
    with guard("resolve", src.imageVersionId):
        definition = ports.galleries.get_image_definition(
            resource_group=where["resource_group"], gallery=where["gallery"], name=where["image"]
        )
        version = rid.name
        if version.lower() == "latest":
            version = _latest_gallery_version(ports, where, src.imageVersionId)
        found = ports.galleries.get_version(version=version, **where)
    return ResolvedSource(
        type="SharedImageVersion",
        image_id=found.id,
        version=version,
        exact_version=found.id,
        os_type=_os(definition.os_type),
        hyper_v_generation=_generation(definition.hyper_v_generation),
        security_type=definition.features.get(SECURITY_FEATURE) or "Standard",
        vm_size="",
    )


def _latest_gallery_version(ports: BuildPorts, where: dict[str, str], source_id: str) -> str:
    candidates = [
        v.name
        for v in ports.galleries.list_versions(**where)
        if not v.exclude_from_latest and v.provisioning_state == "Succeeded"
    ]
    if not candidates:
        raise fail(
            "resolve",
            "SourceImageNotFound",
            f"the image definition of '{source_id}' has no version that 'latest' can resolve to",
            target="properties.source.imageVersionId",
        )
    return max(candidates, key=version_key)


def _parse(value: str, field: str, subscription: str) -> ResourceId:
    try:
        rid = parse_resource_id(value)
    except ResourceIdError as e:
        raise fail("resolve", "InvalidSource", str(e), target=field) from None
    if rid.subscription.lower() != subscription.lower():
        message = (
            f"kiln builds in subscription {subscription}; a source in another subscription is not supported"
        )
        raise fail("resolve", "CrossSubscriptionNotSupported", message, target=field)
    return rid


def _os(value: str | None) -> Literal["Linux", "Windows"]:
    return "Windows" if (value or "").lower() == "windows" else "Linux"


def _generation(value: str | None) -> Literal["V1", "V2"]:
    return "V2" if (value or "").upper() == "V2" else "V1"
