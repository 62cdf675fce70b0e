"""The ``imageTemplates`` resource: envelope, identity and ``properties`` (contract §1, §4, §6, §7)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, field_validator

from shared.models.customizers import INT32_MAX, Customizer, InVMValidator
from shared.models.distribute import Distributor
from shared.models.fields import (
    IdentityId,
    ResourceGroupId,
    Sha256,
    SubnetId,
    Tags,
    TemplateRegion,
    Uri,
    VmSize,
    WireModel,
    problem,
)
from shared.models.sources import Source

DEFAULT_BUILD_TIMEOUT = 240
MIN_BUILD_TIMEOUT = 6  # AIB's documented effective minimum; swagger says 0
MAX_BUILD_TIMEOUT = 960
NonNegInt32 = Annotated[int, Field(ge=0, le=INT32_MAX)]
State = Literal["Enabled", "Disabled"]
OnBuildError = Literal["cleanup", "abort"]
ProvisioningState = Literal["Creating", "Updating", "Succeeded", "Failed", "Deleting", "Canceled"]
Timestamp = Annotated[datetime, Field(strict=False)]
RunState = Literal["Running", "Canceling", "Succeeded", "PartiallySucceeded", "Failed", "Canceled"]
RunSubState = Literal["Queued", "Building", "Customizing", "Optimizing", "Validating", "Distributing"]


class UserAssignedIdentity(WireModel):
    """Value of ``identity.userAssignedIdentities``: ``{}`` on input, ids filled by Azure."""

    principalId: str | None = None  # read-only
    clientId: str | None = None  # read-only


class Identity(WireModel):
    """The template's identity: a single user-assigned identity, or ``None`` to remove it (PATCH)."""

    type: Literal["UserAssigned", "None"]
    userAssignedIdentities: dict[IdentityId, UserAssignedIdentity] | None = None


class VnetConfig(WireModel):
    """Bring-your-own subnet for the build and validation VMs."""

    subnetId: SubnetId | None = None
    containerInstanceSubnetId: SubnetId | None = None
    proxyVmSize: VmSize = ""


class VmProfile(WireModel):
    """Build VM settings; an empty vmSize is resolved from the source's generation at build time."""

    vmSize: VmSize = ""
    osDiskSizeGB: NonNegInt32 = 0
    userAssignedIdentities: list[IdentityId] | None = None
    vnetConfig: VnetConfig | None = None


class VmBootOptimization(WireModel):
    """Faster boot of VMs created from the output image."""

    state: State | None = None


class WorkloadOptimization(WireModel):
    """A workload-specific optimization script (2025-10-01)."""

    state: State | None = None
    scriptUri: Uri | None = None
    sha256Checksum: Sha256 = ""


class Optimize(WireModel):
    """``properties.optimize``: runs after customization."""

    vmBoot: VmBootOptimization | None = None
    workload: WorkloadOptimization | None = None


class ErrorHandling(WireModel):
    """What happens to the build VM when a customizer or validator fails."""

    onCustomizerError: OnBuildError = "cleanup"
    onValidationError: OnBuildError = "cleanup"


class AutoRun(WireModel):
    """Start a build when the template is created (kiln: on create only, see docs/contract.md)."""

    state: State | None = None


class DataDisk(WireModel):
    """An extra data disk of the output image (2025-10-01)."""

    sizeGB: NonNegInt32 = 0


class Validate(WireModel):
    """``properties.validate``: checks after customization, before distribution."""

    continueDistributeOnFailure: bool = False
    sourceValidationOnly: bool = False
    inVMValidations: list[InVMValidator] | None = None


class ProvisioningError(WireModel):
    """Read-only reason a template failed to provision (AIB's ``provisioningErrorCode`` values)."""

    provisioningErrorCode: str | None = None
    message: str | None = None


class LastRunStatus(WireModel):
    """Read-only outcome of the latest run."""

    startTime: Timestamp | None = None
    endTime: Timestamp | None = None
    runState: RunState | None = None
    runSubState: RunSubState | None = None
    message: str | None = None


class SystemData(WireModel):
    """ARM's read-only creation and modification metadata."""

    createdBy: str | None = None
    createdByType: str | None = None
    createdAt: Timestamp | None = None
    lastModifiedBy: str | None = None
    lastModifiedByType: str | None = None
    lastModifiedAt: Timestamp | None = None


class TemplateProperties(WireModel):
    """``properties`` of an image template."""

    source: Source
    customize: list[Customizer] | None = None
    optimize: Optimize | None = None
    validate_: Validate | None = Field(default=None, alias="validate")
    distribute: Annotated[list[Distributor], Field(min_length=1)]
    errorHandling: ErrorHandling = Field(default_factory=ErrorHandling)
    buildTimeoutInMinutes: NonNegInt32 = DEFAULT_BUILD_TIMEOUT
    vmProfile: VmProfile = Field(default_factory=VmProfile)
    additionalDataDisks: list[DataDisk] | None = None
    stagingResourceGroup: ResourceGroupId | None = None
    autoRun: AutoRun | None = None
    managedResourceTags: Tags | None = None
    # read-only
    provisioningState: ProvisioningState | None = None
    provisioningError: ProvisioningError | None = None
    lastRunStatus: LastRunStatus | None = None
    exactStagingResourceGroup: str | None = None

    @field_validator("buildTimeoutInMinutes")
    @classmethod
    def _timeout(cls, minutes: int) -> int:
        if minutes == 0:
            return DEFAULT_BUILD_TIMEOUT
        if minutes < MIN_BUILD_TIMEOUT or minutes > MAX_BUILD_TIMEOUT:
            raise problem(
                "OutOfRange",
                f"must be between {MIN_BUILD_TIMEOUT} and {MAX_BUILD_TIMEOUT} minutes "
                f"(0 or omitted means {DEFAULT_BUILD_TIMEOUT}); got {minutes}",
            )
        return minutes


class ImageTemplate(WireModel):
    """A ``Microsoft.VirtualMachineImages/imageTemplates`` resource."""

    id: str | None = None  # read-only
    name: str | None = None  # read-only
    type: str | None = None  # read-only
    systemData: SystemData | None = None  # read-only
    location: TemplateRegion
    tags: Tags | None = None
    identity: Identity
    properties: TemplateProperties
