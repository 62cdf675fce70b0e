"""What kiln's ports take and return: small, SDK-free models of the Azure resources a build touches.

Adapters in ``shared/azure/`` translate SDK objects into these; fakes in ``tests/fakes/`` build them directly.
Every model is frozen and JSON-serialisable (``model_dump(mode="json")``) so it can cross a Durable boundary.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

TERMINAL_PROVISIONING_STATES = frozenset({"Succeeded", "Failed", "Canceled"})
TERMINAL_EXECUTION_STATES = frozenset({"Succeeded", "Failed", "TimedOut", "Canceled"})


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ErrorInfo(_Model):
    """An error Azure reported inside a resource or an operation (not raised: read from state)."""

    code: str
    message: str


class ResourceGroupInfo(_Model):
    id: str
    name: str
    location: str
    tags: dict[str, str] = Field(default_factory=dict)
    provisioning_state: str = "Succeeded"


class ResourceInfo(_Model):
    """Any ARM resource, as the generic resources API lists it."""

    id: str
    name: str
    type: str
    location: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    provisioning_state: str | None = None


class DeploymentState(_Model):
    id: str
    name: str
    provisioning_state: str
    outputs: dict[str, object] = Field(default_factory=dict)
    error: ErrorInfo | None = None

    @property
    def terminal(self) -> bool:
        return self.provisioning_state in TERMINAL_PROVISIONING_STATES


class DeploymentOperationInfo(_Model):
    operation_id: str
    provisioning_state: str
    resource_id: str | None = None
    resource_type: str | None = None
    status_code: str | None = None
    error: ErrorInfo | None = None


class VmState(_Model):
    id: str
    name: str
    provisioning_state: str
    power_state: str | None = None  # "running", "deallocated", "stopped", … from PowerState/<x>
    vm_agent_ready: bool | None = None
    os_disk_id: str | None = None


class RunCommandSpec(_Model):
    """A managed Run Command, always asynchronous, writing its output to append blobs."""

    script: str
    output_blob_uri: str
    error_blob_uri: str
    timeout_seconds: int = 3600
    blob_identity_client_id: str | None = None  # the VM's user-assigned identity that writes the blobs
    location: str = ""
    # Passed to the script as named parameters; Azure never returns them (a step's admin password).
    protected_parameters: dict[str, SecretStr] = Field(default_factory=dict)


class RunCommandState(_Model):
    name: str
    provisioning_state: str
    execution_state: str  # Pending, Running, Succeeded, Failed, TimedOut, Canceled, Unknown
    exit_code: int | None = None
    error_message: str | None = None
    start_time: str | None = None
    end_time: str | None = None

    @property
    def terminal(self) -> bool:
        return self.execution_state in TERMINAL_EXECUTION_STATES or self.provisioning_state == "Failed"


class ManagedImageInfo(_Model):
    id: str
    name: str
    location: str
    provisioning_state: str
    source_vm_id: str | None = None
    hyper_v_generation: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    os_type: str | None = None  # "Linux" / "Windows", from storageProfile.osDisk.osType


class GalleryInfo(_Model):
    id: str
    name: str
    location: str
    provisioning_state: str


class ImageDefinitionSpec(_Model):
    location: str
    os_type: Literal["Linux", "Windows"]
    os_state: Literal["Generalized", "Specialized"] = "Generalized"
    hyper_v_generation: Literal["V1", "V2"] = "V2"
    publisher: str
    offer: str
    sku: str
    features: dict[str, str] = Field(default_factory=dict)  # e.g. {"SecurityType": "TrustedLaunchSupported"}
    tags: dict[str, str] = Field(default_factory=dict)


class ImageDefinitionInfo(_Model):
    id: str
    name: str
    location: str
    os_type: str
    hyper_v_generation: str
    features: dict[str, str] = Field(default_factory=dict)
    provisioning_state: str


class TargetRegion(_Model):
    name: str
    replica_count: int = Field(default=1, ge=1)
    storage_account_type: str = "Standard_LRS"


class ImageVersionSpec(_Model):
    location: str
    source_vm_id: str
    target_regions: list[TargetRegion] = Field(default_factory=list)
    exclude_from_latest: bool = False
    replication_mode: Literal["Full", "Shallow"] = "Full"
    tags: dict[str, str] = Field(default_factory=dict)


class RegionReplication(_Model):
    region: str
    state: str  # Unknown, Replicating, Completed, Failed
    progress: int | None = None
    details: str | None = None


class ImageVersionState(_Model):
    id: str
    name: str
    location: str
    provisioning_state: str
    exclude_from_latest: bool = False
    regions: list[RegionReplication] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)

    @property
    def terminal(self) -> bool:
        return self.provisioning_state in TERMINAL_PROVISIONING_STATES


class PurchasePlan(_Model):
    name: str
    product: str
    publisher: str


class MarketplaceImage(_Model):
    """One Marketplace image version with what a build needs to know about it."""

    id: str
    publisher: str
    offer: str
    sku: str
    version: str
    location: str
    os_type: str | None = None
    hyper_v_generation: str | None = None
    features: dict[str, str] = Field(default_factory=dict)  # e.g. {"SecurityType": "TrustedLaunchSupported"}
    plan: PurchasePlan | None = None


class CopyState(_Model):
    copy_id: str | None
    status: Literal["pending", "success", "aborted", "failed"]
    progress: str | None = None  # "bytes copied/total"
    description: str | None = None
