"""Phase 2, preflight: everything that can be checked before anything is created, reported all at once.

A problem found here costs seconds; the same problem found by AIB costs a deployed build VM and often half
an hour (user-pain-points 3, 4). Every problem becomes one detail of a single ``PreflightFailed`` error.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from activities import stage_artifacts, staging_group
from activities.support.access import identity_problems, subscription_problems
from activities.support.uris import ArtifactUri, artifact_uris, plain_reason
from shared import redact
from shared.errors import AzureError, AzureNotFound, PermanentAzureError, TransientAzureError
from shared.models import (
    FileCustomizer,
    ManagedImageDistributor,
    SharedImageDistributor,
    VhdDistributor,
    security_type_problems,
)
from shared.models.access import template_identity
from shared.models.build import PhaseError, ResolvedSource
from shared.models.durable import PreflightInput, PreflightOutput
from shared.models.fields import is_storage_url
from shared.models.resource_ids import parse_resource_id
from shared.models.template import ImageTemplate
from shared.ports import BuildPorts

Problem = dict[str, Any]


def _problem(code: str, target: str, message: str) -> Problem:
    return {"code": code, "target": target, "message": message}


def run(inp: PreflightInput, *, ports: BuildPorts) -> PreflightOutput:
    """Check identities, destinations, the staging group and artifact URIs; return every problem found."""
    template = inp.template
    problems: list[Problem] = []
    problems += _identities(template, ports)
    problems += identity_problems(template)(ports)  # the identity's roles (activities/support/access.py)
    problems += subscription_problems(inp.source, inp.run.location)(ports)  # terms, vCPU quota
    problems += _destinations(template, inp.source, ports, inp.run.subscription_id)
    problems += _uris(template, ports.acting_as(template_identity(template)))  # read as the identity
    problems += _file_destinations(template, inp.source)
    plan, staging_problems = staging_group.check(inp.run, template.properties.stagingResourceGroup, ports)
    problems += staging_problems
    if problems:
        summary = "; ".join(f"{p['target']}: {p['message']}" for p in problems)
        message = f"Preflight found {len(problems)} problem(s): {summary}"
        return PreflightOutput(
            error=PhaseError(code="PreflightFailed", message=message, phase="preflight", details=problems)
        )
    return PreflightOutput(staging=plan)


def _exists(check: Any) -> bool:
    """Run a lookup; False on not-found, transient errors propagate, other errors count as missing."""
    try:
        check()
        return True
    except AzureNotFound:
        return False
    except TransientAzureError:
        raise
    except AzureError:
        return False


def _identities(template: ImageTemplate, ports: BuildPorts) -> list[Problem]:
    ids = [("identity.userAssignedIdentities", i) for i in (template.identity.userAssignedIdentities or {})]
    ids += [
        ("properties.vmProfile.userAssignedIdentities", i)
        for i in template.properties.vmProfile.userAssignedIdentities or []
    ]
    return [
        _problem("IdentityNotFound", where, f"the user-assigned identity '{identity}' does not exist")
        for where, identity in ids
        if not _exists(lambda identity=identity: ports.resources.get_by_id(resource_id=identity))
    ]


def _foreign(resource_id: str, subscription: str) -> bool:
    return parse_resource_id(resource_id).subscription.lower() != subscription.lower()


def _destinations(
    template: ImageTemplate, source: ResolvedSource, ports: BuildPorts, subscription: str
) -> list[Problem]:
    problems: list[Problem] = []
    security: dict[str, str | None] = {}
    for i, target in enumerate(template.properties.distribute):
        where = f"properties.distribute[{i}]"
        destination = getattr(target, "galleryImageId", None) or getattr(target, "imageId", None)
        if destination and _foreign(destination, subscription):
            field = f"{where}.{'galleryImageId' if isinstance(target, SharedImageDistributor) else 'imageId'}"
            message = f"kiln builds in subscription {subscription}; other subscriptions are not supported"
            problems.append(_problem("CrossSubscriptionNotSupported", field, message))
        elif isinstance(target, SharedImageDistributor):
            found, definition_problems = _gallery_target(target, source, ports, where)
            problems += definition_problems
            if found is not None:
                security[target.runOutputName] = found
        elif isinstance(target, ManagedImageDistributor):
            group = parse_resource_id(target.imageId).resource_group or ""
            if not ports.resource_groups.exists(name=group):
                problems.append(
                    _problem(
                        "ResourceGroupNotFound",
                        f"{where}.imageId",
                        f"the resource group '{group}' does not exist",
                    )
                )
        elif isinstance(target, VhdDistributor) and target.uri and urlsplit(target.uri).scheme != "https":
            problems.append(_problem("InsecureUri", f"{where}.uri", "the VHD uri must use https"))
    for detail in security_type_problems(source.security_type, security):
        problems.append({**detail.to_arm(), "target": "properties.distribute"})
    return problems


def _gallery_target(
    target: SharedImageDistributor, source: ResolvedSource, ports: BuildPorts, where: str
) -> tuple[str | None, list[Problem]]:
    """Check one gallery destination; return its definition's security type (None: no definition)."""
    rid = parse_resource_id(target.galleryImageId)
    names = [n for _, n in rid.types]
    group, gallery, image = rid.resource_group or "", names[0], names[1]
    field = f"{where}.galleryImageId"
    try:
        definition = ports.galleries.get_image_definition(resource_group=group, gallery=gallery, name=image)
    except AzureNotFound:
        return None, [
            _problem(
                "ImageDefinitionNotFound", field, f"the image definition '{gallery}/{image}' does not exist"
            )
        ]
    problems: list[Problem] = []
    if definition.os_type.lower() != source.os_type.lower():
        message = f"the image definition is {definition.os_type} but the source image is {source.os_type}"
        problems.append(_problem("OsTypeMismatch", field, message))
    if definition.hyper_v_generation.upper() != source.hyper_v_generation:
        message = (
            f"the image definition is Hyper-V generation {definition.hyper_v_generation} but the source "
            f"image is {source.hyper_v_generation}; the image keeps the source's generation"
        )
        problems.append(_problem("HyperVGenerationMismatch", field, message))
    if len(names) == 3:
        version = names[2]
        if _exists(
            lambda: ports.galleries.get_version(
                resource_group=group, gallery=gallery, image=image, version=version
            )
        ):
            problems.append(
                _problem("ImageVersionExists", field, f"the image version '{version}' already exists")
            )
    return definition.features.get("SecurityType") or "Standard", problems


