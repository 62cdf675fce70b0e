"""GET /web/…: kiln's web page, static files of ``web/`` served by the Function app itself.

The page is a client of the public REST API only: its script calls the same routes as ``kiln`` and the
official SDK, with the function key. Every file is behind the same authentication as the API (function
level, and App Service authentication in Azure). A browser opens ``/web/?code=<function key>``; the page
keeps the key for its API calls (``x-functions-key``), and ``index.html`` is answered with the key in its
asset links, because a browser sends no header of ours when it loads a script or a style sheet. No build
step: the files are served as they are in the repository (docs/web.md).
"""

from __future__ import annotations

import html
import mimetypes
from pathlib import Path
from urllib.parse import quote

import azure.functions as func

from functions import arm as h
from shared.errors import KilnError

bp = func.Blueprint()  # type: ignore[no-untyped-call]
WEB_DIR = Path(__file__).resolve().parents[1] / "web"
INDEX = "index.html"
KEY_QUERY = "__KEY_QUERY__"  # index.html's placeholder for the asset links' "?code=…"
TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
# The page loads nothing from elsewhere, and the key in its URL is never sent on as a Referer.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def not_found(path: str) -> KilnError:
    return KilnError(
        code="NotFound", message=f"The web page has no file '{path[:80]}'.", status=404, target="path"
    )


def web_file(path: str) -> Path:
    """The file of ``web/`` a request path names (``index.html`` for the folder); 404 for anything else."""
    relative = path.strip("/") or INDEX
    candidate = (WEB_DIR / relative).resolve()
    if (
        WEB_DIR.resolve() not in candidate.parents
        or candidate.suffix not in TYPES
        or not candidate.is_file()
        or any(part.startswith(".") for part in Path(relative).parts)
    ):
        raise not_found(relative)
    return candidate


def index_html(key: str | None) -> bytes:
    """``index.html`` with the key the request carried in ``code`` added to its asset links."""
    text = (WEB_DIR / INDEX).read_text(encoding="utf-8")
    query = "?code=" + html.escape(quote(key, safe=""), quote=True) if key else ""
    return text.replace(KEY_QUERY, query).encode("utf-8")


@bp.function_name("web_page")
@bp.route(route="web/{*path}", methods=["GET"], auth_level=h.FUNCTION)
@h.api
def web_page(req: func.HttpRequest) -> func.HttpResponse:
    file = web_file(req.route_params.get("path") or "")
    body = index_html(req.params.get("code")) if file.name == INDEX else file.read_bytes()
    mimetype = TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    charset = "utf-8" if mimetype.startswith("text/") or mimetype.endswith("+xml") else None
    return func.HttpResponse(body, status_code=200, headers=dict(HEADERS), mimetype=mimetype, charset=charset)
