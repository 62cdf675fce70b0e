"""The HTTPS artifact fetcher against a real local TLS server (trustme CA): https at every redirect hop, no
loopback / link-local / private address unless allowed, size and time limits, credentials never echoed."""

from __future__ import annotations

import hashlib
import http.server
import shutil
import ssl
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from shared.azure.fetcher import HttpsFetcher, blocked_address
from shared.errors import AzureNotFound, PermanentAzureError, TransientAzureError

HOST = "artifacts.test"  # resolved to the local server by the tests' resolver
SCRIPT = b"#!/bin/sh\necho ok\n"
GIB = 1024**3
SPARSE: list[Path] = []  # the sparse file the server's /sparse serves, once a test made it
REDIRECTS = {
    "/to-http": f"http://{HOST}/script.sh",
    "/to-metadata": "https://metadata.test/latest/meta-data",
    "/to-private": "https://intranet.test/script.sh",
    "/relative": "/script.sh",
    "/loop": "/loop",
}


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path in REDIRECTS:
            self.send_response(302)
            self.send_header("Location", REDIRECTS[self.path])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path == "/big-unannounced":  # no Content-Length: the size limit counts what arrives
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"x" * 4096)
            return
        if self.path == "/slow":
            self.send_response(200)
            self.send_header("Content-Length", "4")
            self.end_headers()
            for _ in range(4):
                time.sleep(0.4)
                self.wfile.write(b"x")
                self.wfile.flush()
            return
        if self.path == "/sparse" and SPARSE:  # a 1 GiB file of holes, sent as it is read from disk
            self.send_response(200)
            self.send_header("Content-Length", str(SPARSE[0].stat().st_size))
            self.end_headers()
            with SPARSE[0].open("rb") as f:
                shutil.copyfileobj(f, self.wfile, 1024 * 1024)
            return
        codes = {"/script.sh": 200, "/busy": 503, "/secret": 403, "/big": 200}
        code = codes.get(self.path, 404)
        body = SCRIPT if code == 200 else b"no"
        if self.path == "/big":
            body = b"x" * 4096
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, str]]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", HOST)
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1], str(ca_file)
    finally:
        httpd.shutdown()
        httpd.server_close()


def _resolver(host: str, port: int) -> list[str]:
    """The test's DNS: the artifact host is the local server, the others point at local ranges."""
    return {
        HOST: ["127.0.0.1"],
        "metadata.test": ["169.254.169.254"],
        "intranet.test": ["10.1.2.3"],
        "rebinding.test": ["20.50.1.1", "127.0.0.1"],
    }.get(host, [host])


def fetcher(server: tuple[int, str], **kwargs: object) -> HttpsFetcher:
    port, ca_file = server
    options: dict[str, object] = {"timeout": 5, "ca_file": ca_file, "resolver": _resolver}
    options["allowed_hosts"] = [f"{HOST}:{port}"]
    options.update(kwargs)
    return HttpsFetcher(**options)  # type: ignore[arg-type]


@pytest.mark.timeout(30)
def test_the_fetcher_downloads_over_https_and_sorts_failures(server: tuple[int, str]) -> None:
    base = f"https://{HOST}:{server[0]}"
    fetch = fetcher(server).fetch

    assert fetch(url=f"{base}/script.sh") == SCRIPT
    assert fetch(url=f"{base}/relative") == SCRIPT  # a redirect within the allowed host is followed
    with pytest.raises(AzureNotFound):
        fetch(url=f"{base}/missing")
    with pytest.raises(TransientAzureError):
        fetch(url=f"{base}/busy")
    with pytest.raises(PermanentAzureError, match="403"):
        fetch(url=f"{base}/secret")
    with pytest.raises(PermanentAzureError, match="only https"):
        fetch(url=f"http://{HOST}:{server[0]}/script.sh")


@pytest.mark.timeout(30)
def test_a_redirect_is_checked_at_every_hop(server: tuple[int, str]) -> None:
    base = f"https://{HOST}:{server[0]}"
    fetch = fetcher(server).fetch

    with pytest.raises(PermanentAzureError, match="only https is allowed") as to_http:
        fetch(url=f"{base}/to-http")
    assert to_http.value.code == "InsecureUri"
    assert f"redirected from {base}/to-http" in to_http.value.message
    with pytest.raises(PermanentAzureError, match=r"169\.254\.169\.254, a link-local address") as imds:
        fetch(url=f"{base}/to-metadata")
    assert imds.value.code == "BlockedAddress"
    with pytest.raises(PermanentAzureError, match="a private address"):
        fetch(url=f"{base}/to-private")
    with pytest.raises(PermanentAzureError, match="more than 5 redirects"):
        fetch(url=f"{base}/loop")


