"""Build a provider driver from its configuration: the one table from driver name to class."""

from __future__ import annotations

from typing import Protocol

import httpx

from terminal.config_model import ProviderConfig
from terminal.errors import ConfigError
from terminal.providers.base import Capabilities, Provider
from terminal.providers.sandbox.driver import SandboxProvider

__all__ = ["DriverFactory", "DRIVERS", "build_provider", "capabilities_from", "build_client"]

#: At most this many connections per provider: the terminal makes one call at a time,
#: plus a query or cancel that may overlap it.
MAX_CONNECTIONS = 4


class DriverFactory(Protocol):
    """How every driver class is constructed."""

    def __call__(
        self,
        name: str,
        capabilities: Capabilities,
        *,
        client: httpx.AsyncClient,
        base_url: str,
        api_key: str | None = None,
        owns_client: bool = True,
    ) -> Provider: ...


#: Driver name (``providers.<name>.driver``) -> driver class.
DRIVERS: dict[str, DriverFactory] = {
    "sandbox": SandboxProvider,
}


def build_provider(
    name: str,
    cfg: ProviderConfig,
    *,
    api_key: str | None,
    client: httpx.AsyncClient | None = None,
    base_url: str | None = None,
) -> Provider:
    """Build the driver for ``[providers.<name>]``.

    ``base_url`` overrides ``cfg.url`` (the embedded sandbox's port is known only once it
    runs). Without ``client`` one is built with explicit timeouts from ``cfg`` and the
    driver owns it; an injected client stays the caller's to close. Raises ``ConfigError``
    for an unknown driver or a URL that is not http(s).
    """
    factory = DRIVERS.get(cfg.driver)
    if factory is None:
        known = ", ".join(sorted(DRIVERS))
        raise ConfigError(
            f"unknown driver {cfg.driver!r}; use one of: {known}",
            key=f"providers.{name}.driver",
        )
    url = base_url if base_url is not None else cfg.url
    if not url.startswith(("http://", "https://")):
        raise ConfigError(
            f"{url!r} is not an http:// or https:// address"
            + (
                " (the embedded sandbox needs its address passed at start)"
                if url == "embedded"
                else ""
            ),
            key=f"providers.{name}.url",
        )
    return factory(
        name,
        capabilities_from(cfg),
        client=client if client is not None else build_client(cfg),
        base_url=url,
        api_key=api_key,
        owns_client=client is None,
    )


def capabilities_from(cfg: ProviderConfig) -> Capabilities:
    """Return the capabilities with the cadence and budget ``cfg`` sets."""
    return Capabilities(
        poll_interval_s=cfg.poll_interval_s,
        first_poll_delay_s=cfg.first_poll_delay_s,
        invoice_lifetime_s=cfg.invoice_lifetime_s,
        confirm_timeout_s=cfg.confirm_timeout_s,
        no_answer_timeout_s=cfg.no_answer_timeout_s,
        technical_error_budget=cfg.technical_error_budget,
    )


def build_client(cfg: ProviderConfig) -> httpx.AsyncClient:
    """Return an ``httpx.AsyncClient`` with explicit timeouts from ``cfg``, never defaults.

    Proxy and certificate settings from the environment are ignored (``trust_env=False``):
    what the terminal talks to is decided by its config file alone.
    """
    timeout = httpx.Timeout(
        connect=cfg.connect_timeout_s,
        read=cfg.read_timeout_s,
        write=cfg.read_timeout_s,
        pool=cfg.connect_timeout_s,
    )
    limits = httpx.Limits(
        max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS
    )
    return httpx.AsyncClient(timeout=timeout, limits=limits, trust_env=False)
