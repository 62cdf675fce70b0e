"""What every REST API function shares: request parsing, ARM responses and errors, links."""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

import azure.functions as func

from shared.bootstrap import root
from shared.errors import KilnError
from shared.service import Caller, Page, checks
from shared.service.operations import IN_PROGRESS, operation_path
from shared.store import TemplateRef, TooMuchContention

# ARM rejects request bodies over 4 MB.
MAX_BODY_BYTES = 4 * 1024 * 1024
# Deeper than any template (about 10 levels); checked on the raw text, before anything recurses.
MAX_DEPTH = 64
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")
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
    """The authenticated principal App Service authentication passed, when it is enabled.

    The platform strips ``x-ms-client-principal*`` from what callers send and sets them itself only when
    authentication is on (``KILN_TRUST_EASY_AUTH``, set by infra/); otherwise anyone could name anyone, so
    the headers are ignored and the caller is the function key.
    """
    if not root().settings.trust_easy_auth:
        return Caller()
    headers = req.headers
    return Caller(
        principal=headers.get("x-ms-client-principal-name") or None,
        principal_id=headers.get("x-ms-client-principal-id") or None,
        roles=_claims(headers.get("x-ms-client-principal"), ROLE_CLAIMS),
        groups=_claims(headers.get("x-ms-client-principal"), GROUP_CLAIMS),
    )


ROLE_CLAIMS = ("roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role")
GROUP_CLAIMS = ("groups", "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups")


def _claims(encoded: str | None, types: tuple[str, ...]) -> tuple[str, ...]:
    """The values of the claims of ``types`` in App Service authentication's base64 JSON principal."""
    if not encoded:
        return ()
    try:
        principal = json.loads(base64.b64decode(encoded, validate=False))
        claims = principal.get("claims") or []
        return tuple(str(c.get("val")) for c in claims if isinstance(c, dict) and c.get("typ") in types)
    except (ValueError, binascii.Error, AttributeError, TypeError):
        return ()


def json_body(req: func.HttpRequest) -> dict[str, Any]:
    """The request's JSON object, or the ARM error for a body that is too big, not JSON, or not an object.

    Refused with 400 ``InvalidRequestContent``: nesting deeper than ``MAX_DEPTH`` (measured on the text,
    before the parser recurses), a key repeated in one object (JSON leaves the meaning open; ARM refuses
    it), and NUL or a lone surrogate in any string (neither survives storage or logs intact).
    """
    raw = req.get_body() or b""
    if len(raw) > MAX_BODY_BYTES:
        raise too_large(len(raw))
    content_type = (req.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise KilnError(
            code="UnsupportedMediaType",
            message=f"The content media type '{content_type or '(none)'}' is not supported. "
            "Only 'application/json' is supported.",
            status=415,
        )
    try:
        text = raw.decode("utf-8")
        _check_depth(text)
        body = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError) as exc:
        raise KilnError(
            code="InvalidRequestContent",
            message=f"The request content was invalid and could not be deserialized: {_short(exc)}",
        ) from exc
    if not isinstance(body, dict):
        raise KilnError(code="InvalidRequestContent", message="The request content must be a JSON object.")
    _check_strings(body)
    return body


def too_large(size: int) -> KilnError:
    """ARM's 413 for a body over 4 MB."""
    return KilnError(
        code="RequestEntityTooLarge",
        message=f"The request content size {size} exceeds the maximum allowed {MAX_BODY_BYTES} bytes (4 MB).",
        status=413,
    )


def _check_depth(text: str) -> None:
    depth = 0
    for bracket in _BRACKETS.finditer(_STRINGS.sub("", text)):
        depth += 1 if bracket.group() in "[{" else -1
        if depth > MAX_DEPTH:
            raise ValueError(f"the JSON is nested more than {MAX_DEPTH} levels deep")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key '{checks.printable(key)}' appears more than once in one object")
        out[key] = value
    return out


def _check_strings(body: Any) -> None:
    """400 naming the first key or string holding NUL or a lone surrogate (iterative: depth is bounded)."""
    pending: list[tuple[str, Any]] = [("", body)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else key
                _check_string(key, child)
                pending.append((child, item))
        elif isinstance(value, list):
            pending += [(f"{path}[{i}]", item) for i, item in enumerate(value)]
        elif isinstance(value, str):
            _check_string(value, path)


def _check_string(value: str, path: str) -> None:
    bad = "\x00" in value
    if not bad:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            bad = True
    if bad:
        raise KilnError(
            code="InvalidRequestContent",
            message=f"'{checks.printable(path)}' holds NUL or a lone surrogate (\\u0000, \\ud800-\\udfff); "
            "strings must be valid Unicode text without NUL.",
            target=checks.printable(path) or None,
        )


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
