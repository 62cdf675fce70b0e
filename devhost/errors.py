"""ARM-shaped JSON error responses (``{"error": {"code", "message"}}``), as kiln's REST API expects."""

from __future__ import annotations

from aiohttp import web

KEY_REQUIRED = (
    "Unauthorized: a function key is required (x-functions-key header or code query parameter) "
    "and the one given, if any, is not valid for this endpoint."
)


def error(status: int, code: str, message: str) -> web.Response:
    """An ARM-shaped error response."""
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def unauthorized() -> web.Response:
    """401 for a missing or wrong key."""
    return error(401, "Unauthorized", KEY_REQUIRED)


def not_found(path: str) -> web.Response:
    """404 for a route no function or built-in endpoint serves."""
    return error(404, "NotFound", f"No function or endpoint is registered for the path '{path}'.")
