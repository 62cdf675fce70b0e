"""Validate a found template with kiln's validator and combine its problems with the wrapper's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cli.template_files.found import FoundTemplate, choose_api_version
from shared.errors import ValidationFailed
from shared.models import validate_template, validate_template_update, validate_trigger


@dataclass
class Verdict:
    """The outcome for one found template: ``error`` is None when it is valid."""

    found: FoundTemplate
    api_version: str
    error: ValidationFailed | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """True when neither the wrapper nor the validator found a problem."""
        return self.error is None

    def to_json(self, file: str) -> dict[str, Any]:
        """The ``kiln validate --output json`` entry.

        ``{file, path, kind, apiVersion, valid, notes?, error?}``; ``error`` is the ARM error body.
        """
        entry: dict[str, Any] = {
            "file": file,
            "path": self.found.path,
            "kind": self.found.kind,
            "apiVersion": self.api_version,
            "valid": self.valid,
        }
        if self.notes:
            entry["notes"] = list(self.notes)
        if self.error is not None:
            entry["error"] = self.error.to_arm()
        return entry


def validate_found(found: FoundTemplate, *, api_version: str | None = None) -> Verdict:
    """Validate one found body as what it is (template, trigger or PATCH body).

    Args:
        found: a body from ``find_templates``.
        api_version: override of the version the file declares (``kiln validate --api-version``).

    Returns:
        The verdict; its error's details hold the wrapper's problems first, then the validator's, every target
        relative to ``found.path``.
    """
    version = api_version or found.api_version
    notes = list(found.notes)
    declared = found.declared_api_version
    if api_version and declared not in (None, api_version):
        _, version_notes = choose_api_version(declared)
        notes = [n for n in notes if n not in version_notes]
        notes.append(f"validated against {api_version} (--api-version); the file declares {declared!r}")
    details = list(found.problems)
    try:
        if found.kind == "trigger":
            validate_trigger(found.body)
        elif found.kind == "update":
            validate_template_update(found.body, api_version=version)
        else:
            validate_template(found.body, api_version=version, name=found.name)
    except ValidationFailed as exc:
        details.extend(exc.details)
    error = ValidationFailed(details) if details else None
    return Verdict(found=found, api_version=version, error=error, notes=notes)
