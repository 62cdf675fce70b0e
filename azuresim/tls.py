"""A CA and a 127.0.0.1/localhost server certificate made at start; clients trust the CA file
(``connection_verify=<ca.pem>``)."""

from __future__ import annotations

import ssl
from pathlib import Path

import trustme


def make_server_context(ca_out: Path) -> ssl.SSLContext:
    """Make a CA, write its PEM to ``ca_out``; return a server context with a certificate it signed."""
    ca = trustme.CA(organization_name="azuresim")
    cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    ca_out.parent.mkdir(parents=True, exist_ok=True)
    ca.cert_pem.write_to_path(str(ca_out))
    return ctx
