"""Adapters over azure-mgmt-resource (resource groups, generic resources) and -resource-deployments."""

from __future__ import annotations

from typing import Any

from azure.mgmt.resource.deployments import DeploymentsMgmtClient
from azure.mgmt.resource.deployments.models import Deployment
from azure.mgmt.resource.resources import ResourceManagementClient

from shared.azure._wire import api_version_for, dig, error_info, tags_of, wire
from shared.azure.errors import azure_errors, missing_ok
from shared.errors import AzureNotFound, PermanentAzureError
from shared.models.azure import DeploymentOperationInfo, DeploymentState, ResourceGroupInfo, ResourceInfo


def _tag_filter(tag_name: str, tag_value: str | None) -> str:
    # ARM's tag filter cannot be combined with any other $filter clause.
    quoted = tag_name.replace("'", "''")
    if tag_value is None:
        return f"tagName eq '{quoted}'"
    return f"tagName eq '{quoted}' and tagValue eq '{tag_value.replace(chr(39), chr(39) * 2)}'"


def _group(raw: Any) -> ResourceGroupInfo:
    data = wire(raw)
    return ResourceGroupInfo(
        id=data["id"],
        name=data["name"],
        location=data.get("location", ""),
        tags=tags_of(data),
        provisioning_state=dig(data, "properties", "provisioningState", default="Succeeded"),
    )


def _resource(raw: Any) -> ResourceInfo:
    data = wire(raw)
    return ResourceInfo(
        id=data["id"],
        name=data["name"],
        type=data["type"],
        location=data.get("location") or "",
        tags=tags_of(data),
        provisioning_state=data.get("provisioningState") or dig(data, "properties", "provisioningState"),
    )


class AzureResourceGroups:
    """Resource groups: create with tags, get, delete (not-found is success), list by tag."""

    def __init__(self, client: ResourceManagementClient) -> None:
        self._client = client

    def create(self, *, name: str, location: str, tags: dict[str, str]) -> ResourceGroupInfo:
        with azure_errors(name):
            return _group(
                self._client.resource_groups.create_or_update(name, {"location": location, "tags": tags})
            )

    def get(self, *, name: str) -> ResourceGroupInfo:
        with azure_errors(name):
            return _group(self._client.resource_groups.get(name))

    def exists(self, *, name: str) -> bool:
        with azure_errors(name):
            return bool(self._client.resource_groups.check_existence(name))

    def begin_delete(self, *, name: str) -> None:
        with missing_ok(name):
            self._client.resource_groups.begin_delete(name, polling=False)

    def list_by_tag(self, *, tag_name: str, tag_value: str | None = None) -> list[ResourceGroupInfo]:
        with azure_errors(tag_name):
            pages = self._client.resource_groups.list(filter=_tag_filter(tag_name, tag_value))
            return [_group(g) for g in pages]


class AzureResources:
    """Generic resources by id: get, delete (with the api-version of the resource's type), list by tag."""

    def __init__(self, client: ResourceManagementClient) -> None:
        self._client = client

    def get_by_id(self, *, resource_id: str) -> ResourceInfo:
        with azure_errors(resource_id):
            raw = self._client.resources.get_by_id(resource_id, api_version=api_version_for(resource_id))
            return _resource(raw)

    def begin_delete_by_id(self, *, resource_id: str) -> None:
        with missing_ok(resource_id):
            self._client.resources.begin_delete_by_id(
                resource_id, api_version=api_version_for(resource_id), polling=False
            )

    def list_by_tag(
        self, *, tag_name: str, tag_value: str | None = None, resource_group: str | None = None
    ) -> list[ResourceInfo]:
        flt = _tag_filter(tag_name, tag_value)
        with azure_errors(resource_group or tag_name):
            if resource_group is None:
                return [_resource(r) for r in self._client.resources.list(filter=flt)]
            return [
                _resource(r)
                for r in self._client.resources.list_by_resource_group(resource_group, filter=flt)
            ]

    def list_in_group(self, *, resource_group: str) -> list[ResourceInfo]:
        with azure_errors(resource_group):
            return [_resource(r) for r in self._client.resources.list_by_resource_group(resource_group)]


class AzureDeployments:
    """ARM deployments in incremental mode: start one, read its state and its operations."""

    def __init__(self, client: DeploymentsMgmtClient) -> None:
        self._client = client

    def begin_deploy(
        self, *, resource_group: str, name: str, template: dict[str, Any], parameters: dict[str, Any]
    ) -> str:
        body = {"properties": {"mode": "Incremental", "template": template, "parameters": parameters}}
        with azure_errors(f"{resource_group}/{name}"):
            poller = self._client.deployments.begin_create_or_update(
                resource_group, name, Deployment(body), polling=False
            )
            data = wire(poller.result())
        return str(data.get("id") or "")

    def get(self, *, resource_group: str, name: str) -> DeploymentState:
        with azure_errors(f"{resource_group}/{name}"):
            data = wire(self._client.deployments.get(resource_group, name))
        props = data.get("properties") or {}
        outputs = {
            k: (v.get("value") if isinstance(v, dict) else v) for k, v in (props.get("outputs") or {}).items()
        }
        return DeploymentState(
            id=data["id"],
            name=data["name"],
            provisioning_state=props.get("provisioningState") or "Unknown",
            outputs=outputs,
            error=error_info(props.get("error")),
        )

    def cancel(self, *, resource_group: str, name: str) -> None:
        """Stop a running deployment; one that is gone or already finished needs no cancel."""
        try:
            with azure_errors(f"{resource_group}/{name}"):
                self._client.deployments.cancel(resource_group, name)
        except (AzureNotFound, PermanentAzureError):  # 404, or 409: the deployment is not running
            return

    def list_operations(self, *, resource_group: str, name: str) -> list[DeploymentOperationInfo]:
        with azure_errors(f"{resource_group}/{name}"):
            ops = [wire(o) for o in self._client.deployment_operations.list(resource_group, name)]
        result = []
        for op in ops:
            props = op.get("properties") or {}
            failed = props.get("provisioningState") == "Failed"
            message = dig(props, "statusMessage", "error") or dig(props, "statusMessage")
            result.append(
                DeploymentOperationInfo(
                    operation_id=str(op.get("operationId") or op.get("id") or ""),
                    provisioning_state=props.get("provisioningState") or "Unknown",
                    resource_id=dig(props, "targetResource", "id"),
                    resource_type=dig(props, "targetResource", "resourceType"),
                    status_code=props.get("statusCode"),
                    error=error_info(message) if failed else None,
                )
            )
        return result
