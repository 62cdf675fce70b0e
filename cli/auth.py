"""Entra sign-in of the ``kiln`` CLI for a kiln in Azure (docs/deploy.md, "Calling the API").

With ``KILN_API_APP_ID`` (``--api-app-id``) set, every request carries a bearer token for kiln's own
audience, scope ``api://<app id>/.default``, from azure-identity's default chain (the Azure CLI's sign-in,
environment credentials, a managed identity). A token for ARM's audience is never asked for: App Service
authentication in front of kiln accepts only kiln's audience, and kiln must never take an ARM token.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from cli.config import ConfigError

REFRESH_BEFORE = 300  # seconds before expiry a token is renewed
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class AuthSettingError(ConfigError):
    """``KILN_API_APP_ID`` is not an application id or an ``api://`` identifier URI."""


class SignInRequired(ConfigError):
    """No credential of the default chain could get a token for kiln's audience."""


def kiln_scope(api_app_id: str) -> str:
    """The one scope the CLI asks for: ``api://<app id>/.default`` (an ``api://…`` URI is taken as is)."""
    value = api_app_id.strip().rstrip("/")
    if value.startswith("api://") and len(value) > len("api://"):
        audience = value.removesuffix("/.default")
    elif _GUID.match(value):
        audience = f"api://{value}"
    else:
        raise AuthSettingError(
            f"KILN_API_APP_ID must be the application id of kiln's app registration (a GUID) or its "
            f"api:// identifier URI, not {api_app_id!r}; kiln never accepts an ARM token"
        )
    return f"{audience}/.default"


def default_credential() -> Any:
    """azure-identity's default chain (imported only when a kiln in Azure is called)."""
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


class EntraAuth(requests.auth.AuthBase):
    """``Authorization: Bearer …`` for kiln's audience on every request, renewed before it expires."""

    def __init__(self, api_app_id: str, credential: Callable[[], Any] = default_credential) -> None:
        self.scope = kiln_scope(api_app_id)
        self._make_credential = credential
        self._credential: Any = None
        self._token: Any = None
        self._lock = threading.Lock()

    def bearer(self) -> str:
        with self._lock:
            if self._token is None or self._token.expires_on - REFRESH_BEFORE <= time.time():
                if self._credential is None:
                    self._credential = self._make_credential()
                try:
                    self._token = self._credential.get_token(self.scope)
                except Exception as exc:  # azure-identity's chain says why each credential failed
                    raise SignInRequired(
                        f"no Entra token for {self.scope} ({exc}); sign in with `az login` "
                        "(kiln's app registration must pre-authorize the Azure CLI, docs/deploy.md)"
                    ) from None
            return str(self._token.token)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.bearer()}"
        return request
