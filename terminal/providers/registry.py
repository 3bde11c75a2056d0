"""Build a provider driver from its configuration: the one table from driver name to class."""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Mapping
from typing import Protocol, cast

import httpx

from terminal.config.model import ProviderConfig
from terminal.errors import ConfigError
from terminal.providers.base import Capabilities, Provider

__all__ = [
    "DriverFactory",
    "DRIVERS",
    "driver_factory",
    "build_provider",
    "capabilities_from",
    "build_client",
]

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
        options: Mapping[str, str] | None = None,
        secrets: Mapping[str, str] | None = None,
    ) -> Provider: ...


#: Driver name (``providers.<name>.driver``) -> "module:Class", imported when first used so
#: a terminal loads only the drivers its config names.
DRIVERS: dict[str, str] = {
    "sandbox": "terminal.providers.sandbox.driver:SandboxProvider",
    "paymaster": "terminal.providers.paymaster.driver:PayMasterProvider",
    "pockyt": "terminal.providers.pockyt.driver:PockytProvider",
    "verystar": "terminal.providers.verystar.driver:VerystarProvider",
    "webmoney": "terminal.providers.webmoney.driver:WebMoneyProvider",
    "sendy": "terminal.providers.sendy.driver:SendyProvider",
}


class ClientFactory(Protocol):
    """How a driver that needs its own client (a client certificate) has it built."""

    def __call__(
        self,
        options: Mapping[str, str],
        secrets: Mapping[str, str],
        *,
        name: str,
        url: str,
        timeout: httpx.Timeout | None = None,
    ) -> httpx.AsyncClient: ...


#: Drivers whose connections need more than timeouts and a proxy -> "module:function".
CLIENT_FACTORIES: dict[str, str] = {
    "webmoney": "terminal.providers.webmoney.tls:client_for",
}


def driver_factory(driver: str) -> DriverFactory:
    """The class of ``driver``; KeyError for an unknown name."""
    module_name, _, class_name = DRIVERS[driver].partition(":")
    return cast(DriverFactory, getattr(importlib.import_module(module_name), class_name))


def build_provider(
    name: str,
    cfg: ProviderConfig,
    *,
    api_key: str | None,
    client: httpx.AsyncClient | None = None,
    base_url: str | None = None,
    secrets: Mapping[str, str] | None = None,
) -> Provider:
    """Build the driver for ``[providers.<name>]``.

    ``base_url`` overrides ``cfg.url`` (the embedded sandbox's port is known only once it
    runs). Without ``client`` one is built with explicit timeouts from ``cfg`` and the
    driver owns it; an injected client stays the caller's to close. Raises ``ConfigError``
    for an unknown driver or a URL that is not http(s).
    """
    if cfg.driver not in DRIVERS:
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
    owns_client = client is None
    if client is None:
        client = _client_for(name, cfg, secrets or {}, url)
    return driver_factory(cfg.driver)(
        name,
        capabilities_from(cfg),
        client=client,
        base_url=url,
        api_key=api_key,
        owns_client=owns_client,
        options=cfg.options,
        secrets=secrets or {},
    )


#: The settings of ``[providers.<name>]`` that override a driver's default capabilities.
TUNABLE = (
    "poll_interval_s",
    "first_poll_delay_s",
    "invoice_lifetime_s",
    "confirm_timeout_s",
    "no_answer_timeout_s",
    "technical_error_budget",
)


def capabilities_from(cfg: ProviderConfig) -> Capabilities:
    """The driver's default capabilities with the cadence and budget ``cfg`` sets."""
    defaults: Capabilities = getattr(
        driver_factory(cfg.driver), "DEFAULT_CAPABILITIES", Capabilities()
    )
    changes = {name: getattr(cfg, name) for name in TUNABLE if getattr(cfg, name) is not None}
    return dataclasses.replace(defaults, **changes)


def _client_for(
    name: str, cfg: ProviderConfig, secrets: Mapping[str, str], url: str
) -> httpx.AsyncClient:
    where = CLIENT_FACTORIES.get(cfg.driver)
    if where is None:
        return build_client(cfg)
    module_name, _, function = where.partition(":")
    factory = cast(ClientFactory, getattr(importlib.import_module(module_name), function))
    return factory(cfg.options, secrets, name=name, url=url, timeout=timeout_of(cfg))


def timeout_of(cfg: ProviderConfig) -> httpx.Timeout:
    """The explicit connect/read/write/pool timeouts of ``cfg``, never httpx's defaults."""
    return httpx.Timeout(
        connect=cfg.connect_timeout_s,
        read=cfg.read_timeout_s,
        write=cfg.read_timeout_s,
        pool=cfg.connect_timeout_s,
    )


def build_client(cfg: ProviderConfig) -> httpx.AsyncClient:
    """Return an ``httpx.AsyncClient`` with explicit timeouts from ``cfg``, never defaults.

    Proxy and certificate settings from the environment are ignored (``trust_env=False``):
    what the terminal talks to is decided by its config file alone. ``options.proxy``
    (e.g. ``http://proxy.lan:3128``) sends this provider's traffic through a proxy, as
    the Verystar integration allows.
    """
    limits = httpx.Limits(
        max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS
    )
    proxy = cfg.options.get("proxy") or None
    return httpx.AsyncClient(timeout=timeout_of(cfg), limits=limits, trust_env=False, proxy=proxy)
