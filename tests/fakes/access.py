"""A stateful fake of the ``Access`` port: role grants per principal, evaluated as RBAC evaluates them.

A principal nobody restricted may do anything (the tests that are not about RBAC see no difference); once
``grant`` or ``restrict`` names a principal, only what its grants allow is allowed. An identity's principal
id is ``principal-<name>`` unless ``principals`` says otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from shared.models.access import Required, allows, within
from tests.fakes.cloud import FakeCloud


@dataclass
class FakeAccess:
    cloud: FakeCloud
    principals: dict[str, str] = field(default_factory=dict)  # identity id (lower) -> principal id
    grants: dict[str, list[tuple[str, list[str], list[str]]]] = field(default_factory=dict)

    def restrict(self, principal_id: str) -> None:
        """From now on ``principal_id`` may do only what it is granted."""
        self.grants.setdefault(principal_id, [])

    def grant(
        self, principal_id: str, scope: str, actions: list[str], data_actions: list[str] | None = None
    ) -> None:
        self.grants.setdefault(principal_id, []).append((scope, actions, data_actions or []))

    def principal_of(self, *, identity_id: str) -> str:
        self.cloud.enter("access.principal", identity_id)
        self.cloud.get(identity_id)  # AzureNotFound when the identity does not exist
        return self.principals.get(identity_id.lower(), "principal-" + identity_id.rsplit("/", 1)[-1])

    def missing(
        self, *, principal_id: str, required: list[Required], groups: Sequence[str] = ()
    ) -> list[Required]:
        self.cloud.enter("access.missing", principal_id)
        if principal_id not in self.grants:
            return []
        held = [g for p in (principal_id, *groups) for g in self.grants.get(p, [])]
        out = []
        for need in required:
            scope = need.scope or f"storage:{need.account}/{need.container}"
            block = [{"actions": a, "dataActions": d} for at, a, d in held if within(scope, at)]
            if not allows(block, need.action, data=need.data):
                out.append(Required(need.action, scope, need.target, need.data, need.account, need.container))
        return out


@dataclass
class FakeLimits:
    """Plan terms accepted and vCPUs free unless a test says otherwise."""

    cloud: FakeCloud
    refused_terms: set[str] = field(default_factory=set)  # "publisher/offer/plan", lower case
    free_vcpus: dict[str, int] = field(default_factory=dict)  # location -> vCPUs left

    def terms_accepted(self, *, publisher: str, offer: str, plan: str) -> bool:
        self.cloud.enter("limits.terms", f"{publisher}/{offer}/{plan}")
        return f"{publisher}/{offer}/{plan}".lower() not in self.refused_terms

    def vcpus(self, *, location: str, vm_size: str) -> tuple[int, int] | None:
        self.cloud.enter("limits.vcpus", location)
        if location not in self.free_vcpus:
            return None
        digits = "".join(c for c in vm_size.split("_")[1] if c.isdigit()) if "_" in vm_size else ""
        return int(digits or 2), self.free_vcpus[location]
