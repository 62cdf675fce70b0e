"""The resource envelope: what a body may carry around ``location``, ``identity`` and ``properties``.

A raw body copied out of an ARM deployment template keeps fields only a deployment template has
(``apiVersion``, ``dependsOn``), and the 2019 quickstarts name the provider alone as ``type``; each is
reported precisely instead of as a generic unknown field.
"""

from __future__ import annotations

from typing import Any

from cli.template_files.found import (
    LEGACY_TYPE,
    TEMPLATE_TYPE,
    TRIGGER_TYPE,
    FoundTemplate,
    choose_api_version,
)
from cli.template_files.rest_examples import kind_of_body, type_of
from shared.errors import ErrorDetail

# Fields of an ARM deployment template's resource entry that are not part of the resource's REST body.
DEPLOYMENT_FIELDS = ("apiVersion", "dependsOn", "condition", "copy", "comments", "scope")


def raw_body(body: dict[str, Any], path: str) -> FoundTemplate:
    """A resource body given directly: any deployment-template field in it is an error the user must fix."""
    declared = body.get("apiVersion")
    version, notes = choose_api_version(declared)
    problems: list[ErrorDetail] = []
    type_problem = check_type(body.get("type"))
    if type_problem:
        problems.append(type_problem)
        body.pop("type")
    for key in DEPLOYMENT_FIELDS:
        if key in body:
            problems.append(_deployment_field(key, body.pop(key)))
    kind = "trigger" if type_of(body) == TRIGGER_TYPE.lower() else kind_of_body(body)
    name = body.get("name") if isinstance(body.get("name"), str) else None
    return FoundTemplate(kind, path, body, version, "resource", name, declared, notes, problems)


def check_type(value: Any) -> ErrorDetail | None:
    """The problem with a resource ``type`` value, if any (absent and the imageTemplates types are fine)."""
    if value is None or (
        isinstance(value, str) and value.lower() in (TEMPLATE_TYPE.lower(), TRIGGER_TYPE.lower())
    ):
        return None
    if isinstance(value, str) and value.lower() == LEGACY_TYPE.lower():
        return ErrorDetail(
            "LegacyField",
            f"'{value}' is the resource provider, not a resource type (a 2019 preview shape): "
            f"image templates are '{TEMPLATE_TYPE}'.",
            "type",
        )
    return ErrorDetail(
        "InvalidValue", f"Resource type {value!r} is not an image template ('{TEMPLATE_TYPE}').", "type"
    )


def _deployment_field(key: str, value: Any) -> ErrorDetail:
    if key == "apiVersion":
        message = (
            f"'apiVersion' ({value!r}) is not a field of the image template body: it belongs to a resource "
            "in an ARM deployment template. The REST API takes the version as the api-version query "
            "parameter (kiln validate --api-version); remove it from the body."
        )
        return ErrorDetail("LegacyField", message, "apiVersion")
    message = (
        f"'{key}' is not a field of the image template body: it belongs to a resource in an ARM deployment "
        "template. Remove it, or wrap the resource in a deployment template's 'resources'."
    )
    return ErrorDetail("UnknownField", message, key)
