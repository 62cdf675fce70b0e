"""Blob layout of kiln's documents (see docs/store.md).

ARM compares subscription ids, resource group names and resource names ordinally, ignoring case in ASCII
only, so every variable part of a key has its ASCII letters lower-cased (``fold``) and nothing else: a
Kelvin sign (U+212A) stays itself and never reaches the template of a name spelled with ``k``. The
documents keep the casing the caller first used.
"""

from __future__ import annotations

from dataclasses import dataclass

TEMPLATES = "imageTemplates"
TRIGGERS = "triggers"
RUNS = "runs"
RUN_OUTPUTS = "runOutputs"
OPERATIONS = "operations"
QUOTAS = "quotas"


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold(name: str) -> str:
    """``name`` as ARM compares it: ASCII letters lower-cased, every other character unchanged."""
    return name.translate(_ASCII_LOWER)


@dataclass(frozen=True)
class TemplateRef:
    """Where a template lives: subscription, resource group and name, as the caller spelled them."""

    subscription: str
    resource_group: str
    name: str

    @property
    def path(self) -> str:
        """The lower-cased ``{sub}/{rg}/{name}`` part shared by the template's keys."""
        return fold(f"{self.subscription}/{self.resource_group}/{self.name}")


def template(ref: TemplateRef) -> str:
    """Key of a template document."""
    return f"{TEMPLATES}/{ref.path}.json"


def templates_prefix(subscription: str, resource_group: str | None = None) -> str:
    """Prefix listing the templates of a subscription, or of one of its resource groups."""
    if resource_group is None:
        return f"{TEMPLATES}/{fold(subscription)}/"
    return f"{TEMPLATES}/{fold(subscription)}/{fold(resource_group)}/"


def child(kind: str, ref: TemplateRef, name: str) -> str:
    """Key of a template's sub-resource document (``triggers``, ``runs`` or ``runOutputs``)."""
    return f"{kind}/{ref.path}/{fold(name)}.json"


def children_prefix(kind: str, ref: TemplateRef) -> str:
    """Prefix listing one kind of a template's sub-resources."""
    return f"{kind}/{ref.path}/"


def operation(subscription: str, operation_id: str) -> str:
    """Key of an async-operation document."""
    return f"{OPERATIONS}/{fold(subscription)}/{fold(operation_id)}.json"


def trigger_quota(subscription: str, location: str) -> str:
    """Key of the per-region trigger reservation list of a subscription (AIB allows 100 per region)."""
    return f"{QUOTAS}/{fold(subscription)}/triggers/{fold(location)}.json"
