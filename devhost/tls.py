"""HTTPS for devhost: a generated local CA and a server certificate for 127.0.0.1 and localhost."""

from __future__ import annotations

import ipaddress
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def ensure_certificate(tls_dir: Path, *, ca_out: Path | None = None) -> tuple[Path, Path, Path]:
    """Create (once) a CA and a server certificate under ``tls_dir``; return (cert, key, ca) paths.

    The files are reused across restarts so clients that trust the CA keep working. When ``ca_out`` is given
    the CA certificate is also copied there.
    """
    tls_dir.mkdir(parents=True, exist_ok=True)
    ca_path, cert_path, key_path = tls_dir / "ca.pem", tls_dir / "server.pem", tls_dir / "server-key.pem"
    if not (ca_path.exists() and cert_path.exists() and key_path.exists()):
        _generate(ca_path, cert_path, key_path)
    if ca_out is not None:
        ca_out.parent.mkdir(parents=True, exist_ok=True)
        ca_out.write_bytes(ca_path.read_bytes())
        ca_path = ca_out
    return cert_path, key_path, ca_path


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server-side TLS context for aiohttp."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    return context


def _generate(ca_path: Path, cert_path: Path, key_path: Path) -> None:
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "devhost local CA")])
    server_key = ec.generate_private_key(ec.SECP256R1())
    pem = serialization.Encoding.PEM
    ca_path.write_bytes(_ca_cert(ca_key, ca_name, now).public_bytes(pem))
    cert_path.write_bytes(_server_cert(server_key, ca_key, ca_name, now).public_bytes(pem))
    key_path.write_bytes(
        server_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)


def _ca_cert(ca_key: ec.EllipticCurvePrivateKey, ca_name: x509.Name, now: datetime) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def _server_cert(
    server_key: ec.EllipticCurvePrivateKey,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_name: x509.Name,
    now: datetime,
) -> x509.Certificate:
    """The server certificate for localhost and 127.0.0.1, signed by the CA."""
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
