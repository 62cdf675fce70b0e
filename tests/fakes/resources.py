"""Fakes of the resource-group, generic-resource and deployment ports."""

from __future__ import annotations

import re
from typing import Any

from shared.errors import AzureNotFound, PermanentAzureError
from shared.models.azure import (
    DeploymentOperationInfo,
    DeploymentState,
    ErrorInfo,
    ResourceGroupInfo,
    ResourceInfo,
)
from tests.fakes.cloud import SUBSCRIPTION, FakeCloud, arm_id, ids_in

EXPRESSION = re.compile(r"^\[(resourceId|parameters)\((.*)\)\]$")


class FakeResourceGroups:
    def __init__(self, cloud: FakeCloud) -> None:
        self.cloud = cloud

    def _info(self, group: dict[str, Any]) -> ResourceGroupInfo:
        return ResourceGroupInfo(
            **{k: group[k] for k in ("id", "name", "location", "tags", "provisioning_state")}
        )

    def create(self, *, name: str, location: str, tags: dict[str, str]) -> ResourceGroupInfo:
        self.cloud.enter("resource_groups.create", name)
        group = self.cloud.groups.get(name.lower())
        if group is not None and group["location"] != location:
            raise PermanentAzureError(
                f"Invalid resource group location '{location}'. The Resource group already exists in "
                f"location '{group['location']}'.",
                code="InvalidResourceGroupLocation",
                status=409,
            )
        group = group or {
            "id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{name}",
            "name": name,
            "location": location,
            "provisioning_state": "Succeeded",
        }
        group["tags"] = dict(tags)
        self.cloud.groups[name.lower()] = group
        return self._info(group)

    def get(self, *, name: str) -> ResourceGroupInfo:
        self.cloud.enter("resource_groups.get", name)
        group = self.cloud.groups.get(name.lower())
        if group is None:
            raise AzureNotFound(f"Resource group '{name}' could not be found.", code="ResourceGroupNotFound")
        return self._info(group)

    def exists(self, *, name: str) -> bool:
        self.cloud.enter("resource_groups.exists", name)
        return name.lower() in self.cloud.groups

    def begin_delete(self, *, name: str) -> None:
        """ARM deletes a group's contents in a safe order itself, so no in-use conflict stops it."""
        self.cloud.enter("resource_groups.delete", name)
        if self.cloud.groups.pop(name.lower(), None) is None:
            return
        for resource in self.cloud.in_group(name):
            self.cloud.resources.pop(resource["id"].lower(), None)
        for key in [
            k for k, d in self.cloud.deployments.items() if d["resource_group"].lower() == name.lower()
        ]:
            self.cloud.deployments.pop(key)

    def list_by_tag(self, *, tag_name: str, tag_value: str | None = None) -> list[ResourceGroupInfo]:
        self.cloud.enter("resource_groups.list", tag_name)
        return [
            self._info(g)
            for g in self.cloud.groups.values()
            if tag_name in g["tags"] and (tag_value is None or g["tags"][tag_name] == tag_value)
        ]


def resource_info(resource: dict[str, Any]) -> ResourceInfo:
    return ResourceInfo(
        id=resource["id"],
        name=resource["name"],
        type=resource["type"],
        location=resource.get("location", ""),
        tags=resource["tags"],
        provisioning_state=resource.get("provisioning_state"),
    )


class FakeResources:
    def __init__(self, cloud: FakeCloud) -> None:
        self.cloud = cloud

    def get_by_id(self, *, resource_id: str) -> ResourceInfo:
        self.cloud.enter("resources.get", resource_id)
        return resource_info(self.cloud.get(resource_id))

    def begin_delete_by_id(self, *, resource_id: str) -> None:
        self.cloud.enter("resources.delete", resource_id)
        self.cloud.delete(resource_id)

    def list_by_tag(
        self, *, tag_name: str, tag_value: str | None = None, resource_group: str | None = None
    ) -> list[ResourceInfo]:
        self.cloud.enter("resources.list", tag_name)
        pool = self.cloud.in_group(resource_group) if resource_group else list(self.cloud.resources.values())
        return [
            resource_info(r)
            for r in pool
            if tag_name in r["tags"] and (tag_value is None or r["tags"][tag_name] == tag_value)
        ]

    def list_in_group(self, *, resource_group: str) -> list[ResourceInfo]:
        self.cloud.enter("resources.list_group", resource_group)
        if resource_group.lower() not in self.cloud.groups:
            raise AzureNotFound(
                f"Resource group '{resource_group}' could not be found.", code="ResourceGroupNotFound"
            )
        return [resource_info(r) for r in self.cloud.in_group(resource_group)]


def evaluate(value: Any, resource_group: str, parameters: dict[str, Any]) -> Any:
    """The two template expressions kiln's generated templates use: resourceId(...) and parameters(...)."""
    if isinstance(value, dict):
        return {k: evaluate(v, resource_group, parameters) for k, v in value.items()}
    if isinstance(value, list):
        return [evaluate(v, resource_group, parameters) for v in value]
    match = EXPRESSION.match(value) if isinstance(value, str) else None
    if match is None:
        return value
    args = [a.strip().strip("'") for a in match.group(2).split(",")]
    if match.group(1) == "resourceId":
        return arm_id(resource_group, args[0], *args[1:])
    return "<secure>" if "reference" in parameters.get(args[0], {}) else parameters[args[0]].get("value")


