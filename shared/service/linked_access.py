"""ARM's linked access check for a template's identities, made at PUT and PATCH (docs/security.md).

Naming a user-assigned identity in a template lets kiln act as it, so a caller may name only an identity it
could assign itself: ``Microsoft.ManagedIdentity/userAssignedIdentities/assign/action`` on the identity, as
ARM checks for AIB. The caller is the principal App Service authentication passed (``Caller.principal_id``);
its role assignments, and those of the groups its token names (``Caller.groups``), are read through ARM.
A caller without one (the function key alone, or App Service
authentication off) is kiln's operator and is not checked: the function key is an admin credential.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shared.errors import AzureError, KilnError, TransientAzureError
from shared.service.resources import TEMPLATE_TYPE, Caller, template_id
from shared.store import TemplateRef

if TYPE_CHECKING:
    from shared.ports import Access

# shared.models.access's constant, repeated: the service imports the pydantic models only on first use.
ASSIGN_IDENTITY = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"


def identities(body: dict[str, Any]) -> list[tuple[str, str]]:
    """(identity id, field) of every user-assigned identity a template or PATCH body names."""
    found: list[tuple[str, str]] = []
    identity = body.get("identity")
    ids = identity.get("userAssignedIdentities") if isinstance(identity, dict) else None
    found += [(i, "identity.userAssignedIdentities") for i in (ids or {}) if isinstance(i, str)]
    props = body.get("properties")
    vm = props.get("vmProfile") if isinstance(props, dict) else None
    vm_ids = vm.get("userAssignedIdentities") if isinstance(vm, dict) else None
    found += [(i, "properties.vmProfile.userAssignedIdentities") for i in vm_ids or [] if isinstance(i, str)]
    return found


def check(
    access_for: Callable[[], Access] | None, caller: Caller, ref: TemplateRef, body: dict[str, Any]
) -> None:
    """403 ``LinkedAuthorizationFailed`` naming the identity the caller may not assign (``access_for``
    builds the Access port on first use: most callers are never checked)."""
    named = identities(body)
    if access_for is None or not caller.principal_id or not named:
        return
    access = access_for()
    from shared.models.access import Required

    required = [Required(ASSIGN_IDENTITY, identity, where) for identity, where in named]
    try:
        gaps = access.missing(principal_id=caller.principal_id, required=required, groups=caller.groups)
    except TransientAzureError as e:
        raise KilnError(
            code="ServiceUnavailable",
            message=f"kiln could not read the caller's role assignments; retry the request ({e.message})",
            status=503,
        ) from None
    except AzureError as e:
        raise KilnError(
            code="LinkedAccessCheckFailed",
            message=f"kiln could not read the caller's role assignments: {e.message}",
            status=403,
        ) from None
    if gaps:
        gap = gaps[0]
        raise KilnError(
            code="LinkedAuthorizationFailed",
            message=(
                f"The client '{caller.name}' with object id '{caller.principal_id}' has permission to "
                f"perform action '{TEMPLATE_TYPE}/write' on scope '{template_id(ref)}'; however, it does "
                f"not have permission to perform action '{ASSIGN_IDENTITY}' on the linked scope(s) "
                f"'{gap.scope}' or the linked scope(s) are invalid."
            ),
            status=403,
            target=gap.target,
        )
