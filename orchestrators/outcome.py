"""How a build ends: its final runState and a message that says what happened, where, and what to do.

Pure helpers for ``build_image``. A failed run's message names the phase, the customizer (index and name),
the exit code and the last log lines (user-pain-points 3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from shared.models.build import (
    BuildVm,
    OsType,
    PhaseError,
    RunState,
    StepOutcome,
    StepPhase,
    StepSpec,
    TargetResult,
)
from shared.models.customizers import Customizer

TIMEOUT_TEXT = (
    "[ERROR] Failed while waiting for packerizer: Timeout waiting for microservice to complete: "
    "'context deadline exceeded'"
)
_FAILED_CODES = {"validate": "ValidationFailed", "optimize": "OptimizationFailed"}


@dataclass
class Outcome:
    """What the orchestration learnt while running; turned into runState and message at the end."""

    error: PhaseError | None = None
    interrupted: str | None = None  # "Canceled" | "TimedOut"
    validation_failed: PhaseError | None = None
    keep_vm: bool = False
    vm: BuildVm | None = None
    targets: list[TargetResult] = field(default_factory=list)

    def fail(self, error: PhaseError) -> None:
        self.error = error

    @property
    def succeeded(self) -> bool:
        return self.error is None and self.interrupted is None

    def final_state(self) -> RunState:
        if self.interrupted == "Canceled":
            return "Canceled"
        if self.interrupted == "TimedOut" or self.error is not None:
            return "Failed"
        if self.validation_failed is not None:
            return "Failed"  # AIB reports Failed even when continueDistributeOnFailure distributed anyway
        if self.targets and not all(t.succeeded for t in self.targets):
            return "PartiallySucceeded" if any(t.succeeded for t in self.targets) else "Failed"
        return "Succeeded"

    def step_error(self, step: StepSpec, result: StepOutcome, vm: BuildVm) -> PhaseError:
        """The error of a failed step, naming phase, index, name, exit code and the last log lines."""
        name = f" '{step.name}'" if step.name else ""
        noun = "customizer" if step.phase == "customize" else "step"
        head = f"{step.phase} failed at {step.kind} {noun} {step.index}{name}"
        if result.exit_code is not None:
            head += f": exit code {result.exit_code}"
        if result.error is not None:
            head += f": {result.error.message}"
        tail = "\n".join(result.log_tail[-20:])
        message = head + (f"\nLast log lines:\n{tail}" if tail else "")
        if self.keep_vm:
            secret = (
                f"; its admin password is in Key Vault secret '{vm.admin_secret_name}'"
                if vm.admin_secret_name
                else ""
            )
            message += (
                f"\nerrorHandling is 'abort': the build VM '{vm.vm_name}' in resource group "
                f"'{vm.resource_group}' was kept for debugging{secret}. Delete the template to remove it."
            )
        code = (
            result.error.code
            if result.error is not None
            else _FAILED_CODES.get(step.phase, "CustomizerFailed")
        )
        return PhaseError(code=code, message=message, phase=step.phase, target=f"{step.phase}[{step.index}]")


def failure_message(outcome: Outcome) -> str:
    if outcome.error is not None:
        where = f" during {outcome.error.phase}" if outcome.error.phase else ""
        return f"Run failed{where}: {outcome.error.message}"
    if outcome.validation_failed is not None:
        return (
            "Validation failed, the image was distributed anyway (continueDistributeOnFailure): "
            + outcome.validation_failed.message
        )
    failed = [t for t in outcome.targets if not t.succeeded]
    if failed:
        parts = [f"{t.run_output_name}: {t.error.message if t.error else 'failed'}" for t in failed]
        return "Some distribute targets failed: " + "; ".join(parts)
    return "Run succeeded."


def timeout_message(minutes: int, phase: str) -> str:
    return (
        f"{TIMEOUT_TEXT}. The build exceeded buildTimeoutInMinutes ({minutes} minutes) during {phase}; "
        "everything the run created was cleaned up."
    )


def step_specs(phase: StepPhase, items: Sequence[Customizer], os_type: OsType) -> list[StepSpec]:
    """The steps of a phase, in order, from the template's customize / inVMValidations lists."""
    return [
        StepSpec(phase=phase, index=index, name=item.name or "", kind=item.type, os_type=os_type, spec=item)
        for index, item in enumerate(items)
    ]


def deprovision_step(os_type: OsType) -> StepSpec:
    """The generalize step: Sysprep on Windows, ``waagent -deprovision`` on Linux (or the user's script)."""
    return StepSpec(phase="generalize", index=0, kind="Deprovision", os_type=os_type)
