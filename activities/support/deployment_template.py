"""The build VM as one ARM deployment: VM, NIC, network (new or given subnet) and the staging storage account.

Python generates the template (as Packer does) and golden tests pin it (``tests/golden/``). Every name derives
from the run id, so a re-run of the same activity repeats the same PUTs instead of creating twins. Names are
literals in the template; the only expressions are ``resourceId(...)`` and ``parameters('adminPassword')``.
The admin password is a secure parameter fed by a Key Vault reference, never a literal.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared import naming
from shared.models.azure import PurchasePlan

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
NETWORK_API = "2024-05-01"
STORAGE_API = "2023-05-01"
COMPUTE_API = "2024-07-01"
VNET_PREFIX = "10.250.0.0/24"


class ImageReference(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    publisher: str
    offer: str
    sku: str
    version: str  # an exact version: "latest" is resolved before the deployment


class KeyVaultSecretRef(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    vault_id: str  # ARM id of the Key Vault
    secret_name: str


class BuildVmSpec(BaseModel):
    """Everything the build VM deployment needs; one source: a Marketplace reference or an image id."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    run_id: str = Field(min_length=1)
    location: str
    os_type: Literal["Linux", "Windows"]
    vm_size: str
    image_reference: ImageReference | None = None
    image_id: str | None = None  # a managed image or a gallery image version
    plan: PurchasePlan | None = None
    trusted_launch: bool = False
    os_disk_size_gb: int = Field(default=0, ge=0)  # 0 keeps the source's size
    additional_data_disks_gb: list[int] = Field(default_factory=list)
    user_assigned_identities: list[str] = Field(default_factory=list)
    subnet_id: str | None = None  # a given subnet: no VNet, NSG or public IP is created
    admin_username: str = naming.ADMIN_USERNAME
    admin_password: KeyVaultSecretRef
    tags: dict[str, str] = Field(default_factory=dict)
    # The staging storage account outlives the run (AIB keeps it, and the logs, until the template is
    # deleted), so it carries the template's tags only. None: ``tags`` without the run's tags.
    storage_account_tags: dict[str, str] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> BuildVmSpec:
        if (self.image_reference is None) == (self.image_id is None):
            raise ValueError("exactly one of image_reference and image_id must be given")
        if not re.sub(r"[^a-z0-9]", "", self.run_id.lower()):
            raise ValueError("run_id must contain letters or digits")
        return self


class BuildVmNames(BaseModel):
    """The names of everything the deployment creates, all derived from the run id."""

    model_config = ConfigDict(frozen=True)
    deployment: str
    vm: str
    computer: str
    nic: str
    public_ip: str
    vnet: str
    subnet: str
    nsg: str
    os_disk: str
    storage_account: str

    @classmethod
    def for_run(cls, run_id: str) -> BuildVmNames:
        """Every name from the whole run id (``shared/naming.py``): two runs never share a VM, NIC or disk.

        The staging storage account is the template's (its key leads the run id), shared by its runs.
        """
        return cls(
            deployment=naming.deployment_name(run_id),
            vm=naming.build_vm_name(run_id),
            computer=naming.computer_name(run_id),
            nic=naming.nic_name(run_id),
            public_ip=naming.public_ip_name(run_id),
            vnet=naming.vnet_name(run_id),
            subnet=naming.subnet_name(run_id),
            nsg=naming.nsg_name(run_id),
            os_disk=naming.os_disk_name(run_id),
            storage_account=naming.staging_account_of_run(run_id),
        )


def _rid(type_: str, *names: str) -> str:
    quoted = ", ".join(f"'{n}'" for n in names)
    return f"[resourceId('{type_}', {quoted})]"


def build_vm_parameters(spec: BuildVmSpec) -> dict[str, Any]:
    """Deployment parameters: the admin password as a Key Vault reference."""
    ref = {"keyVault": {"id": spec.admin_password.vault_id}, "secretName": spec.admin_password.secret_name}
    return {"adminPassword": {"reference": ref}}


def build_vm_deployment(spec: BuildVmSpec) -> dict[str, Any]:
    """The ARM template of the build VM, its network and the staging storage account."""
    names = BuildVmNames.for_run(spec.run_id)
    resources = [_storage_account(spec, names)]
    if spec.subnet_id is None:
        resources += [_nsg(spec, names), _vnet(spec, names), _public_ip(spec, names)]
    resources += [_nic(spec, names), _vm(spec, names)]
    vm_id = _rid("Microsoft.Compute/virtualMachines", names.vm)
    return {
        "$schema": SCHEMA,
        "contentVersion": "1.0.0.0",
        "parameters": {"adminPassword": {"type": "securestring"}},
        "resources": resources,
        "outputs": {
            "vmId": {"type": "string", "value": vm_id},
            "vmName": {"type": "string", "value": names.vm},
            "storageAccountName": {"type": "string", "value": names.storage_account},
        },
    }


def _base(spec: BuildVmSpec, type_: str, name: str, api: str) -> dict[str, Any]:
    return {
        "type": type_,
        "apiVersion": api,
        "name": name,
        "location": spec.location,
        "tags": dict(spec.tags),
    }


def _storage_account(spec: BuildVmSpec, names: BuildVmNames) -> dict[str, Any]:
    account = _base(spec, "Microsoft.Storage/storageAccounts", names.storage_account, STORAGE_API)
    if spec.storage_account_tags is not None:
        account["tags"] = dict(spec.storage_account_tags)
    else:  # never the run's tags: the janitor sweeps by them
        run_only = (naming.RUN_TAG, naming.EXPIRES_TAG)
        account["tags"] = {k: v for k, v in spec.tags.items() if k not in run_only}
    account["sku"] = {"name": "Standard_LRS"}
    account["kind"] = "StorageV2"
    account["properties"] = {
        "minimumTlsVersion": "TLS1_2",
        "supportsHttpsTrafficOnly": True,
        "allowBlobPublicAccess": False,
    }
    return account


