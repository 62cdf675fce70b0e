"""Azure regions: the ones AIB accepts as a template location, and the shape of any region name."""

from __future__ import annotations

import re

# The regions AIB lists for the template's location [JSON][OV] (aib-contract.md §9.8).
AIB_REGION_DISPLAY_NAMES: tuple[str, ...] = (
    "East US",
    "East US 2",
    "West Central US",
    "West US",
    "West US 2",
    "West US 3",
    "South Central US",
    "North Europe",
    "West Europe",
    "South East Asia",
    "Australia Southeast",
    "Australia East",
    "UK South",
    "UK West",
    "Brazil South",
    "Canada Central",
    "Central India",
    "Central US",
    "France Central",
    "Germany West Central",
    "Japan East",
    "North Central US",
    "Norway East",
    "Switzerland North",
    "Jio India West",
    "UAE North",
    "East Asia",
    "Korea Central",
    "South Africa North",
    "Qatar Central",
    "USGov Arizona",
    "USGov Virginia",
    "China North 3",
    "Sweden Central",
    "Poland Central",
    "Italy North",
    "Israel Central",
    "New Zealand North",
    "Taiwan Northwest",
)

# ARM's normalised form of "South East Asia" is "southeastasia": lower case, no spaces.
AIB_REGIONS: frozenset[str] = frozenset(n.replace(" ", "").lower() for n in AIB_REGION_DISPLAY_NAMES)

# Either a normalised name ("westus2") or a display name ("West US 2"); no region has other characters.
_REGION_SHAPE = re.compile(r"^[A-Za-z][A-Za-z0-9]*( [A-Za-z0-9]+)*$")


def normalize_region(name: str) -> str:
    """Return ARM's normalised region name: ``"West US 2"`` → ``"westus2"``.

    Args:
        name: a region as a display name or a normalised name, any case.

    Returns:
        The name in lower case without spaces.
    """
    return name.replace(" ", "").lower()


def is_well_formed_region(name: str) -> bool:
    """Whether ``name`` has the shape of an Azure region name (display or normalised), any case."""
    return len(name) <= 64 and bool(_REGION_SHAPE.match(name))


def is_aib_region(name: str) -> bool:
    """Whether ``name`` is one of the regions AIB accepts for a template, case- and space-insensitive."""
    return is_well_formed_region(name) and normalize_region(name) in AIB_REGIONS
