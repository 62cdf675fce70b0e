"""Rules that need more than the template body: a trigger's template, and the images' security types.

``validate_template`` cannot check these because the facts come from elsewhere (the trigger's image
template, or the source image and gallery image definitions the build resolves); the service and the
build call these pure functions once they have the facts.
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.errors import ErrorDetail
from shared.models.distribute import SharedImageDistributor
from shared.models.sources import PlatformImageSource, SharedImageVersionSource
from shared.models.template import ImageTemplate

_NOT_A_SOURCE = ("TrustedLaunch", "ConfidentialVM")


def source_trigger_problems(template: ImageTemplate) -> list[ErrorDetail]:
    """Why a ``SourceImage`` trigger cannot be attached to ``template`` (empty list: it can).

    AIB's rules [TRG]: the source follows a moving version (PlatformImage ``latest`` or a gallery
    ``…/versions/latest``); no SharedImage target pins a version; the source's image definition is
    not also a target (a build would trigger itself).
    """
    problems: list[ErrorDetail] = []
    source = template.properties.source
    source_def: str | None = None
    if isinstance(source, PlatformImageSource):
        if (source.version or "").lower() != "latest":
            problems.append(
                _detail("properties.source.version", "must be 'latest' for a SourceImage trigger")
            )
    elif isinstance(source, SharedImageVersionSource) and source.imageVersionId.lower().endswith(
        "/versions/latest"
    ):
        source_def = source.imageVersionId.rsplit("/versions/", 1)[0].lower()
    elif isinstance(source, SharedImageVersionSource):
        problems.append(
            _detail("properties.source.imageVersionId", "must end with '/versions/latest' for a trigger")
        )
    else:
        problems.append(
            _detail("properties.source.type", "a trigger needs a PlatformImage or SharedImageVersion source")
        )
    for i, target in enumerate(template.properties.distribute):
        if not isinstance(target, SharedImageDistributor):
            continue
        where = f"properties.distribute[{i}].galleryImageId"
        if "/versions/" in target.galleryImageId.lower():
            problems.append(_detail(where, "must not pin a version when a SourceImage trigger is used"))
        elif target.galleryImageId.lower() == source_def:
            problems.append(_detail(where, "must not be the source's own image definition"))
    return problems


def security_type_problems(
    source_security_type: str | None, target_security_types: Mapping[str, str | None]
) -> list[ErrorDetail]:
    """Check the security types the build resolved: the source's, and each gallery target's by runOutputName.

    Rules [OV]: a ``TrustedLaunch`` or ``ConfidentialVM`` image cannot be a source (their
    ``…Supported`` variants can); a ``TrustedLaunchSupported`` source needs ``TrustedLaunchSupported``
    gallery targets and vice versa.
    """
    problems: list[ErrorDetail] = []
    if source_security_type in _NOT_A_SOURCE:
        message = (
            f"a {source_security_type} image cannot be a source; use a {source_security_type}Supported image"
        )
        problems.append(_detail("properties.source", message, code="UnsupportedSecurityType"))
    source_tls = source_security_type == "TrustedLaunchSupported"
    for run_output, target_type in target_security_types.items():
        if source_tls != (target_type == "TrustedLaunchSupported"):
            message = (
                f"the source is {source_security_type or 'Standard'} but the image definition of "
                f"'{run_output}' is {target_type or 'Standard'}; both must be TrustedLaunchSupported or "
                "neither"
            )
            problems.append(_detail("properties.distribute", message, code="UnsupportedSecurityType"))
    return problems


def _detail(target: str, message: str, code: str = "InvalidValue") -> ErrorDetail:
    return ErrorDetail(code=code, message=message, target=target)
