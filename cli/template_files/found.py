"""What the reader hands back: each template found in a file, with where it was and how to validate it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from shared.errors import ErrorDetail, KilnError

TEMPLATE_TYPE = "Microsoft.VirtualMachineImages/imageTemplates"
TRIGGER_TYPE = "Microsoft.VirtualMachineImages/imageTemplates/triggers"
RUN_OUTPUT_TYPE = "Microsoft.VirtualMachineImages/imageTemplates/runOutputs"
# The 2019 previews' quickstarts named the provider alone as the resource type.
LEGACY_TYPE = "Microsoft.VirtualMachineImages"
VALIDATABLE_API_VERSIONS = ("2025-10-01", "2024-02-01", "2022-07-01")
DEFAULT_API_VERSION = "2025-10-01"

Kind = Literal["template", "trigger", "update"]
Wrapper = Literal["resource", "deploymentTemplate", "restExample"]


@dataclass
class FoundTemplate:
    """One body to validate, found in a file.

    Attributes:
        kind: ``template`` (a PUT body), ``trigger`` (a trigger body) or ``update`` (a PATCH body).
        path: JSON path of the body inside the file (``""`` when the body is the whole file), e.g.
            ``resources[1]`` or ``parameters.parameters``; validation targets are relative to it.
        body: the body, placeholders substituted and wrapper-only fields removed.
        api_version: the API version to validate with (always one kiln validates).
        wrapper: the shape the file had: ``resource``, ``deploymentTemplate`` or ``restExample``.
        name: the template name the wrapper gives (ARM ``name``, REST ``imageTemplateName``), if resolved.
        declared_api_version: the ``apiVersion``/``api-version`` the wrapper declares, as written.
        notes: remarks that are not errors (e.g. the API version substituted).
        problems: errors found while unwrapping (targets relative to ``path``), reported with the validator's.
    """

    kind: Kind
    path: str
    body: dict[str, Any]
    api_version: str = DEFAULT_API_VERSION
    wrapper: Wrapper = "resource"
    name: str | None = None
    declared_api_version: str | None = None
    notes: list[str] = field(default_factory=list)
    problems: list[ErrorDetail] = field(default_factory=list)


class TemplateFileError(KilnError):
    """The file holds nothing to validate: not (tolerant) JSON, or no template in any known wrapper."""

    def __init__(self, code: str, message: str, target: str | None = None) -> None:
        super().__init__(code=code, message=message, status=400, target=target)


def choose_api_version(declared: Any) -> tuple[str, list[str]]:
    """Pick the API version to validate with from the one a wrapper declares, with a note when it differs.

    Args:
        declared: the wrapper's ``apiVersion`` value (may be missing, a placeholder or any version string).

    Returns:
        The version (one of ``VALIDATABLE_API_VERSIONS``) and the notes explaining a substitution.
    """
    if declared is None:
        return DEFAULT_API_VERSION, []
    if declared in VALIDATABLE_API_VERSIONS:
        return str(declared), []
    if isinstance(declared, str) and declared.startswith("["):
        why = f"apiVersion {declared!r} is unresolved (pass --param or --api-version)"
    else:
        supported = ", ".join(VALIDATABLE_API_VERSIONS)
        why = f"apiVersion {declared!r} is not one kiln validates ({supported})"
    return DEFAULT_API_VERSION, [f"{why}; validated against {DEFAULT_API_VERSION}"]


def join_path(prefix: str, target: str | None) -> str:
    """Join a body's path in the file and a target inside the body: ``resources[1]`` + ``location``."""
    if not target:
        return prefix
    if not prefix:
        return target
    return prefix + target if target.startswith("[") else f"{prefix}.{target}"
