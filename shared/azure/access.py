"""Azure RBAC through ARM (``ports.Access``): a principal's role assignments and their role definitions,
read with kiln's identity (``Microsoft.Authorization/roleAssignments/read``, ``roleDefinitions/read``) and
evaluated as ARM evaluates them (``shared.models.access``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.rest import HttpRequest

from shared.azure.errors import translate
from shared.errors import AzureNotFound
from shared.models.access import Required, allows, within

AUTHORIZATION_API = "2022-04-01"
IDENTITY_API = "2023-01-31"
RESOURCES_API = "2021-04-01"


def arm_get(client: Any, path: str, api_version: str, query: str = "") -> dict[str, Any]:
    """GET an ARM path through a management client's pipeline (auth, retries); its JSON body."""
    url = f"{path}?api-version={api_version}{query}"
    try:
        response = client.send_request(HttpRequest("GET", url))
        if response.status_code == 404:
            raise AzureNotFound(f"'{path}' was not found.", target=path)
        response.raise_for_status()
    except (HttpResponseError, ResourceNotFoundError) as e:
        raise translate(e, target=path) from None
    body: dict[str, Any] = response.json()
    return body


class AzureAccess:
    """Reads role assignments and definitions once per call of ``missing`` (definitions are cached)."""

    def __init__(self, client: Any, subscription: str) -> None:
        self._client = client  # a ResourceManagementClient: its pipeline sends the raw ARM requests
        self._subscription = subscription
        self._definitions: dict[str, list[dict[str, Any]]] = {}

    def _get(self, path: str, api_version: str, query: str = "") -> dict[str, Any]:
        return arm_get(self._client, path, api_version, query)

    def principal_of(self, *, identity_id: str) -> str:
        props = self._get(identity_id, IDENTITY_API).get("properties") or {}
        return str(props.get("principalId") or "")

    def missing(
        self, *, principal_id: str, required: list[Required], groups: Sequence[str] = ()
    ) -> list[Required]:
        path = f"/subscriptions/{self._subscription}/providers/Microsoft.Authorization/roleAssignments"
        held: list[tuple[str, list[dict[str, Any]]]] = []
        for principal in dict.fromkeys([principal_id, *groups]):  # one query per principal, as ARM filters
            query = "&$filter=" + quote(f"principalId eq '{principal}'")
            assignments = self._get(path, AUTHORIZATION_API, query).get("value") or []
            held += [
                (str(a["properties"]["scope"]), self._permissions(str(a["properties"]["roleDefinitionId"])))
                for a in assignments
                if str(a.get("properties", {}).get("principalId", "")).lower() == principal.lower()
            ]
        gaps: list[Required] = []
        for need in required:
            resolved = need if need.scope else self._container_scope(need)
            if not resolved.scope or not any(
                within(resolved.scope, scope) and allows(perms, resolved.action, data=resolved.data)
                for scope, perms in held
            ):
                gaps.append(resolved)
        return gaps

    def _permissions(self, definition_id: str) -> list[dict[str, Any]]:
        if definition_id not in self._definitions:
            found = self._get(definition_id, AUTHORIZATION_API)
            self._definitions[definition_id] = list((found.get("properties") or {}).get("permissions") or [])
        return self._definitions[definition_id]

    def _container_scope(self, need: Required) -> Required:
        """The ARM scope of a blob container, from its account's name (empty: not in the subscription)."""
        path = f"/subscriptions/{self._subscription}/resources"
        query = "&$filter=" + quote("resourceType eq 'Microsoft.Storage/storageAccounts'")
        accounts = self._get(path, RESOURCES_API, query).get("value") or []
        account = next((a["id"] for a in accounts if str(a.get("name", "")).lower() == need.account), "")
        scope = f"{account}/blobServices/default/containers/{need.container}" if account else ""
        return Required(need.action, scope, need.target, need.data, need.account, need.container)
