"""Blob layout of kiln's documents (see docs/store.md).

ARM treats subscription ids, resource group names and resource names case-insensitively, so every variable
part of a key is lower-cased; the documents keep the casing the caller first used.
"""

from __future__ import annotations

from dataclasses import dataclass

TEMPLATES = "imageTemplates"
TRIGGERS = "triggers"
RUNS = "runs"
RUN_OUTPUTS = "runOutputs"
OPERATIONS = "operations"
QUOTAS = "quotas"
CYCLES = "patchCycles"


@dataclass(frozen=True)
class TemplateRef:
    """Where a template lives: subscription, resource group and name, as the caller spelled them."""

    subscription: str
    resource_group: str
    name: str

    @property
    def path(self) -> str:
        """The lower-cased ``{sub}/{rg}/{name}`` part shared by the template's keys."""
        return f"{self.subscription}/{self.resource_group}/{self.name}".lower()


def template(ref: TemplateRef) -> str:
    """Key of a template document."""
    return f"{TEMPLATES}/{ref.path}.json"


def templates_prefix(subscription: str, resource_group: str | None = None) -> str:
    """Prefix listing the templates of a subscription, or of one of its resource groups."""
    if resource_group is None:
        return f"{TEMPLATES}/{subscription.lower()}/"
    return f"{TEMPLATES}/{subscription.lower()}/{resource_group.lower()}/"


def child(kind: str, ref: TemplateRef, name: str) -> str:
    """Key of a template's sub-resource document (``triggers``, ``runs`` or ``runOutputs``)."""
    return f"{kind}/{ref.path}/{name.lower()}.json"


def children_prefix(kind: str, ref: TemplateRef) -> str:
    """Prefix listing one kind of a template's sub-resources."""
    return f"{kind}/{ref.path}/"


def operation(subscription: str, operation_id: str) -> str:
    """Key of an async-operation document."""
    return f"{OPERATIONS}/{subscription.lower()}/{operation_id.lower()}.json"


def trigger_quota(subscription: str, location: str) -> str:
    """Key of the per-region trigger reservation list of a subscription (AIB allows 100 per region)."""
    return f"{QUOTAS}/{subscription.lower()}/triggers/{location.lower()}.json"


def cycle(subscription: str, cycle_id: str) -> str:
    """Key of a patch cycle's document."""
    return f"{CYCLES}/{subscription.lower()}/{cycle_id.lower()}.json"


def cycles_prefix(subscription: str) -> str:
    """Prefix listing a subscription's patch cycles."""
    return f"{CYCLES}/{subscription.lower()}/"


def cycle_slots() -> str:
    """Key of the build slots patch cycles share (the global concurrency cap, docs/cycles.md)."""
    return f"{QUOTAS}/cycle-builds.json"
