"""Translate Azure SDK exceptions into kiln's three kinds of Azure failure; the matching retry policy.

* transient — 408/429/5xx, connection failures and timeouts, conflicts that clear by themselves (another
  operation in progress, a resource still in use by one being deleted): the caller retries, after
  ``retry_after`` seconds when Azure said so;
* permanent — validation, quota, authorization: retrying cannot help;
* not found — ``AzureNotFound``; deletes swallow it.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline.policies import RetryPolicy

from shared.errors import AzureError, AzureNotFound, PermanentAzureError, TransientAzureError

# Conflicts Azure answers while something else is still happening to the resource; they clear without us.
# The "in use" family is how ARM reports a delete issued in the wrong order (VM, then NIC, then IP/NSG/VNet):
# retried once the dependant is gone, it succeeds.
TRANSIENT_CODES = frozenset(
    {
        "AnotherOperationInProgress",
        "DeploymentActive",
        "OperationPreempted",
        "RetryableError",
        "ResourceGroupBeingDeleted",
        "ConflictingConcurrentWriteNotAllowed",
        "OperationNotAllowedOnTheResourceWhileDeleting",
        "TooManyRequests",
        "InternalServerError",
        "ServiceUnavailable",
        "GatewayTimeout",
        "NicInUse",
        "NicReservedForAnotherVm",
        "PublicIPAddressCannotBeDeleted",
        "InUseNetworkSecurityGroupCannotBeDeleted",
        "InUseSubnetCannotBeDeleted",
        "InUseSubnetCannotBeUpdated",
    }
)
NOT_FOUND_CODES = frozenset(
    {
        "ResourceNotFound",
        "ResourceGroupNotFound",
        "NotFound",
        "SecretNotFound",
        "BlobNotFound",
        "ContainerNotFound",
    }
)


def parse_retry_after(headers: Any) -> float | None:
    """Seconds to wait: ``retry-after-ms``, ``x-ms-retry-after-ms`` or ``Retry-After`` (seconds or a date)."""
    if headers is None:
        return None
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        value = headers.get(name)
        if value:
            try:
                return float(value) / 1000.0
            except ValueError:
                pass
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time())


def _code_and_message(exc: HttpResponseError) -> tuple[str, str]:
    code = getattr(exc, "error_code", None)
    message = str(exc.message or exc)
    if exc.error is not None:
        code = code or exc.error.code
        message = exc.error.message or message
    elif code:
        # Storage appends RequestId, Time and the raw XML body after the first line, the message itself.
        message = message.splitlines()[0] if message else message
    return str(code or exc.reason or "HttpResponseError"), message


def translate(exc: Exception, *, target: str | None = None) -> AzureError:
    """Turn one SDK exception into a kiln ``AzureError`` that keeps Azure's code and message."""
    if isinstance(exc, AzureError):
        return exc
    if isinstance(exc, ClientAuthenticationError) and exc.status_code is None:
        return PermanentAzureError(str(exc), code="AuthenticationFailed", status=401, target=target)
    if isinstance(exc, HttpResponseError):
        return _from_response(exc, target)
    if isinstance(exc, ServiceRequestError | ServiceResponseError | TimeoutError | ConnectionError):
        return TransientAzureError(str(exc) or type(exc).__name__, code=type(exc).__name__, target=target)
    return PermanentAzureError(str(exc) or type(exc).__name__, code=type(exc).__name__, target=target)


def _from_response(exc: HttpResponseError, target: str | None) -> AzureError:
    status = exc.status_code or 500
    code, message = _code_and_message(exc)
    headers = getattr(exc.response, "headers", None)
    if status == 404 or isinstance(exc, ResourceNotFoundError) or code in NOT_FOUND_CODES:
        return AzureNotFound(message, code=code, target=target)
    if status in (408, 429) or status >= 500 or code in TRANSIENT_CODES:
        return TransientAzureError(
            message, code=code, status=status, target=target, retry_after=parse_retry_after(headers)
        )
    return PermanentAzureError(message, code=code, status=status, target=target)


@contextmanager
def azure_errors(target: str | None = None) -> Iterator[None]:
    """Re-raise any SDK exception inside the block as a kiln ``AzureError``."""
    try:
        yield
    except AzureError:
        raise
    except Exception as exc:
        raise translate(exc, target=target) from exc


@contextmanager
def missing_ok(target: str | None = None) -> Iterator[None]:
    """Like ``azure_errors`` but a not-found is success (deletes are idempotent)."""
    try:
        with azure_errors(target):
            yield
    except AzureNotFound:
        return


class KilnRetryPolicy(RetryPolicy):  # type: ignore[type-arg]
    """azure-core's retry policy, but a Retry-After longer than ``max_retry_after`` is not slept in-process.

    The SDK would sleep any Retry-After Azure sends (minutes, under heavy throttling) inside an activity. Past
    the cap we give up at once; the caller gets ``TransientAzureError.retry_after`` and waits on a durable
    timer instead.
    """

    def __init__(self, *, max_retry_after: float = 30.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_retry_after = max_retry_after

    def is_retry(self, settings: dict[str, Any], response: Any) -> bool:
        wait = parse_retry_after(response.http_response.headers)
        if wait is not None and wait > self.max_retry_after:
            return False
        return bool(super().is_retry(settings, response))
