"""The TLS client a WebMoney entry needs: its PKCS#12 client certificate, loaded safely."""

from __future__ import annotations

import os
import secrets as token_source
import ssl
import tempfile
from collections.abc import Mapping
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12

from terminal.errors import ConfigError
from terminal.providers.webmoney.settings import (
    WebMoneySettings,
    no_certificate,
    pfx_password,
    secret_key,
)

__all__ = ["client_ssl_context", "client_for", "DEFAULT_TIMEOUT", "MAX_CONNECTIONS"]

#: Timeouts of a client built without the config's (connect and pool, read and write).
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=10.0, write=10.0, pool=5.0)
MAX_CONNECTIONS = 4  # one call at a time, plus a query or cancel that may overlap it


def client_ssl_context(
    pfx_path: str | os.PathLike[str],
    password: str,
    *,
    cafile: str | os.PathLike[str] | None = None,
    provider: str = "webmoney",
) -> ssl.SSLContext:
    """A verifying TLS client context presenting the PKCS#12 ``.pfx`` certificate and key.

    The private key never touches the disk unprotected: it is re-encrypted under a
    one-time random passphrase into a 0600 file in a private temporary folder, loaded,
    and the folder is deleted at once. Server certificates are checked against ``cafile``
    (or the system's CAs) and the host name. ``ConfigError`` names the key to fix.
    """
    key, chain = _load_pfx(Path(pfx_path), password, provider)
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    passphrase = token_source.token_hex(32)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode("ascii")),
    )
    chain_pem = b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in chain)
    with tempfile.TemporaryDirectory(prefix="payterm-pfx-") as folder:
        certfile = _write_private(Path(folder) / "chain.pem", chain_pem)
        keyfile = _write_private(Path(folder) / "key.pem", key_pem)
        try:
            context.load_cert_chain(certfile, keyfile, password=passphrase)
        except ssl.SSLError as exc:
            raise ConfigError(
                f"the certificate in {pfx_path} cannot be used for TLS ({exc.reason})",
                key=f"providers.{provider}.options.pfx_path",
            ) from exc
    return context


def client_for(
    options: Mapping[str, str],
    secrets: Mapping[str, str],
    *,
    name: str = "webmoney",
    url: str = "",
    timeout: httpx.Timeout | None = None,
) -> httpx.AsyncClient:
    """The ``httpx.AsyncClient`` a WebMoney entry needs: ``verify=`` its client-certificate context.

    With ``options.pfx_path`` the client presents that certificate (``pfx_password`` from
    the secrets) and verifies the server against ``options.ca_file`` or the system's CAs.
    Without it only a plain ``http://`` ``url`` (the loopback fake) is allowed: an
    ``https://`` one raises ``ConfigError`` naming ``pfx_path``. Pass the config's
    timeouts as ``timeout``; environment proxies and certificates are ignored.
    """
    settings = WebMoneySettings.from_options(name, options)
    verify: ssl.SSLContext | bool = True
    if settings.pfx_path is not None:
        password = pfx_password(name, secrets)
        verify = client_ssl_context(
            settings.pfx_path, password, cafile=settings.ca_file, provider=name
        )
    elif url.startswith("https://"):
        raise no_certificate(name)
    limits = httpx.Limits(
        max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS
    )
    return httpx.AsyncClient(
        verify=verify, timeout=timeout or DEFAULT_TIMEOUT, limits=limits, trust_env=False
    )


def _load_pfx(
    path: Path, password: str, provider: str
) -> tuple[PrivateKeyTypes, list[x509.Certificate]]:
    """The private key and certificate chain (own certificate first) of a ``.pfx`` file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"cannot read {path}: {exc.strerror or exc}",
            key=f"providers.{provider}.options.pfx_path",
        ) from exc
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, password.encode() or None)
    except ValueError as exc:
        raise ConfigError(
            f"{path} cannot be opened with this password (or is not a PKCS#12 file)",
            key=secret_key(provider, "pfx_password"),
        ) from exc
    if key is None or cert is None:
        raise ConfigError(
            f"{path} lacks the private key or its certificate",
            key=f"providers.{provider}.options.pfx_path",
        )
    return key, [cert, *extra]


def _write_private(path: Path, data: bytes) -> str:
    """Write ``data`` to a new file only its owner may read; return its path."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    return str(path)
