"""Names: resource names of templates/triggers/runOutputs, and the default staging resource group."""

from __future__ import annotations

from shared.errors import ErrorDetail, ValidationFailed
from shared.models.fields import NAME_PATTERN

RESOURCE_GROUP_MAX = 90
_STAGING_PREFIX = "IT_"
_MIN_RG_PART = 24


def resource_name_problem(name: object, field: str) -> ErrorDetail | None:
    """The problem with a template/trigger/runOutput name, or None when it is valid."""
    if isinstance(name, str) and NAME_PATTERN.match(name):
        return None
    return ErrorDetail(
        code="InvalidResourceName",
        target=field,
        message=f"'{name}' is not a valid name: it must match ^[A-Za-z0-9-_.]{{1,64}}$",
    )


def check_resource_name(name: object, field: str) -> str:
    """Check a template, trigger or runOutput name against AIB's pattern ``^[A-Za-z0-9-_.]{1,64}$``.

    Args:
        name: the name from the URL.
        field: the error target to report, e.g. ``"imageTemplateName"``.

    Returns:
        The name, when valid.

    Raises:
        ValidationFailed: with one ``InvalidResourceName`` detail.
    """
    detail = resource_name_problem(name, field)
    if detail is not None:
        raise ValidationFailed([detail])
    assert isinstance(name, str)
    return name


def staging_resource_group_name(rg: str, template: str, guid: str) -> str:
    """AIB's default staging resource group name ``IT_<rg>_<template>_<guid>``, at most 90 characters.

    AIB documents only that the name "can be truncated". Our rule: the ``IT_`` prefix, the separators
    and the full GUID are always kept (the GUID makes the name unique). If the two names do not fit in
    the remaining 49 characters, the resource group name keeps what fits beside the whole template
    name, but never less than 24 characters, and the template name takes the rest. The same inputs
    always give the same name.

    Args:
        rg: the template's resource group name.
        template: the template's name.
        guid: the run-independent GUID kiln assigns to the template.

    Returns:
        The staging resource group name.
    """
    budget = RESOURCE_GROUP_MAX - len(_STAGING_PREFIX) - len(guid) - 2
    if len(rg) + len(template) > budget:
        rg_len = min(len(rg), max(_MIN_RG_PART, budget - len(template)))
        rg, template = rg[:rg_len], template[: budget - rg_len]
    # A resource group name may not end with a period; ours always ends with the GUID.
    return f"{_STAGING_PREFIX}{rg}_{template}_{guid}"
