"""The HTTPS artifact fetcher: downloads customizer scripts and files from public URLs, safely.

kiln fetches what a template names, so a template's author chooses where kiln connects. The fetcher
therefore refuses, at every redirect hop:

- any scheme but ``https`` (a redirect to ``http://`` included);
- credentials in the URL (``user:pass@``: kiln never sends them);
- an address that is not global — loopback, link-local (169.254.0.0/16 holds the instance metadata
  service), private, carrier-grade NAT, unique-local and the rest of IPv6's local ranges, IPv4-mapped
  forms included — unless the host is on the allow-list (``KILN_FETCH_ALLOWED_HOSTS``; local mode lists its
  own artifact server).

The name is resolved once per hop and the connection goes to the address that was checked, so a DNS answer
that changes between the check and the connect cannot lead anywhere else. Every download is bounded in
size and in total time. Error messages show the URL with its credentials redacted.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from urllib.parse import urljoin, urlsplit

from shared import redact
from shared.errors import AzureNotFound, PermanentAzureError, TransientAzureError

MAX_ARTIFACT_BYTES = 256 * 1024 * 1024
MAX_REDIRECTS = 5
_CHUNK = 1024 * 1024
_REDIRECTS = (301, 302, 303, 307, 308)
Resolver = Callable[[str, int], list[str]]


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def blocked_address(address: str) -> str | None:
    """Why ``address`` may not be fetched from (None for a global unicast address)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind, flag in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("unspecified", ip.is_unspecified),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
    ):
        if flag:
            return kind
    return None if ip.is_global else "reserved"


class _PinnedConnection(http.client.HTTPSConnection):
    """An HTTPS connection to a checked address that still verifies the certificate of ``host``."""

    def __init__(self, host: str, port: int, address: str, *, timeout: float, context: ssl.SSLContext):
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


class HttpsFetcher:
    """GETs an ``https://`` URL; 404 is not-found, 408/429/5xx and network failures are transient."""

    def __init__(
        self,
        *,
        timeout: float = 60.0,
        ca_file: str | None = None,
        allowed_hosts: Iterable[str] = (),
        max_bytes: int = MAX_ARTIFACT_BYTES,
        total_seconds: float = 600.0,
        resolver: Resolver = _resolve,
    ) -> None:
        self._timeout = timeout
        self._context = ssl.create_default_context(cafile=ca_file or None)
        self._allowed = {h.strip().lower() for h in allowed_hosts if h.strip().isascii() and h.strip()}
        self._max_bytes = max_bytes
        self._total = total_seconds
        self._resolve = resolver

    def fetch(self, *, url: str) -> bytes:
        """Download ``url``, following at most five redirects, each checked as the first URL was."""
        return b"".join(self.stream(url=url))

    def stream(self, *, url: str) -> Iterator[bytes]:
        """``url``'s body in chunks of 1 MiB as they arrive, under ``fetch``'s rules: the size and time limits
        hold for the whole body, and the connection is closed when the last chunk is read (or the reader
        stops)."""
        deadline = time.monotonic() + self._total
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            status, location, body = self._get(current, url, deadline)
            if body is not None:
                yield from body
                return
            if not location:
                raise _permanent(
                    f"GET {_shown(current)} answered {status} without a Location", "ArtifactRedirect"
                )
            current = urljoin(current, location)
        raise _permanent(f"GET {_shown(url)}: more than {MAX_REDIRECTS} redirects", "ArtifactRedirect")

    def _target(self, current: str, first: str) -> tuple[str, int, str, str]:
        """(host, port, checked address, path) of one hop, or the error refusing it."""
        hop = "" if current == first else f" (redirected from {_shown(first)})"
        try:
            parts = urlsplit(current)
            port = parts.port or 443
        except ValueError:
            raise _permanent(f"'{_shown(current)}'{hop} is not a valid URL", "InvalidUri") from None
        if parts.scheme.lower() != "https":
            raise _permanent(
                f"refusing to fetch '{_shown(current)}'{hop}: only https is allowed", "InsecureUri"
            )
        if parts.username is not None or parts.password is not None:
            raise _permanent(
                f"refusing to fetch '{_shown(current)}'{hop}: credentials in a URL are never sent; use a "
                "storage URL the template's identity can read",
                "CredentialsInUri",
            )
        host = parts.hostname or ""
        if not host:
            raise _permanent(f"'{_shown(current)}'{hop} names no host", "InvalidUri")
        try:
            addresses = self._resolve(host, port)
        except (OSError, UnicodeError) as e:
            message = f"GET {_shown(current)}{hop}: could not resolve host '{host}' ({e})"
            raise TransientAzureError(message, code="ArtifactUnreachable") from None
        if not addresses:
            raise TransientAzureError(
                f"GET {_shown(current)}{hop}: '{host}' has no address", code="ArtifactUnreachable"
            )
        allowed = host.isascii() and (
            host.lower() in self._allowed or f"{host.lower()}:{port}" in self._allowed
        )
        blocked = [] if allowed else [(a, why) for a in addresses if (why := blocked_address(a))]
        if blocked:
            address, why = blocked[0]
            raise _permanent(
                f"refusing to fetch '{_shown(current)}'{hop}: '{host}' resolves to {address}, a {why} "
                "address (only global addresses are fetched unless KILN_FETCH_ALLOWED_HOSTS names the host)",
                "BlockedAddress",
            )
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        return host, port, addresses[0], path

    def _get(
        self, current: str, first: str, deadline: float
    ) -> tuple[int, str | None, Iterator[bytes] | None]:
        """One hop: (status, Location, None) for a redirect, else (status, None, the body's chunks)."""
        host, port, address, path = self._target(current, first)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _timed_out(first, self._total)
        timeout = min(self._timeout, remaining)
        conn = _PinnedConnection(host, port, address, timeout=timeout, context=self._context)
        try:
            conn.request(
                "GET", path, headers={"User-Agent": "kiln-image-builder", "Host": _host_header(host, port)}
            )
            answer = conn.getresponse()
            if answer.status in _REDIRECTS:
                conn.close()
                return answer.status, answer.getheader("Location"), None
            if answer.status >= 400:
                _raise_status(current, answer.status, answer.reason)
            length = answer.getheader("Content-Length")
            if length and length.isascii() and length.isdigit() and int(length) > self._max_bytes:
                raise _too_large(first, self._max_bytes)
        except BaseException as e:
            conn.close()
            raise _network_error(e, current, timeout) from None
        return answer.status, None, self._body(conn, answer, current, first, deadline, timeout)

    def _body(
        self,
        conn: http.client.HTTPConnection,
        answer: http.client.HTTPResponse,
        current: str,
        first: str,
        deadline: float,
        timeout: float,
    ) -> Iterator[bytes]:
        try:
            size = 0
            while True:
                if time.monotonic() > deadline:
                    raise _timed_out(first, self._total)
                try:
                    chunk = answer.read(_CHUNK)
                except BaseException as e:
                    raise _network_error(e, current, timeout) from None
                if not chunk:
                    return
                size += len(chunk)
                if size > self._max_bytes:
                    raise _too_large(first, self._max_bytes)
                yield chunk
        finally:
            conn.close()