def _uris(template: ImageTemplate, ports: BuildPorts) -> list[Problem]:
    """Every script and file: https (or Azure Storage), reachable, with the sha256 the template gives.

    Downloading twice (here and in stage_artifacts) is cheap next to a build VM deployed for nothing.
    """
    problems: list[Problem] = []
    for found in artifact_uris(template):
        if urlsplit(found.uri).scheme.lower() != "https" and not is_storage_url(found.uri):
            message = f"'{redact.url(found.uri)}' must use https (or be an Azure Storage URL)"
            problems.append(_problem("InsecureUri", found.field, message))
            continue
        try:
            actual = _sha256(found, ports)
        except AzureError as e:
            problems.append(_problem("ArtifactUnreachable", found.field, _unreachable(found, e)))
            continue
        mismatch = stage_artifacts.checksum_problem(found, actual)
        if mismatch is not None:
            problems.append(mismatch)
    return problems


# A download that fails for a network reason is tried this often, RETRY_SECONDS × attempt apart, before the
# URL counts as the template's problem: a name that does not resolve or a port that refuses is not Azure's
# transient fault, and retrying the activity would only turn it into the build's timeout. Each try is bounded
# by the fetcher's limits: 60 s to connect or between reads, KILN_FETCH_TOTAL_SECONDS (600 s) per download
# (docs/deploy.md); a storage URL by the storage SDK's own retries.
FETCH_ATTEMPTS = 3
RETRY_SECONDS = 2.0


def _sha256(found: ArtifactUri, ports: BuildPorts) -> str:
    attempt = 1
    while True:
        try:
            return stage_artifacts.sha256_of(found, ports, name_the_step=False)
        except TransientAzureError as e:
            if attempt == FETCH_ATTEMPTS:
                raise PermanentAzureError(e.message, code="ArtifactUnreachable") from None
            time.sleep(RETRY_SECONDS * attempt)
            attempt += 1


def _unreachable(found: ArtifactUri, error: AzureError) -> str:
    """E.g. "customize step 2 'tools' could not download 'https://…' (3 tries): could not resolve host 'x'"
    (the URL redacted)."""
    named = f" '{found.name}'" if found.name else ""
    shown = redact.url(found.uri)
    status = 404 if isinstance(error, AzureNotFound) else None
    reason = plain_reason(error.message, urlsplit(found.uri).hostname or "", status)
    tries = f" ({FETCH_ATTEMPTS} tries)" if error.code == "ArtifactUnreachable" else ""
    return f"{found.phase} step {found.index}{named} could not download '{shown}'{tries}: {reason}"


def _file_destinations(template: ImageTemplate, source: ResolvedSource) -> list[Problem]:
    """AIB's rule: on Linux a File step can only write under /tmp."""
    if source.os_type != "Linux":
        return []
    props = template.properties
    validators = props.validate_.inVMValidations if props.validate_ else None
    groups: list[tuple[str, Sequence[object]]] = [
        ("properties.customize", props.customize or []),
        ("properties.validate.inVMValidations", validators or []),
    ]
    return [
        _problem(
            "InvalidDestination", f"{path}[{i}].destination", "on Linux only /tmp is writable by a File step"
        )
        for path, steps in groups
        for i, step in enumerate(steps)
        if isinstance(step, FileCustomizer) and not (step.destination or "").startswith("/tmp/")
    ]
