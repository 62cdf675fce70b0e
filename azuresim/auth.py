"""Bearer-token check on ARM paths. azuresim does not validate signatures: any non-empty token passes."""

from __future__ import annotations

from collections.abc import Mapping

from azuresim.errors import SimError

# ARM's roots; other paths (the Key Vault data plane, /_sim/) do their own auth or none.
ARM_ROOTS = ("/subscriptions", "/providers")


def is_arm_path(path: str) -> bool:
    low = path.lower()
    return any(low == root or low.startswith(root + "/") for root in ARM_ROOTS)


def check_bearer(headers: Mapping[str, str]) -> None:
    """Raise the 401 ARM answers when the Authorization header is missing or not a bearer token."""
    value = headers.get("Authorization")
    challenge = {
        "WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/common", '
        'error="invalid_token", error_description="The authentication failed because of missing '
        "'Authorization' header.\""
    }
    if not value:
        raise SimError(
            401,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
            headers=challenge,
        )
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise SimError(
            401,
            "InvalidAuthenticationToken",
            "The access token is invalid.",
            headers=challenge,
        )
