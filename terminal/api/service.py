"""Starting the integrator API with the terminal: certificate, logic, event hub, servers."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from terminal.api.events import EventHub
from terminal.api.openapi import openapi_document
from terminal.api.pairing import Pairings
from terminal.api.payments import Payments
from terminal.api.routes import Api, build_app
from terminal.api.server import SOCKET_FILE, ApiServer
from terminal.api.tls import Certificate, ensure_certificate
from terminal.config.model import Config
from terminal.errors import ConfigError
from terminal.journal import Journal
from terminal.runtime.runtime import Runtime

__all__ = ["RunningApi", "start_api"]

log = logging.getLogger("payterm.api")


@dataclass
class RunningApi:
    """The API as it runs: where it listens and what a POS pins."""

    url: str
    fingerprint: str  # "" without TLS
    certificate: Certificate | None
    socket: Path
    api: Api


async def start_api(
    config: Config,
    runtime: Runtime,
    journal: Journal,
    stack: contextlib.AsyncExitStack,
    terminal: Any = None,
) -> RunningApi:
    """Serve the API for ``runtime`` as ``config.api`` says; stopped when ``stack`` closes.

    With ``terminal`` (the assembled :class:`terminal.app.Terminal`) the web console is
    served beside it when the config says so (docs/console.md).
    """
    cfg = config.api
    data_dir = config.terminal.data_dir
    certificate = None
    if cfg.tls:
        certificate = ensure_certificate(data_dir, common_name=f"payterm-{config.terminal.id}")
    fingerprint = certificate.fingerprint if certificate is not None else ""
    payments = Payments(runtime, journal, config)
    pairings = Pairings(runtime, runtime.api_store, fingerprint)
    hub = EventHub(runtime, payments)
    document = openapi_document(
        currency=config.terminal.currency, max_amount_minor=config.terminal.max_amount_minor,
        providers=sorted(config.providers),
    )  # fmt: skip
    api = Api(runtime, journal, payments, pairings, hub, document)
    if terminal is not None:
        from terminal.api.console import make_console

        api.console = make_console(terminal, api)
    cert = (certificate.cert_path, certificate.key_path) if certificate is not None else None
    public = ApiServer(build_app(api), host=cfg.host, port=cfg.port, cert=cert)
    local = ApiServer(build_app(api, local=True), uds=data_dir / SOCKET_FILE)
    try:
        await public.start()
    except OSError as exc:
        raise ConfigError(f"the API cannot listen on {cfg.host}:{cfg.port}: {exc}",
                          key="api.port") from exc  # fmt: skip
    stack.push_async_callback(public.stop)
    await local.start()
    stack.push_async_callback(local.stop)
    stack.callback(hub.close)  # event streams end first, so the servers stop at once
    if api.console is not None:
        stack.callback(api.console.feed.close)
    runtime.pairing_source = pairings.opening
    scheme = "https" if certificate is not None else "http"
    url = f"{scheme}://{_shown_host(cfg.host)}:{public.port}"
    runtime.api_effects.address = url
    log.info("API listening on %s (certificate SHA-256 %s)", url, fingerprint or "none")
    if api.console is not None:
        log.info("web console on %s/console/", url)
    return RunningApi(url, fingerprint, certificate, data_dir / SOCKET_FILE, api)


def _shown_host(host: str) -> str:
    """The address a POS uses: the host's LAN address when listening on every interface."""
    if host not in ("0.0.0.0", "::"):  # noqa: S104
        try:
            return f"[{host}]" if ipaddress.ip_address(host).version == 6 else host
        except ValueError:
            return host
    import socket

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the route
            return str(probe.getsockname()[0])
    except OSError:
        return "127.0.0.1"
