"""ARM error bodies, ``{"error": {"code", "message", "target"?}}``, as Azure Resource Manager sends them."""

from __future__ import annotations

from typing import Any

from aiohttp import web


class SimError(Exception):
    """An ARM error a handler raises; the server turns it into the ARM error body and status."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        target: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.details = details
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body = error_body(self.code, self.message, self.target)
        if self.details:
            body["error"]["details"] = self.details
        return body


def error_body(code: str, message: str, target: str | None = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if target is not None:
        err["target"] = target
    return {"error": err}


def arm_error(
    status: int, code: str, message: str, target: str | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    """An aiohttp response carrying an ARM error body."""
    resp = web.json_response(error_body(code, message, target), status=status, headers=headers)
    return _mark(resp, status)


def error_response(exc: SimError) -> web.Response:
    """The response for a raised SimError (with its details and headers)."""
    resp = web.json_response(exc.body(), status=exc.status, headers=exc.headers or None)
    return _mark(resp, exc.status)


def _mark(resp: web.Response, status: int) -> web.Response:
    # ARM names the failure in this header too; some clients log it.
    resp.headers["x-ms-failure-cause"] = "gateway" if status in (401, 404) else "service"
    return resp


def not_found(resource_id: str, type_name: str, name: str) -> SimError:
    """404 ResourceNotFound worded as ARM words it."""
    rg = resource_group_of(resource_id)
    return SimError(
        404,
        "ResourceNotFound",
        f"The Resource '{type_name}/{name}' under resource group '{rg}' was not found. "
        "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )


def resource_group_not_found(rg: str) -> SimError:
    return SimError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")


def resource_group_of(resource_id: str) -> str:
    parts = resource_id.strip("/").split("/")
    for i, part in enumerate(parts[:-1]):
        if part.lower() == "resourcegroups":
            return parts[i + 1]
    return ""