def _network_error(error: BaseException, url: str, timeout: float) -> BaseException:
    """What a failed request or read raises: an untrusted certificate is permanent, a network failure
    transient (in plain words); anything else (kiln's own errors, an interrupt) as it was."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return _permanent(f"GET {_shown(url)}: {error.verify_message or error}", "ArtifactUntrusted")
    if isinstance(error, TimeoutError | ConnectionError | ssl.SSLError | http.client.HTTPException | OSError):
        return TransientAzureError(
            f"GET {_shown(url)} failed: {_plainly(error, timeout)}", code="ArtifactUnreachable"
        )
    return error


def _plainly(error: BaseException, timeout: float) -> str:
    """A network failure in the words a user searches for, then Python's own."""
    if isinstance(error, ConnectionRefusedError):
        return f"connection refused ({error})"
    if isinstance(error, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(error, ConnectionResetError):
        return f"connection reset ({error})"
    return str(error) or type(error).__name__


def _raise_status(url: str, status: int, reason: str) -> None:
    message = f"GET {_shown(url)} answered HTTP {status} {reason}."
    if status == 404:
        raise AzureNotFound(message, code="ArtifactNotFound", target=_shown(url))
    if status in (408, 429) or status >= 500:
        raise TransientAzureError(message, code="ArtifactUnavailable", status=status)
    raise PermanentAzureError(message, code="ArtifactForbidden", status=status)


def _host_header(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if port == 443 else f"{shown}:{port}"


def _shown(url: str) -> str:
    return redact.url(url)


def _permanent(message: str, code: str) -> PermanentAzureError:
    return PermanentAzureError(message, code=code)


def _too_large(url: str, limit: int) -> PermanentAzureError:
    return _permanent(f"{_shown(url)} is larger than {limit} bytes", "ArtifactTooLarge")


def _timed_out(url: str, seconds: float) -> TransientAzureError:
    return TransientAzureError(
        f"GET {_shown(url)} took longer than {seconds:g} s", code="ArtifactUnreachable"
    )
