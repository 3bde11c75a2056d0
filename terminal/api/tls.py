"""The API's self-signed certificate: made at the first start, kept in the data directory.

The POS pins it by its SHA-256 fingerprint (shown on the pairing screen, printed on the
pairing slip), so no certificate authority is involved and a replaced certificate is
noticed. An EC P-256 key: small and fast to handshake on a Raspberry Pi.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from terminal.errors import ConfigError

__all__ = ["CERT_FILE", "KEY_FILE", "Certificate", "ensure_certificate", "fingerprint_of"]

CERT_FILE = "api-cert.pem"
KEY_FILE = "api-key.pem"
_VALID_DAYS = 3650


@dataclass(frozen=True, slots=True)
class Certificate:
    """Where the certificate and its key are, and the fingerprint a POS pins."""

    cert_path: Path
    key_path: Path
    fingerprint: str  # SHA-256 of the DER certificate, "AB:CD:…"


def fingerprint_of(pem: bytes) -> str:
    """The SHA-256 fingerprint of a PEM certificate, as colon-separated upper-case hex."""
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def ensure_certificate(data_dir: Path, *, common_name: str) -> Certificate:
    """The certificate in ``data_dir``, made (its key readable by the owner only) if absent."""
    cert_path, key_path = data_dir / CERT_FILE, data_dir / KEY_FILE
    try:
        if not (cert_path.is_file() and key_path.is_file()):
            _make(cert_path, key_path, common_name)
        pem = cert_path.read_bytes()
        return Certificate(cert_path, key_path, fingerprint_of(pem))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{cert_path}: cannot make or read the API certificate: {exc}") from exc


def _make(cert_path: Path, key_path: Path, common_name: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    names: list[x509.GeneralName] = [
        x509.DNSName(common_name),
        x509.DNSName("localhost"),
        x509.DNSName(socket.gethostname()),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=_VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write(key_path, key_bytes, 0o600)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` whole (a temporary file renamed into place) with ``mode``."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