class FakeDeployments:
    """Deployments creating the resources their template declares once they finish (after ``lro_reads``)."""

    def __init__(self, cloud: FakeCloud) -> None:
        self.cloud = cloud

    def begin_deploy(
        self, *, resource_group: str, name: str, template: dict[str, Any], parameters: dict[str, Any]
    ) -> str:
        self.cloud.enter("deployments.begin", name)
        if resource_group.lower() not in self.cloud.groups:
            raise AzureNotFound(
                f"Resource group '{resource_group}' could not be found.", code="ResourceGroupNotFound"
            )
        self._check_references(parameters)
        deployment_id = arm_id(resource_group, "Microsoft.Resources/deployments", name)
        self.cloud.deployments[deployment_id.lower()] = {
            "id": deployment_id,
            "name": name,
            "resource_group": resource_group,
            "resources": evaluate(template.get("resources", []), resource_group, parameters),
            "outputs": evaluate(template.get("outputs", {}), resource_group, parameters),
            "state": "Running",
            "pending": self.cloud.lro_reads,
            "error": None,
        }
        if self.cloud.lro_reads == 0:
            self._finish(self.cloud.deployments[deployment_id.lower()])
        return deployment_id

    def _check_references(self, parameters: dict[str, Any]) -> None:
        """Key Vault references resolve when the deployment is submitted, as ARM does."""
        for pname, value in parameters.items():
            ref = value.get("reference") if isinstance(value, dict) else None
            if ref and ref["secretName"] not in self.cloud.secrets:
                raise PermanentAzureError(
                    f"The value of deployment parameter '{pname}' is null. Please specify the value or use "
                    f"the parameter reference. Key Vault '{ref['keyVault']['id']}' has no secret "
                    f"'{ref['secretName']}'.",
                    code="KeyVaultParameterReferenceSecretRetrieveFailed",
                )

    def _finish(self, deployment: dict[str, Any]) -> None:
        rg = deployment["resource_group"]
        failure = self.cloud.failing_deployments.pop(deployment["name"], None)
        if failure is not None:
            deployment.update(state="Failed", error={"code": failure.code, "message": failure.message})
            return
        for res in deployment["resources"]:
            type_, name = res["type"], res["name"]
            rid = arm_id(rg, type_, *name.split("/"))
            body = {k: v for k, v in res.items() if k not in ("apiVersion", "dependsOn", "name", "type")}
            created = self.cloud.put(rid, {**body, "type": type_, "provisioning_state": "Succeeded"})
            created["uses"] = ids_in(res.get("properties", {}))
            if type_ == "Microsoft.Compute/virtualMachines":
                self._add_os_disk(rg, created)
        deployment["state"] = "Succeeded"

    def _add_os_disk(self, rg: str, vm: dict[str, Any]) -> None:
        os_disk = vm["properties"]["storageProfile"]["osDisk"]
        disk_id = arm_id(rg, "Microsoft.Compute/disks", os_disk["name"])
        self.cloud.put(disk_id, {"location": vm.get("location", ""), "tags": vm["tags"], "access_sas": None})
        os_disk["managedDisk"] = {**os_disk.get("managedDisk", {}), "id": disk_id}
        vm["uses"].append(disk_id)
        vm.update(power_state="running", agent_ready=True, generalized=False)

    def get(self, *, resource_group: str, name: str) -> DeploymentState:
        self.cloud.enter("deployments.get", name)
        deployment_id = arm_id(resource_group, "Microsoft.Resources/deployments", name)
        deployment = self.cloud.deployments.get(deployment_id.lower())
        if deployment is None:
            raise AzureNotFound(f"Deployment '{name}' could not be found.", code="DeploymentNotFound")
        if deployment["state"] == "Running" and self.cloud.step(deployment):
            self._finish(deployment)
        error = deployment["error"]
        return DeploymentState(
            id=deployment["id"],
            name=name,
            provisioning_state=deployment["state"],
            outputs={k: v["value"] for k, v in deployment["outputs"].items()}
            if deployment["state"] != "Running"
            else {},
            error=ErrorInfo(**error) if error else None,
        )

    def cancel(self, *, resource_group: str, name: str) -> None:
        self.cloud.enter("deployments.cancel", name)
        deployment = self.cloud.deployments.get(
            arm_id(resource_group, "Microsoft.Resources/deployments", name).lower()
        )
        if deployment is not None and deployment["state"] == "Running":
            deployment["state"] = "Canceled"  # what ARM had created so far stays, as in Azure

    def list_operations(self, *, resource_group: str, name: str) -> list[DeploymentOperationInfo]:
        self.cloud.enter("deployments.operations", name)
        deployment = self.cloud.deployments.get(
            arm_id(resource_group, "Microsoft.Resources/deployments", name).lower()
        )
        if deployment is None:
            raise AzureNotFound(f"Deployment '{name}' could not be found.", code="DeploymentNotFound")
        return [
            DeploymentOperationInfo(
                operation_id=str(i),
                provisioning_state=deployment["state"],
                resource_id=arm_id(resource_group, r["type"], *r["name"].split("/")),
                resource_type=r["type"],
            )
            for i, r in enumerate(deployment["resources"])
        ]