@pytest.mark.timeout(30)
def test_local_addresses_are_refused_unless_the_host_is_allowed(server: tuple[int, str]) -> None:
    port = server[0]
    closed = fetcher(server, allowed_hosts=[])

    with pytest.raises(PermanentAzureError, match="a loopback address") as loopback:
        closed.fetch(url=f"https://{HOST}:{port}/script.sh")
    assert "KILN_FETCH_ALLOWED_HOSTS" in loopback.value.message
    with pytest.raises(PermanentAzureError, match="loopback"):
        closed.fetch(url=f"https://127.0.0.1:{port}/script.sh")
    # One bad address among a name's answers is enough: the connection could go to any of them.
    with pytest.raises(PermanentAzureError, match="a loopback address"):
        closed.fetch(url="https://rebinding.test/script.sh")
    # The allow-list names a host (any port) or a host:port; case does not matter.
    upper = fetcher(server, allowed_hosts=[HOST.upper()])
    assert upper.fetch(url=f"https://{HOST}:{port}/script.sh") == SCRIPT
    with pytest.raises(PermanentAzureError, match="loopback"):
        fetcher(server, allowed_hosts=[f"{HOST}:1"]).fetch(url=f"https://{HOST}:{port}/script.sh")


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("100.64.0.1", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("20.50.1.1", None),
        ("2603:1030::1", None),
    ],
)
def test_which_addresses_are_blocked(address: str, why: str | None) -> None:
    assert blocked_address(address) == why


@pytest.mark.timeout(30)
def test_size_and_time_are_bounded(server: tuple[int, str]) -> None:
    base = f"https://{HOST}:{server[0]}"
    small = fetcher(server, max_bytes=1000)

    with pytest.raises(PermanentAzureError, match="larger than 1000 bytes") as announced:
        small.fetch(url=f"{base}/big")
    assert announced.value.code == "ArtifactTooLarge"
    with pytest.raises(PermanentAzureError, match="larger than 1000 bytes"):
        small.fetch(url=f"{base}/big-unannounced")
    with pytest.raises(TransientAzureError, match=r"took longer than 0\.5 s"):
        fetcher(server, total_seconds=0.5).fetch(url=f"{base}/slow")


@pytest.mark.timeout(30)
def test_credentials_in_a_url_are_never_sent_nor_repeated(server: tuple[int, str]) -> None:
    base = f"https://{HOST}:{server[0]}"
    fetch = fetcher(server).fetch

    with pytest.raises(PermanentAzureError) as userinfo:
        fetch(url=f"https://deploy:hunter2@{HOST}:{server[0]}/script.sh")
    assert userinfo.value.code == "CredentialsInUri"
    assert "hunter2" not in userinfo.value.message and "REDACTED@" in userinfo.value.message
    with pytest.raises(AzureNotFound) as signed:
        fetch(url=f"{base}/missing?sv=2024&sig=c2VjcmV0LXNpZw%3D%3D")
    assert "c2VjcmV0" not in signed.value.message and "sig=REDACTED" in signed.value.message


@pytest.mark.timeout(30)
def test_the_fetcher_refuses_a_server_it_cannot_verify(server: tuple[int, str]) -> None:
    port, _ = server
    untrusting = HttpsFetcher(timeout=5, resolver=_resolver, allowed_hosts=[HOST])

    with pytest.raises(PermanentAzureError, match="certificate"):
        untrusting.fetch(url=f"https://{HOST}:{port}/script.sh")


@pytest.mark.timeout(120)
def test_a_1_gib_artifact_streams_through_in_chunks_never_whole_in_memory(
    server: tuple[int, str], tmp_path: Path
) -> None:
    sparse = tmp_path / "payload.bin"
    with sparse.open("wb") as f:
        f.truncate(GIB)  # holes: 1 GiB long, next to nothing on disk
    SPARSE[:] = [sparse]
    digest, size, largest = hashlib.sha256(), 0, 0
    tracemalloc.start()
    try:
        for chunk in fetcher(server, max_bytes=2 * GIB, total_seconds=100).stream(
            url=f"https://{HOST}:{server[0]}/sparse"
        ):
            digest.update(chunk)
            size, largest = size + len(chunk), max(largest, len(chunk))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        SPARSE.clear()

    assert size == GIB and largest <= 1024 * 1024
    assert digest.hexdigest() == _zeros_sha256(GIB)
    assert peak < 16 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB while streaming 1 GiB"


def _zeros_sha256(size: int) -> str:
    digest, block = hashlib.sha256(), bytes(1024 * 1024)
    for _ in range(size // len(block)):
        digest.update(block)
    return digest.hexdigest()
