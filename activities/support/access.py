"""Preflight's RBAC check: the template's identity may do what the template asks of it (docs/security.md).

The requirements come from ``shared.models.access.required_permissions``; the ``Access`` port evaluates them
against the identity's role assignments. Every gap is one problem naming the identity, the action and the
scope, found before anything is created.
"""

from __future__ import annotations

from typing import Any

from shared.errors import AzureError, AzureNotFound, TransientAzureError
from shared.models.access import describe, required_permissions, template_identity
from shared.models.build import ResolvedSource
from shared.models.template import ImageTemplate
from shared.ports import BuildPorts


def subscription_problems(source: ResolvedSource, location: str) -> Any:
    """A check for ``preflight.run``: the Marketplace plan's terms are accepted, and the region has vCPU
    quota left for the build VM (``check(ports)`` → the problems)."""

    def check(ports: BuildPorts) -> list[dict[str, Any]]:
        problems: list[dict[str, Any]] = []
        plan = source.plan
        if plan and not ports.limits.terms_accepted(
            publisher=plan["publisher"], offer=plan["product"], plan=plan["name"]
        ):
            urn = f"{plan['publisher']}:{plan['product']}:{plan['name']}"
            message = (
                f"the Marketplace terms of plan '{urn}' are not accepted in this subscription; accept them "
                f"once with 'az vm image terms accept --publisher {plan['publisher']} --offer "
                f"{plan['product']} --plan {plan['name']}'"
            )
            problems.append(
                {"code": "MarketplaceTermsNotAccepted", "target": "properties.source", "message": message}
            )
        found = ports.limits.vcpus(location=location, vm_size=source.vm_size)
        if found is not None and found[0] > found[1]:
            needed, free = found
            message = (
                f"the build VM ({source.vm_size}) needs {needed} vCPUs but only {max(free, 0)} of the "
                f"regional vCPU quota are free in {location}; request more quota or pick a smaller vmSize"
            )
            problems.append(
                {"code": "QuotaExceeded", "target": "properties.vmProfile.vmSize", "message": message}
            )
        return problems

    return check


def identity_problems(template: ImageTemplate) -> Any:
    """A check for ``preflight.run``: ``check(ports)`` → the problems (a missing identity is reported
    elsewhere, by preflight's own identity check)."""

    def check(ports: BuildPorts) -> list[dict[str, Any]]:
        identity = template_identity(template)
        if identity is None:
            return []
        why = ports.cannot_act_as(identity)
        if why is not None:
            message = (
                f"kiln cannot act as the template's identity '{identity}' ({why}); the Function app must "
                "hold it: add its resource id to KILN_TEMPLATE_IDENTITY_IDS and provision again "
                "(docs/deploy.md)"
            )
            where = "identity.userAssignedIdentities"
            return [{"code": "IdentityNotHeld", "target": where, "message": message}]
        try:
            principal = ports.access.principal_of(identity_id=identity)
            gaps = ports.access.missing(principal_id=principal, required=required_permissions(template))
        except (AzureNotFound, TransientAzureError) as e:
            if isinstance(e, TransientAzureError):
                raise
            return []
        except AzureError as e:
            message = f"kiln could not read the role assignments of '{identity}': {e.message}"
            return [
                {"code": "AccessCheckFailed", "target": "identity.userAssignedIdentities", "message": message}
            ]
        return [
            {
                "code": "AuthorizationFailed",
                "target": gap.target,
                "message": describe(gap, identity),
                "identity": identity,
                "action": gap.action,
                "scope": gap.scope,
            }
            for gap in gaps
        ]

    return check
