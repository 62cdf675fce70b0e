"""kiln's model of the Azure VM Image Builder contract (``Microsoft.VirtualMachineImages``).

Attribute names are AIB's wire names, so ``template.properties.vmProfile.vmSize`` reads like the JSON.
"""

from shared.models.compat import security_type_problems, source_trigger_problems
from shared.models.customizers import (
    FileCustomizer,
    PowerShellCustomizer,
    ShellCustomizer,
    WindowsRestartCustomizer,
    WindowsUpdateCustomizer,
)
from shared.models.defaults import default_vm_size, with_default_vm_size
from shared.models.distribute import (
    LatestVersioner,
    ManagedImageDistributor,
    SharedImageDistributor,
    SourceVersioner,
    TargetRegion,
    VhdDistributor,
)
from shared.models.names import check_resource_name, resource_name_problem, staging_resource_group_name
from shared.models.resources import (
    ImageTemplateUpdate,
    ImageTemplateUpdateParameters,
    RunOutput,
    RunOutputProperties,
    TemplateUpdateProperties,
    Trigger,
    TriggerProperties,
    TriggerStatus,
)
from shared.models.sources import (
    ManagedImageSource,
    PlatformImagePurchasePlan,
    PlatformImageSource,
    SharedImageVersionSource,
)
from shared.models.template import (
    AutoRun,
    DataDisk,
    ErrorHandling,
    Identity,
    ImageTemplate,
    LastRunStatus,
    Optimize,
    ProvisioningError,
    SystemData,
    TemplateProperties,
    UserAssignedIdentity,
    Validate,
    VmProfile,
    VnetConfig,
)
from shared.models.validation import (
    template_to_wire,
    validate_template,
    validate_template_update,
    validate_trigger,
)
from shared.models.versions import LATEST_API_VERSION, SUPPORTED_API_VERSIONS

apply_default_vm_size = with_default_vm_size

__all__ = [
    "LATEST_API_VERSION",
    "SUPPORTED_API_VERSIONS",
    "AutoRun",
    "DataDisk",
    "ErrorHandling",
    "FileCustomizer",
    "Identity",
    "ImageTemplate",
    "ImageTemplateUpdate",
    "ImageTemplateUpdateParameters",
    "LastRunStatus",
    "LatestVersioner",
    "ManagedImageDistributor",
    "ManagedImageSource",
    "Optimize",
    "PlatformImagePurchasePlan",
    "PlatformImageSource",
    "PowerShellCustomizer",
    "ProvisioningError",
    "RunOutput",
    "RunOutputProperties",
    "SharedImageDistributor",
    "SharedImageVersionSource",
    "ShellCustomizer",
    "SourceVersioner",
    "SystemData",
    "TargetRegion",
    "TemplateProperties",
    "TemplateUpdateProperties",
    "Trigger",
    "TriggerProperties",
    "TriggerStatus",
    "UserAssignedIdentity",
    "Validate",
    "VhdDistributor",
    "VmProfile",
    "VnetConfig",
    "WindowsRestartCustomizer",
    "WindowsUpdateCustomizer",
    "apply_default_vm_size",
    "check_resource_name",
    "default_vm_size",
    "resource_name_problem",
    "security_type_problems",
    "source_trigger_problems",
    "staging_resource_group_name",
    "template_to_wire",
    "validate_template",
    "validate_template_update",
    "validate_trigger",
    "with_default_vm_size",
]
