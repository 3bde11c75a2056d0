"""The checks of the way to each provider: DNS, then a TLS handshake (or TCP for http://)."""

from __future__ import annotations

import asyncio
import socket
import ssl
from urllib.parse import urlsplit

from terminal.config.model import ProviderConfig
from terminal.doctor.probes import SystemProbes
from terminal.doctor.results import CheckResult, Status

__all__ = ["check_provider"]


async def check_provider(name: str, cfg: ProviderConfig, probes: SystemProbes) -> list[CheckResult]:
    """DNS resolution and a TLS handshake (plain TCP for http://) with the provider's host."""
    label = f"provider {name}"
    if cfg.url == "embedded":
        return [CheckResult(label, Status.SKIP, "embedded sandbox: runs inside the terminal")]
    parts = urlsplit(cfg.url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    dns = await _check_dns(f"{label} dns", host, port, probes.network_timeout_s)
    if dns.status is not Status.PASS:
        return [dns]
    if parts.scheme != "https":
        return [dns, await _check_tcp(f"{label} tcp", host, port, probes.network_timeout_s)]
    return [dns, await _check_tls(f"{label} tls", host, port, probes)]


async def _check_dns(label: str, host: str, port: int, timeout_s: float) -> CheckResult:
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout_s
        )
    except (OSError, TimeoutError) as exc:
        detail = f"cannot resolve {host}: {_reason(exc)}"
        fix = "check the network link and the DNS server (resolvectl status), or the url's host"
        return CheckResult(label, Status.FAIL, detail, fix)
    addresses = sorted({str(info[4][0]) for info in infos})
    return CheckResult(label, Status.PASS, f"{host} → {', '.join(addresses)}")


async def _check_tcp(label: str, host: str, port: int, timeout_s: float) -> CheckResult:
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
    except (OSError, TimeoutError) as exc:
        return CheckResult(label, Status.FAIL, f"{host}:{port}: {_reason(exc)}", _reach_fix(port))
    await _close_writer(writer)
    return CheckResult(label, Status.PASS, f"{host}:{port} reachable (plain http, no TLS)")


async def _check_tls(label: str, host: str, port: int, probes: SystemProbes) -> CheckResult:
    context = probes.tls_context()
    try:
        _reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context, server_hostname=host),
            probes.network_timeout_s,
        )
    except ssl.SSLCertVerificationError as exc:
        detail = f"{host}:{port}: certificate not accepted: {exc.verify_message or exc}"
        fix = (
            "if the clock is wrong (see clock) correct it first; otherwise something on the "
            "network intercepts TLS, or the CA certificates are old (apt install ca-certificates)"
        )
        return CheckResult(label, Status.FAIL, detail, fix)
    except (OSError, TimeoutError) as exc:
        return CheckResult(label, Status.FAIL, f"{host}:{port}: {_reason(exc)}", _reach_fix(port))
    tls = writer.get_extra_info("ssl_object")
    version = tls.version() if tls is not None else "TLS"
    cert = writer.get_extra_info("peercert") or {}
    await _close_writer(writer)
    until = f", certificate valid until {cert['notAfter']}" if "notAfter" in cert else ""
    return CheckResult(label, Status.PASS, f"{host}:{port} {version}{until}")


def _reach_fix(port: int) -> str:
    return f"check the network link and that the firewall lets the terminal out to port {port}"


async def _close_writer(writer: asyncio.StreamWriter) -> None:
    writer.close()
    try:
        await writer.wait_closed()
    except (OSError, ssl.SSLError):  # the handshake succeeded; a rude close does not matter
        pass


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, socket.gaierror | ssl.SSLError):
        return str(exc.strerror or exc)
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)
