"""kiln's error types, shaped as Azure Resource Manager errors.

Every error kiln returns travels in ARM's envelope:
``{"error": {"code", "message", "target"?, "details": [{"code", "target", "message"}]}}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TEMPLATE_REFERENCE = "http://aka.ms/azvmimagebuildertmplref"


@dataclass(frozen=True)
class ErrorDetail:
    """One problem, located by the JSON path of the field it concerns."""

    code: str
    message: str
    target: str | None = None

    def to_arm(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target is not None:
            body["target"] = self.target
        return body


@dataclass
class KilnError(Exception):
    """An error kiln reports to its caller in ARM's shape, with the HTTP status it maps to."""

    code: str
    message: str
    status: int = 400
    target: str | None = None
    details: list[ErrorDetail] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def to_arm(self) -> dict[str, Any]:
        """Return the ARM error body: ``{"error": {...}}``."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target is not None:
            error["target"] = self.target
        if self.details:
            error["details"] = [d.to_arm() for d in self.details]
        return {"error": error}


class ValidationFailed(KilnError):
    """A template (or another request body) broke one or more rules; every problem is in details."""

    def __init__(self, details: list[ErrorDetail], message: str | None = None) -> None:
        if message is None:
            message = validation_message(details)
        super().__init__(code="ValidationFailed", message=message, status=400, details=list(details))


def validation_message(details: list[ErrorDetail]) -> str:
    """AIB's top-level message for a failed validation, summarising every problem."""
    if not details:
        return "Validation failed."
    parts = [f"'{d.target or 'ImageTemplate'}': {d.message}" for d in details]
    return (
        f"Validation failed with {len(details)} problem(s): "
        + "; ".join(parts)
        + f". Please review {TEMPLATE_REFERENCE} for details on fields requirements in the Image Builder "
        "Template."
    )


class NotFound(KilnError):
    def __init__(self, message: str, code: str = "ResourceNotFound", target: str | None = None) -> None:
        super().__init__(code=code, message=message, status=404, target=target)


class Conflict(KilnError):
    def __init__(self, message: str, code: str = "Conflict", target: str | None = None) -> None:
        super().__init__(code=code, message=message, status=409, target=target)


class AzureError(KilnError):
    """A call to Azure failed; ``code`` and ``message`` are Azure's own."""

    def __init__(self, message: str, code: str = "AzureError", status: int = 500, target: str | None = None):
        super().__init__(code=code, message=message, status=status, target=target)


class TransientAzureError(AzureError):
    """Worth retrying: throttling (429), server errors, timeouts, conflicting operations in progress."""

    def __init__(
        self,
        message: str,
        code: str = "TransientAzureError",
        status: int = 503,
        target: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=code, status=status, target=target)
        self.retry_after = retry_after


class PermanentAzureError(AzureError):
    """Retrying will not help: validation, quota, authorization."""


class AzureNotFound(AzureError):
    """The Azure resource (or its parent) does not exist."""

    def __init__(self, message: str, code: str = "ResourceNotFound", target: str | None = None) -> None:
        super().__init__(message, code=code, status=404, target=target)
