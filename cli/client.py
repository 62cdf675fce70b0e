"""A small HTTP client of kiln's REST API (``requests``; no Azure SDK), used by the ``kiln`` subcommands."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from cli.auth import EntraAuth, default_credential
from cli.config import Connection

PROVIDER = "providers/Microsoft.VirtualMachineImages"
TERMINAL_OPERATION = frozenset({"Succeeded", "Failed", "Canceled"})


class ApiError(Exception):
    """kiln (or the host in front of it) answered an error; the ARM body's fields when it had one."""

    def __init__(self, status: int, body: Any, *, method: str = "", url: str = "") -> None:
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        self.status = status
        self.code = str(error.get("code") or f"Http{status}")
        self.message = str(error.get("message") or (body if isinstance(body, str) else "") or "")
        self.target = error.get("target")
        self.details: list[dict[str, Any]] = [d for d in error.get("details") or [] if isinstance(d, dict)]
        self.method = method
        self.url = url
        super().__init__(f"{status} {self.code}: {self.message}")


class ConnectionFailed(Exception):
    """kiln could not be reached at all (refused, TLS, timeout)."""


@dataclass(frozen=True)
class LogChunk:
    """A slice of a run's customization.log."""

    text: str
    next_offset: int
    finished: bool


class KilnClient:
    """kiln's imageTemplates API for one subscription (and default resource group)."""

    def __init__(
        self,
        conn: Connection,
        *,
        session: requests.Session | None = None,
        timeout: float = 60.0,
        credential: Callable[[], Any] = default_credential,
    ):
        self.conn = conn
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers["x-functions-key"] = conn.function_key
        self.session.headers["User-Agent"] = "kiln-cli"
        if conn.api_app_id:  # kiln in Azure, behind App Service authentication
            self.session.auth = EntraAuth(conn.api_app_id, credential)
        # Given per request: a session's verify loses to $REQUESTS_CA_BUNDLE (requests' env merging).
        self.verify: str | bool = conn.ca_file or True

    # -- paths ------------------------------------------------------------------------------------
    def group(self, resource_group: str | None = None) -> str:
        rg = resource_group or self.conn.resource_group
        if not rg:
            raise ValueError("a resource group is required: --resource-group / $KILN_RESOURCE_GROUP")
        return rg

    def template_path(self, name: str, resource_group: str | None = None) -> str:
        rg = quote(self.group(resource_group), safe="")
        return (
            f"/subscriptions/{quote(self.conn.subscription, safe='')}/resourceGroups/{rg}/{PROVIDER}"
            f"/imageTemplates/{quote(name, safe='')}"
        )

    # -- transport --------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> requests.Response:
        """One call; ``path_or_url`` is a path on kiln or a full URL (nextLink, Location). Raises ApiError."""
        url = path_or_url if "://" in path_or_url else self.conn.url + path_or_url
        query = dict(params or {})
        if "api-version=" not in url:
            query.setdefault("api-version", self.conn.api_version)
        try:
            resp = self.session.request(
                method, url, json=json, params=query, timeout=timeout or self.timeout, verify=self.verify
            )
        except requests.exceptions.SSLError as e:
            raise ConnectionFailed(f"TLS with {self.conn.url} failed ({e}); is --ca-file right?") from None
        except requests.exceptions.RequestException as e:
            raise ConnectionFailed(unreachable(self.conn.url, e)) from None
        if resp.status_code >= 400:
            raise ApiError(resp.status_code, _body(resp), method=method, url=url)
        return resp

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return _body(self.request(method, path, **kwargs))

    # -- templates --------------------------------------------------------------------------------
    def put_template(self, name: str, body: dict[str, Any], resource_group: str | None = None) -> Any:
        return self.json("PUT", self.template_path(name, resource_group), json=body)

    def get_template(self, name: str, resource_group: str | None = None) -> Any:
        return self.json("GET", self.template_path(name, resource_group))

    def list_templates(self, resource_group: str | None = None) -> list[dict[str, Any]]:
        """Every template of the resource group (or the subscription when none is set), all pages."""
        rg = resource_group or self.conn.resource_group
        scope = f"/subscriptions/{quote(self.conn.subscription, safe='')}"
        if rg:
            scope += f"/resourceGroups/{quote(rg, safe='')}"
        return self.list_all(f"{scope}/{PROVIDER}/imageTemplates")

    def list_all(self, path: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        next_url: str | None = path
        while next_url:
            page = self.json("GET", next_url)
            items += page.get("value") or []
            next_url = page.get("nextLink")
        return items

    def delete_template(self, name: str, resource_group: str | None = None) -> requests.Response:
        return self.request("DELETE", self.template_path(name, resource_group))

    def wait_operation(self, resp: requests.Response, *, interval: float = 0.5, timeout: float = 3600) -> Any:
        """Poll an async operation (``Azure-AsyncOperation``) until it ends; its final status document."""
        url = resp.headers.get("Azure-AsyncOperation")
        if not url:
            return {"status": "Succeeded"}
        deadline = time.monotonic() + timeout
        while True:
            status = self.json("GET", url)
            if status.get("status") in TERMINAL_OPERATION or time.monotonic() > deadline:
                return status
            time.sleep(_retry_after(resp, interval))

    # -- runs -------------------------------------------------------------------------------------
    def start_run(self, name: str, resource_group: str | None = None) -> requests.Response:
        return self.request("POST", self.template_path(name, resource_group) + "/run")

    def cancel_run(self, name: str, resource_group: str | None = None) -> requests.Response:
        return self.request("POST", self.template_path(name, resource_group) + "/cancel")

    def list_runs(self, name: str, resource_group: str | None = None) -> list[dict[str, Any]]:
        return self.list_all(self.template_path(name, resource_group) + "/runs")

    def get_run(self, name: str, run_id: str, resource_group: str | None = None) -> Any:
        return self.json("GET", f"{self.template_path(name, resource_group)}/runs/{quote(run_id, safe='')}")

    def read_log(
        self,
        name: str,
        run_id: str,
        *,
        offset: int = 0,
        follow: bool = False,
        resource_group: str | None = None,
    ) -> LogChunk:
        path = f"{self.template_path(name, resource_group)}/runs/{quote(run_id, safe='')}/log"
        params: dict[str, Any] = {"offset": offset}
        if follow:
            params["follow"] = "true"
        resp = self.request("GET", path, params=params, timeout=self.timeout + 30)
        text = resp.content.decode("utf-8", errors="replace")
        next_offset = int(resp.headers.get("x-kiln-log-offset") or offset + len(resp.content))
        finished = resp.headers.get("x-kiln-run-finished", "").lower() == "true"
        return LogChunk(text, next_offset, finished)

    def run_outputs(self, name: str, resource_group: str | None = None) -> list[dict[str, Any]]:
        return self.list_all(self.template_path(name, resource_group) + "/runOutputs")


def unreachable(url: str, error: requests.exceptions.RequestException) -> str:
    """One line for a kiln that does not answer: the reason in a few words, and what to check."""
    text = str(error)
    if isinstance(error, requests.exceptions.Timeout):
        reason = "no answer in time"
    elif "refused" in text.lower():
        reason = "connection refused"
    elif "resolve" in text.lower() or "not known" in text.lower():
        reason = "host name not found"
    else:
        reason = text.rsplit(": ", 1)[-1].strip(" ')\"") or type(error).__name__
    host = urlsplit(url).hostname or ""
    hint = (
        "; is the local stack running? (`python -m cli.local_stack up`; `python -m cli.local_stack env` "
        "prints its settings)"
        if host in ("127.0.0.1", "localhost", "::1")
        else "; check --url / $KILN_URL"
    )
    return f"cannot reach kiln at {url} ({reason}){hint}"


def _body(resp: requests.Response) -> Any:
    if not resp.content:
        return None
    try:
        return resp.json()
    except ValueError:
        return resp.text


def _retry_after(resp: requests.Response, default: float) -> float:
    try:
        return min(max(float(resp.headers.get("Retry-After", default)), 0.2), 5.0)
    except ValueError:
        return default
