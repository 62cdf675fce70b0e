"""What every REST API function shares: request parsing, ARM responses and errors, links."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

import azure.functions as func

from shared.errors import KilnError
from shared.service import Caller, Page, checks
from shared.service.operations import IN_PROGRESS, operation_path
from shared.store import TemplateRef, TooMuchContention

# ARM rejects request bodies over 4 MB.
MAX_BODY_BYTES = 4 * 1024 * 1024
FUNCTION = func.AuthLevel.FUNCTION
PROVIDER_ROUTE = "providers/Microsoft.VirtualMachineImages"
TEMPLATES_ROUTE = (
    "subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/" + PROVIDER_ROUTE + "/imageTemplates"
)
TEMPLATE_ROUTE = TEMPLATES_ROUTE + "/{imageTemplateName}"
Handler = Callable[[func.HttpRequest], func.HttpResponse]
_log = logging.getLogger("kiln.api")


def arm_json(status: int, body: Any = None, headers: dict[str, str] | None = None) -> func.HttpResponse:
    """A JSON response (an empty body when ``body`` is None)."""
    text = "" if body is None else json.dumps(body)
    return func.HttpResponse(text, status_code=status, headers=headers or {}, mimetype="application/json")


def arm_error(error: KilnError) -> func.HttpResponse:
    """The ARM error envelope with the error's status."""
    return arm_json(error.status, error.to_arm())


def api(handler: Handler) -> Handler:
    """Turn kiln's errors into ARM errors, and anything unexpected into a 500 that leaks no internals."""

    @functools.wraps(handler)
    def wrapper(req: func.HttpRequest) -> func.HttpResponse:
        try:
            return handler(req)
        except Exception as exc:
            return _failure(req, exc)

    return wrapper


def _failure(req: func.HttpRequest, exc: Exception) -> func.HttpResponse:
    """The ARM error answering ``exc``; called from the ``except`` block, so the traceback is still there."""
    if isinstance(exc, KilnError):
        return arm_error(exc)
    if isinstance(exc, TooMuchContention):
        return arm_error(
            KilnError(code="Conflict", message="The resource is busy; retry the request.", status=409)
        )
    _log.exception("unhandled error in %s %s", req.method, urlsplit(req.url).path)
    return arm_error(
        KilnError(code="InternalServerError", message="The server had an internal error.", status=500)
    )


AsyncHandler = Callable[..., Awaitable[func.HttpResponse]]


def api_async(handler: AsyncHandler) -> AsyncHandler:
    """``api`` for async functions (those with a Durable client binding)."""

    @functools.wraps(handler)
    async def wrapper(req: func.HttpRequest, *args: Any, **kwargs: Any) -> func.HttpResponse:
        try:
            return await handler(req, *args, **kwargs)
        except Exception as exc:
            return _failure(req, exc)

    return wrapper


def api_version(req: func.HttpRequest) -> str:
    """The request's api-version (400 if missing or unsupported)."""
    return checks.api_version(req.params.get("api-version"))


def subscription(req: func.HttpRequest) -> str:
    return checks.subscription_id(req.route_params["subscriptionId"])


def resource_group(req: func.HttpRequest) -> str:
    return checks.resource_group(req.route_params["resourceGroupName"])


def template_ref(req: func.HttpRequest) -> TemplateRef:
    """The template the URL names, every part checked."""
    return TemplateRef(
        subscription(req),
        resource_group(req),
        checks.resource_name(req.route_params["imageTemplateName"], "imageTemplateName"),
    )


def caller(req: func.HttpRequest) -> Caller:
    """The authenticated principal the platform (App Service authentication) passed, if any."""
    return Caller(principal=req.headers.get("x-ms-client-principal-name") or None)


def json_body(req: func.HttpRequest) -> dict[str, Any]:
    """The request's JSON object, or the ARM error for a body that is too big, not JSON, or not an object."""
    raw = req.get_body() or b""
    if len(raw) > MAX_BODY_BYTES:
        raise KilnError(
            code="RequestEntityTooLarge",
            message=f"The request content size {len(raw)} exceeds the maximum allowed "
            f"{MAX_BODY_BYTES} bytes (4 MB).",
            status=413,
        )
    content_type = (req.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise KilnError(
            code="UnsupportedMediaType",
            message=f"The content media type '{content_type or '(none)'}' is not supported. "
            "Only 'application/json' is supported.",
            status=415,
        )
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise KilnError(
            code="InvalidRequestContent",
            message=f"The request content was invalid and could not be deserialized: {_short(exc)}",
        ) from exc
    if not isinstance(body, dict):
        raise KilnError(code="InvalidRequestContent", message="The request content must be a JSON object.")
    return body


def _reject_constant(name: str) -> Any:
    raise ValueError(f"'{name}' is not valid JSON")


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "…"


def origin(req: func.HttpRequest) -> str:
    """``scheme://host:port`` of the request, for absolute links."""
    parts = urlsplit(req.url)
    return f"{parts.scheme}://{parts.netloc}"


def page_response(req: func.HttpRequest, page: Page, version: str) -> func.HttpResponse:
    """``{value, nextLink}`` with nextLink the same URL and the page's ``$skipToken``."""
    body: dict[str, Any] = {"value": page.items}
    if page.next_token:
        query = urlencode({"api-version": version, "$skipToken": page.next_token})
        body["nextLink"] = f"{origin(req)}{urlsplit(req.url).path}?{query}"
    return arm_json(200, body)


def skip_token(req: func.HttpRequest) -> str | None:
    token = req.params.get("$skipToken") or req.params.get("$skiptoken")
    return str(token) if token else None


def async_headers(req: func.HttpRequest, op: dict[str, Any], version: str) -> dict[str, str]:
    """Azure-AsyncOperation (status) and Location (result) headers of an operation."""
    query = f"?api-version={version}"
    status = operation_path(op["subscription"], op["location"], op["id"])
    result = operation_path(op["subscription"], op["location"], op["id"], results=True)
    headers = {
        "Azure-AsyncOperation": f"{origin(req)}{status}{query}",
        "Location": f"{origin(req)}{result}{query}",
    }
    if op["status"] == IN_PROGRESS:
        headers["Retry-After"] = "1"
    return headers
