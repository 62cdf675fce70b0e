"""The HTTPS artifact fetcher against a real local TLS server (trustme CA)."""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Iterator

import pytest
import trustme

from shared.azure.fetcher import HttpsFetcher
from shared.errors import AzureNotFound, PermanentAzureError, TransientAzureError


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        codes = {"/script.sh": 200, "/busy": 503, "/secret": 403}
        code = codes.get(self.path, 404)
        body = b"#!/bin/sh\necho ok\n" if code == 200 else b"no"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{httpd.server_address[1]}", str(ca_file)
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.timeout(30)
def test_the_fetcher_downloads_over_https_and_sorts_failures(server: tuple[str, str]) -> None:
    base, ca_file = server
    fetcher = HttpsFetcher(timeout=5, ca_file=ca_file)

    assert fetcher.fetch(url=f"{base}/script.sh") == b"#!/bin/sh\necho ok\n"
    with pytest.raises(AzureNotFound):
        fetcher.fetch(url=f"{base}/missing")
    with pytest.raises(TransientAzureError):
        fetcher.fetch(url=f"{base}/busy")
    with pytest.raises(PermanentAzureError):
        fetcher.fetch(url=f"{base}/secret")
    with pytest.raises(PermanentAzureError, match="only https"):
        fetcher.fetch(url=base.replace("https", "http") + "/script.sh")


@pytest.mark.timeout(30)
def test_the_fetcher_refuses_a_server_it_cannot_verify(server: tuple[str, str]) -> None:
    base, _ = server

    with pytest.raises(PermanentAzureError, match="certificate"):
        HttpsFetcher(timeout=5).fetch(url=f"{base}/script.sh")
