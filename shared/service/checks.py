"""Checks on what arrives in the URL: api-version, subscription id, resource group and resource names."""

from __future__ import annotations

import re

from shared.errors import KilnError

# The same list as shared.models.SUPPORTED_API_VERSIONS (a test keeps them equal); repeated here so that
# checking the URL does not import the pydantic models, which the function app loads on first use.
SUPPORTED: tuple[str, ...] = ("2025-10-01", "2024-02-01", "2022-07-01")

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# ARM: 1-90 characters, letters (Unicode), digits, '-', '_', '.', '(' and ')', not ending in '.'.
_RESOURCE_GROUP = re.compile(r"^[-\w.()]{1,90}$")
# AIB's pattern for template, trigger and runOutput names [SW].
_RESOURCE_NAME = re.compile(r"^[A-Za-z0-9\-_.]{1,64}$")


def api_version(value: str | None) -> str:
    """The request's api-version if kiln serves it.

    Raises:
        KilnError: ``MissingApiVersionParameter`` or ``InvalidApiVersionParameter`` (400).
    """
    if not value:
        raise KilnError(
            code="MissingApiVersionParameter",
            message="The api-version query parameter (?api-version=) is required for all requests.",
        )
    if value not in SUPPORTED:
        raise KilnError(
            code="InvalidApiVersionParameter",
            message=(
                f"The api-version '{value}' is invalid. The supported versions are '{','.join(SUPPORTED)}'."
            ),
            target="api-version",
        )
    return value


def subscription_id(value: str) -> str:
    """A subscription id as ARM accepts it (a GUID)."""
    if not _GUID.fullmatch(value):
        raise KilnError(
            code="InvalidSubscriptionId",
            message=f"The provided subscription identifier '{printable(value)}' is malformed or invalid.",
            target="subscriptionId",
        )
    return value


def resource_group(value: str) -> str:
    """A resource group name as ARM accepts it."""
    if not _RESOURCE_GROUP.fullmatch(value) or value.endswith(".") or not value.isprintable():
        raise KilnError(
            code="InvalidResourceGroupName",
            message=(
                f"Resource group name '{printable(value)}' is invalid: it must be 1-90 characters of "
                "letters, digits, '-', '_', '.', '(' or ')', and must not end with '.'."
            ),
            target="resourceGroupName",
        )
    return value


def resource_name(value: str, field: str) -> str:
    """A template, trigger or runOutput name: AIB's pattern, and not only dots (a path segment '..')."""
    if not _RESOURCE_NAME.fullmatch(value) or set(value) == {"."}:
        raise KilnError(
            code="InvalidResourceName",
            message=(
                f"The resource name '{printable(value)}' given for '{field}' is invalid: it must match "
                "^[A-Za-z0-9-_.]{1,64}$ and must not consist only of dots."
            ),
            target=field,
        )
    return value


def printable(value: str) -> str:
    """The value with control characters escaped, so an error message never carries them raw."""
    shown = value if len(value) <= 100 else value[:100] + "…"
    return shown.encode("unicode_escape").decode("ascii") if not shown.isprintable() else shown
