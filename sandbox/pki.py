"""Certificates the fake tenant makes at start: a CA, the HTTPS server's certificate, and the app
registration's client certificate (for msal's certificate credential).

msal accepts only an ``https`` authority, so the token endpoint needs a certificate the client can
check: the bot gets ``ca.pem`` as its CA bundle (``GRAPH_CA_BUNDLE``). Extensions follow what
strict X.509 verification asks for (critical basicConstraints and keyUsage, key identifiers), so
Python's ``VERIFY_X509_STRICT`` accepts the chain too.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class SandboxPki:
    """Where the files are, and the client certificate's identity as Entra shows it."""

    ca_cert_path: Path
    server_cert_path: Path
    server_key_path: Path
    client_pem_path: Path  # the client certificate's private key and certificate, PEM
    client_certificate: x509.Certificate
    client_thumbprint: str  # SHA-1, upper-case hex, as the Entra portal shows it

    def server_ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.server_cert_path, self.server_key_path)
        return context


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tapbot sandbox"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=not ca,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _builder(
    subject: str, issuer: x509.Name, public_key: object, now: datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(public_key)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(public_key),  # type: ignore[arg-type]
            critical=False,
        )
    )


def _pem_key(key: CertificateIssuerPrivateKeyTypes) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    path.write_bytes(data)
    if private:
        path.chmod(0o600)


def create_pki(state_dir: Path) -> SandboxPki:
    """Generate a fresh CA, server and client certificate into *state_dir*."""
    state_dir.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        _builder("tapbot sandbox CA", _name("tapbot sandbox CA"), ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    authority_key = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())

    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        _builder("127.0.0.1", ca_cert.subject, server_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(IPv4Address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(authority_key, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    # RSA: msal signs client assertions with RS256 or PS256.
    client_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    client_cert = (
        _builder("tapbot sandbox app", ca_cert.subject, client_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(authority_key, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    pem = serialization.Encoding.PEM
    paths = SandboxPki(
        ca_cert_path=state_dir / "ca.pem",
        server_cert_path=state_dir / "server.pem",
        server_key_path=state_dir / "server-key.pem",
        client_pem_path=state_dir / "client-cert.pem",
        client_certificate=client_cert,
        client_thumbprint=client_cert.fingerprint(hashes.SHA1()).hex().upper(),  # noqa: S303
    )
    _write(paths.ca_cert_path, ca_cert.public_bytes(pem))
    _write(paths.server_cert_path, server_cert.public_bytes(pem))
    _write(paths.server_key_path, _pem_key(server_key), private=True)
    _write(
        paths.client_pem_path, _pem_key(client_key) + client_cert.public_bytes(pem), private=True
    )
    return paths
