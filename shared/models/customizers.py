"""``properties.customize[]`` and ``properties.validate.inVMValidations[]`` items (contract §3, §4)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from shared.models.fields import Duration, NonEmpty, Sha256, Uri, WireModel

INT32_MAX = 2**31 - 1
Int32 = Annotated[int, Field(ge=-(2**31), le=INT32_MAX)]
DEFAULT_RESTART_COMMAND = 'shutdown /r /f /t 0 /c "packer restart"'
DEFAULT_RESTART_TIMEOUT = "5m"
DEFAULT_UPDATE_LIMIT = 1000


class ShellCustomizer(WireModel):
    """Runs a shell script (Linux); exactly one of ``scriptUri`` or ``inline``."""

    type: Literal["Shell"]
    name: str | None = None
    scriptUri: Uri | None = None
    inline: list[str] | None = None
    sha256Checksum: Sha256 = ""


class PowerShellCustomizer(WireModel):
    """Runs a PowerShell script (Windows); ``runAsSystem`` needs ``runElevated``."""

    type: Literal["PowerShell"]
    name: str | None = None
    scriptUri: Uri | None = None
    inline: list[str] | None = None
    sha256Checksum: Sha256 = ""
    runElevated: bool = False
    runAsSystem: bool = False
    validExitCodes: list[Int32] = Field(default_factory=lambda: [0])

    @field_validator("validExitCodes")
    @classmethod
    def _empty_means_zero(cls, codes: list[int]) -> list[int]:
        return codes or [0]


class FileCustomizer(WireModel):
    """Copies one file from ``sourceUri`` to ``destination`` on the build VM."""

    type: Literal["File"]
    name: str | None = None
    sourceUri: Uri | None = None
    destination: NonEmpty | None = None
    sha256Checksum: Sha256 = ""


class WindowsRestartCustomizer(WireModel):
    """Restarts a Windows build VM and waits for it."""

    type: Literal["WindowsRestart"]
    name: str | None = None
    restartCommand: str = DEFAULT_RESTART_COMMAND
    restartCheckCommand: str = ""
    restartTimeout: Duration = DEFAULT_RESTART_TIMEOUT

    @field_validator("restartCommand", "restartTimeout", mode="before")
    @classmethod
    def _empty_means_default(cls, value: object, info: object) -> object:
        if value == "":
            field = getattr(info, "field_name", "")
            return DEFAULT_RESTART_COMMAND if field == "restartCommand" else DEFAULT_RESTART_TIMEOUT
        return value


class WindowsUpdateCustomizer(WireModel):
    """Installs Windows updates (packer-provisioner-windows-update semantics)."""

    type: Literal["WindowsUpdate"]
    name: str | None = None
    searchCriteria: str | None = None
    filters: list[str] | None = None
    updateLimit: Annotated[int, Field(ge=0, le=INT32_MAX)] = DEFAULT_UPDATE_LIMIT

    @field_validator("updateLimit")
    @classmethod
    def _zero_means_default(cls, limit: int) -> int:
        return limit or DEFAULT_UPDATE_LIMIT


Customizer = Annotated[
    ShellCustomizer
    | PowerShellCustomizer
    | FileCustomizer
    | WindowsRestartCustomizer
    | WindowsUpdateCustomizer,
    Field(discriminator="type"),
]
# In-VM validators have exactly the fields and defaults of the matching customizers [SW].
InVMValidator = Annotated[
    ShellCustomizer | PowerShellCustomizer | FileCustomizer,
    Field(discriminator="type"),
]
CUSTOMIZER_TYPES = ("Shell", "PowerShell", "File", "WindowsRestart", "WindowsUpdate")
VALIDATOR_TYPES = ("Shell", "PowerShell", "File")
