"""Preflight's RBAC check: the template's identity may do what the template asks of it (docs/security.md).

The requirements come from ``shared.models.access.required_permissions``; the ``Access`` port evaluates them
against the identity's role assignments. Every gap is one problem naming the identity, the action and the
scope, found before anything is created.
"""

from __future__ import annotations

from typing import Any

from shared.errors import AzureError, AzureNotFound, TransientAzureError
from shared.models.access import describe, required_permissions
from shared.models.template import ImageTemplate
from shared.ports import BuildPorts


def identity_problems(template: ImageTemplate) -> Any:
    """A check for ``preflight.run``: ``check(ports)`` → the problems (a missing identity is reported
    elsewhere, by preflight's own identity check)."""

    def check(ports: BuildPorts) -> list[dict[str, Any]]:
        identities = list(template.identity.userAssignedIdentities or {})
        if not identities:
            return []
        identity = identities[0]
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
