"""What every activity shares: the ports it reaches Azure through, tags, ids and the PhaseError guard.

An activity turns a permanent Azure failure into a ``PhaseError`` it returns (the orchestrator starts
compensation); a transient one propagates, so Durable's retry policy calls the activity again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from shared import naming
from shared.errors import AzureError, AzureNotFound, TransientAzureError
from shared.models.build import Msg, Phase, PhaseError, PhaseFailed, RunRef
from shared.models.durable import Polled

TEMPLATE_TYPE = "Microsoft.VirtualMachineImages/imageTemplates"


class StepStarted(Msg):
    """What starting a step's Run Command (or a restart) gave: its name, or the error that stopped it."""

    command_name: str | None = None
    error: PhaseError | None = None


def fail(phase: Phase, code: str, message: str, *, target: str | None = None, **extra: Any) -> PhaseFailed:
    """A ``PhaseFailed`` for one problem (raise the result)."""
    details = [extra] if extra else []
    return PhaseFailed(PhaseError(code=code, message=message, phase=phase, target=target, details=details))


@contextmanager
def guard(phase: Phase, target: str | None = None) -> Iterator[None]:
    """Turn a permanent Azure error into ``PhaseFailed``; transient errors propagate (Durable retries)."""
    try:
        yield
    except TransientAzureError:
        raise
    except AzureError as e:
        raise PhaseFailed(
            PhaseError(code=e.code, message=e.message, phase=phase, target=e.target or target),
            missing=isinstance(e, AzureNotFound),
        ) from None


def gone_error(what: str, phase: Phase | None, target: str | None, why: str = "") -> PhaseError:
    """``NotFound``: what a poll follows no longer exists, mostly because compensation deleted it.

    Every ``check_*`` activity answers ``done`` with this, so a poller orphaned by a cancel or a timeout
    ends within a round instead of polling until its own deadline.
    """
    message = f"{what} no longer exists; the run was cancelled or its resources were cleaned up"
    return PhaseError(
        code="NotFound", message=message + (f" ({why})" if why else "."), phase=phase, target=target
    )


def canceled_error(what: str, phase: Phase | None, target: str | None) -> PhaseError:
    """``OperationCanceled``: what a poll follows is being deleted (compensation is under way)."""
    message = f"{what} is being deleted; the run was cancelled or its resources are being cleaned up."
    return PhaseError(code="OperationCanceled", message=message, phase=phase, target=target)


def poll_failed(e: PhaseFailed, what: str) -> Polled:
    """The final answer of a check whose guarded call failed: ``NotFound`` when the thing is gone."""
    if e.missing:
        error = gone_error(what, e.error.phase, e.error.target, f"{e.error.code}: {e.error.message}")
        return Polled(done=True, state="NotFound", error=error)
    return Polled(done=True, state="Failed", error=e.error)


def template_id(run: RunRef) -> str:
    """The ARM id of the run's image template."""
    return (
        f"/subscriptions/{run.subscription_id}/resourceGroups/{run.resource_group}"
        f"/providers/{TEMPLATE_TYPE}/{run.template_name}"
    )


def run_tags(run: RunRef, managed: dict[str, str] | None = None) -> dict[str, str]:
    """The tags on everything a run creates: ``managedResourceTags`` first, kiln's own win."""
    tags = dict(managed or {})
    tags[naming.TEMPLATE_TAG] = template_id(run)
    tags[naming.RUN_TAG] = run.run_id
    if run.expires_at:
        tags[naming.EXPIRES_TAG] = run.expires_at
    return tags


def arm_id(run: RunRef, resource_group: str, type_: str, *names: str) -> str:
    """An ARM id in the run's subscription (``resourceId()`` semantics)."""
    namespace, *types = type_.split("/")
    path = "/".join(f"{t}/{n}" for t, n in zip(types, names, strict=True))
    return (
        f"/subscriptions/{run.subscription_id}/resourceGroups/{resource_group}/providers/{namespace}/{path}"
    )


def region_key(region: str) -> str:
    """ARM region names compare without case and spaces: ``East US 2`` is ``eastus2``."""
    return region.replace(" ", "").lower()