def _nsg(spec: BuildVmSpec, names: BuildVmNames) -> dict[str, Any]:
    # No inbound rules at all: kiln reaches the VM through Run Command, never through a port.
    nsg = _base(spec, "Microsoft.Network/networkSecurityGroups", names.nsg, NETWORK_API)
    nsg["properties"] = {"securityRules": []}
    return nsg


def _vnet(spec: BuildVmSpec, names: BuildVmNames) -> dict[str, Any]:
    vnet = _base(spec, "Microsoft.Network/virtualNetworks", names.vnet, NETWORK_API)
    nsg_id = _rid("Microsoft.Network/networkSecurityGroups", names.nsg)
    vnet["dependsOn"] = [nsg_id]
    vnet["properties"] = {
        "addressSpace": {"addressPrefixes": [VNET_PREFIX]},
        "subnets": [
            {
                "name": names.subnet,
                "properties": {"addressPrefix": VNET_PREFIX, "networkSecurityGroup": {"id": nsg_id}},
            }
        ],
    }
    return vnet


def _public_ip(spec: BuildVmSpec, names: BuildVmNames) -> dict[str, Any]:
    # Only for outbound access (default outbound access is gone for new VNets); the NSG blocks inbound.
    ip = _base(spec, "Microsoft.Network/publicIPAddresses", names.public_ip, NETWORK_API)
    ip["sku"] = {"name": "Standard"}
    ip["properties"] = {"publicIPAllocationMethod": "Static", "publicIPAddressVersion": "IPv4"}
    return ip


def _nic(spec: BuildVmSpec, names: BuildVmNames) -> dict[str, Any]:
    nic = _base(spec, "Microsoft.Network/networkInterfaces", names.nic, NETWORK_API)
    ip_config: dict[str, Any] = {"privateIPAllocationMethod": "Dynamic"}
    if spec.subnet_id is None:
        ip_id = _rid("Microsoft.Network/publicIPAddresses", names.public_ip)
        ip_config["subnet"] = {
            "id": _rid("Microsoft.Network/virtualNetworks/subnets", names.vnet, names.subnet)
        }
        ip_config["publicIPAddress"] = {"id": ip_id, "properties": {"deleteOption": "Delete"}}
        nic["dependsOn"] = [_rid("Microsoft.Network/virtualNetworks", names.vnet), ip_id]
    else:
        ip_config["subnet"] = {"id": spec.subnet_id}
    nic["properties"] = {"ipConfigurations": [{"name": "ipconfig1", "properties": ip_config}]}
    return nic


def _storage_profile(spec: BuildVmSpec, names: BuildVmNames) -> dict[str, Any]:
    if spec.image_reference is not None:
        image: dict[str, Any] = spec.image_reference.model_dump()
    else:
        image = {"id": spec.image_id}
    os_disk: dict[str, Any] = {
        "name": names.os_disk,
        "createOption": "FromImage",
        "deleteOption": "Delete",
        "managedDisk": {"storageAccountType": "StandardSSD_LRS"},
    }
    if spec.os_disk_size_gb:
        os_disk["diskSizeGB"] = spec.os_disk_size_gb
    data_disks = [
        {"lun": lun, "createOption": "Empty", "diskSizeGB": size, "deleteOption": "Delete"}
        for lun, size in enumerate(spec.additional_data_disks_gb)
    ]
    profile: dict[str, Any] = {"imageReference": image, "osDisk": os_disk}
    if data_disks:
        profile["dataDisks"] = data_disks
    return profile


def _os_profile(spec: BuildVmSpec, names: BuildVmNames) -> dict[str, Any]:
    profile: dict[str, Any] = {
        "computerName": names.computer,
        "adminUsername": spec.admin_username,
        "adminPassword": "[parameters('adminPassword')]",
    }
    if spec.os_type == "Windows":
        profile["windowsConfiguration"] = {"provisionVMAgent": True, "enableAutomaticUpdates": False}
    else:
        profile["linuxConfiguration"] = {"disablePasswordAuthentication": False, "provisionVMAgent": True}
    return profile


def _vm(spec: BuildVmSpec, names: BuildVmNames) -> dict[str, Any]:
    vm = _base(spec, "Microsoft.Compute/virtualMachines", names.vm, COMPUTE_API)
    nic_id = _rid("Microsoft.Network/networkInterfaces", names.nic)
    vm["dependsOn"] = [nic_id]
    props: dict[str, Any] = {
        "hardwareProfile": {"vmSize": spec.vm_size},
        "storageProfile": _storage_profile(spec, names),
        "osProfile": _os_profile(spec, names),
        "networkProfile": {"networkInterfaces": [{"id": nic_id, "properties": {"deleteOption": "Delete"}}]},
        # Boot diagnostics would need a storage account of its own and are not needed by the build.
        "diagnosticsProfile": {"bootDiagnostics": {"enabled": False}},
    }
    if spec.trusted_launch:
        props["securityProfile"] = {
            "securityType": "TrustedLaunch",
            "uefiSettings": {"secureBootEnabled": True, "vTpmEnabled": True},
        }
    vm["properties"] = props
    if spec.user_assigned_identities:
        vm["identity"] = {
            "type": "UserAssigned",
            "userAssignedIdentities": {i: {} for i in spec.user_assigned_identities},
        }
    if spec.plan is not None:
        vm["plan"] = {"name": spec.plan.name, "product": spec.plan.product, "publisher": spec.plan.publisher}
    return vm
