"""The service's bridge to the template contract in ``shared/models``, in plain JSON terms.

Templates are stored in the wire form of the newest API version (``STORAGE_API_VERSION``) and rendered on
the way out in the form of the version each caller asks for. ``shared.models`` is imported on first use:
building its pydantic models is the largest part of the function app's import time.
"""

from __future__ import annotations

from typing import Any

from shared.errors import ValidationFailed

STORAGE_API_VERSION = "2025-10-01"


def normalize_template(body: dict[str, Any], *, api_version: str, name: str) -> dict[str, Any]:
    """Validate a PUT body for ``api_version``; return its stored form (no read-only fields).

    Raises:
        ValidationFailed: every problem of the body at once.
    """
    from shared import models

    template = models.validate_template(body, api_version=api_version, name=name)
    return _strip_read_only(models.template_to_wire(template, api_version=STORAGE_API_VERSION))


def render_template(spec: dict[str, Any], *, api_version: str) -> dict[str, Any]:
    """The stored form of a template in the shape of ``api_version``."""
    if api_version == STORAGE_API_VERSION:
        return dict(spec)
    from shared import models

    try:
        template = models.validate_template(spec, api_version=STORAGE_API_VERSION)
    except ValidationFailed:
        # A template stored under older rules stays readable even if today's rules would reject it.
        return dict(spec)
    return _strip_read_only(models.template_to_wire(template, api_version=api_version))


def check_template_update(body: dict[str, Any], *, api_version: str) -> None:
    """Validate a PATCH body (``ImageTemplateUpdateParameters``) for ``api_version``."""
    from shared import models

    models.validate_template_update(body, api_version=api_version)


def check_trigger(body: dict[str, Any]) -> dict[str, Any]:
    """Validate a trigger PUT body; return its properties (``kind`` and, for a Schedule, its fields)."""
    from shared import models

    trigger = models.validate_trigger(body)
    return trigger.properties.model_dump(
        mode="json", exclude_none=True, exclude={"status", "provisioningState"}
    )


def staging_group_name(resource_group: str, template: str, guid: str) -> str:
    """AIB's generated staging resource group name, ``IT_<rg>_<template>_<guid>`` within ARM's limits."""
    from shared import models

    return str(models.staging_resource_group_name(resource_group, template, guid))


def _strip_read_only(wire: dict[str, Any]) -> dict[str, Any]:
    for key in ("id", "name", "type", "systemData"):
        wire.pop(key, None)
    props = wire.get("properties")
    if isinstance(props, dict):
        for key in ("provisioningState", "provisioningError", "lastRunStatus", "exactStagingResourceGroup"):
            props.pop(key, None)
    return wire
