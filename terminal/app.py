"""Putting the terminal together from its configuration: journal, providers, device, runtime."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from terminal.clock import Clock
from terminal.config.model import Config, ProviderConfig
from terminal.config.training import check_training
from terminal.errors import ConfigError
from terminal.journal import Journal
from terminal.machine import QrChoice, Settings, State
from terminal.providers.base import Provider
from terminal.providers.qr_types import qr_types
from terminal.providers.registry import build_provider, capabilities_from
from terminal.runtime.link import default_route_up
from terminal.runtime.runtime import Devices, Runtime
from terminal.system.host_info import HostInfo
from terminal.system.netinfo import read_host_info

__all__ = ["Terminal", "settings_from", "JOURNAL_FILE"]

log = logging.getLogger("payterm.app")

JOURNAL_FILE = "journal.sqlite3"


def _demo_credentials(driver: str) -> tuple[dict[str, str], dict[str, str]]:
    """Options and secrets an embedded fake and its driver share when the config has none."""
    if driver == "sandbox":
        return {}, {}
    from terminal.providers.fakes import fake_class

    fake = fake_class(driver)
    return dict(fake.DEMO_OPTIONS), dict(fake.DEMO_SECRETS)


def _legible_qr_chars(config: Config) -> int:
    from hw.display.render import legible_qr_chars

    size = (config.display.width, config.display.height)
    return legible_qr_chars(size, marked=config.terminal.training)


def qr_choices_from(config: Config) -> tuple[tuple[QrChoice, ...], int]:
    """The QR payment types the cashier chooses from, and the index of the default one.

    ``payment.qr_providers`` in its order (``payment.mpm_provider`` alone when empty), each
    provider once per wallet it offers (Sendy: per online service switched on). The default
    is ``mpm_provider`` with its own default wallet.
    """
    names = config.payment.qr_providers or (config.payment.mpm_provider,)
    choices: list[QrChoice] = []
    default = 0
    for name in names:
        cfg = config.providers.get(name)
        wallets, first = qr_types(cfg) if cfg is not None else (("",), "")
        for wallet in wallets:
            if name == config.payment.mpm_provider and wallet == first:
                default = len(choices)
            choices.append(QrChoice(name, wallet))
    return tuple(choices), default


def settings_from(
    config: Config, *, epoch: str, providers: Mapping[str, Provider] | None = None
) -> Settings:
    """The machine's settings taken from ``config`` (capabilities from the drivers, if built).

    The display's size decides which QR codes are shown and which are printed: the terminal
    and the pictures under docs/pictures/ both take that decision here.
    """
    if providers is not None:
        capabilities = {name: provider.capabilities for name, provider in providers.items()}
    else:
        capabilities = {name: capabilities_from(cfg) for name, cfg in config.providers.items()}
    choices, default = qr_choices_from(config)
    return Settings(
        terminal_id=config.terminal.id,
        epoch=epoch,
        currency=config.terminal.currency,
        max_amount_minor=config.terminal.max_amount_minor,
        qr_mode=config.payment.qr_mode,
        mpm_provider=config.payment.mpm_provider,
        qr_choices=choices,
        qr_default=default,
        providers=capabilities,
        routes=config.routes,
        supervisor_pins=frozenset(config.secrets.supervisor_pins),
        supervisor_badges=frozenset(b.lower() for b in config.secrets.supervisor_badges),
        force_requires_approval=config.payment.force_requires_approval,
        refund_requires_approval=config.payment.refund_requires_approval,
        pin_length=config.supervisor.pin_length,
        max_pin_attempts=config.supervisor.max_pin_attempts,
        result_screen_s=config.terminal.result_screen_s,
        void_window_s=config.payment.void_window_s,
        screen_qr_max_chars=_legible_qr_chars(config),
        training=config.terminal.training,
    )


@dataclass
class Terminal:
    """The whole terminal for one configuration; an async context manager.

    ``with_network_link`` puts a cuttable relay between the terminal and every embedded
    sandbox, so the demo can take the network away (``set_network(False)``).
    """

    config: Config
    clock: Clock
    with_network_link: bool = False
    #: Reads the info page's facts (host name, addresses, Wi-Fi); tests read a fake tree.
    host_info: Callable[[], HostInfo] = read_host_info
    runtime: Runtime = field(init=False)
    journal: Journal = field(init=False)
    device: Any = field(init=False)
    sandboxes: dict[str, Any] = field(init=False, default_factory=dict)
    links: list[Any] = field(init=False, default_factory=list)
    providers: dict[str, Provider] = field(init=False, default_factory=dict)
    api: Any = field(init=False, default=None)  # terminal.api.service.RunningApi when [api] is on
    sync: Any = field(init=False, default=None)  # the SyncService when [sync] has targets
    _stack: contextlib.AsyncExitStack = field(init=False, default_factory=contextlib.AsyncExitStack)

    async def __aenter__(self) -> Terminal:
        try:
            await self._open()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stack.aclose()

    async def _open(self) -> None:
        cfg = self.config
        check_training(cfg)  # before anything opens: no pretend payments by accident
        data_dir = cfg.terminal.data_dir
        self.journal = Journal.open(data_dir / JOURNAL_FILE, terminal_id=cfg.terminal.id)
        self._stack.callback(self.journal.close)
        for name, pcfg in cfg.providers.items():
            secrets = dict(cfg.secrets.provider_secrets.get(name, {}))
            base_url = None
            if pcfg.url == "embedded":
                demo_options, demo_secrets = _demo_credentials(pcfg.driver)
                pcfg = replace(pcfg, options={**demo_options, **pcfg.options})
                secrets = {**demo_secrets, **secrets}
                base_url = await self._start_sandbox(name, pcfg, data_dir, secrets)
            provider = build_provider(
                name,
                pcfg,
                api_key=cfg.secrets.provider_keys.get(name),
                base_url=base_url,
                secrets=secrets,
            )
            self._stack.push_async_callback(provider.aclose)
            self.providers[name] = provider
        self.device = await self._open_device()
        settings = settings_from(cfg, epoch=self.journal.epoch, providers=self.providers)
        state = State(settings, next_seq=self._next_seq(), shift=self.journal.current_shift())
        self.runtime = Runtime(
            state=state,
            journal=self.journal,
            providers=self.providers,
            devices=Devices(
                display=self.device.display,
                printer=self.device.printer,
                scanner=self.device.scanner,
                keypad=self.device.keypad,
                buttons=self.device.buttons,
                nfc=self.device.nfc,
                signals=getattr(self.device, "signals", None),
            ),
            clock=self.clock,
            language=cfg.terminal.language,
            slip_columns=cfg.printer.columns,
            slip_copies=cfg.printer.copies,
            detailed_report=cfg.printer.detailed_report,
            operator_keys=cfg.keypad.operator_keys,
            route_probe=default_route_up if cfg.terminal.hardware == "pi" else None,
            unsynced=self._unsynced if cfg.sync.targets else None,
            host_info=self.host_info,
        )
        self._stack.push_async_callback(self.runtime.aclose)
        if cfg.api.enabled:
            from terminal.api.service import start_api

            self.api = await start_api(cfg, self.runtime, self.journal, self._stack, self)

        if cfg.sync.targets:
            from terminal.sync.service import SyncService

            self.sync = SyncService(cfg, self.journal, self.clock)
            self.sync.attach(self.runtime)

    def _next_seq(self) -> int:
        """The next through-number: past every payment and every number the API reserved.

        An API payment left waiting for the customer's code when the terminal stopped is
        marked abandoned: nobody is presenting a code after a restart.
        """
        from terminal.journal.api_store import ApiStore

        store = ApiStore(self.journal.database)
        for order_id in store.abandon_presenting():
            log.warning("API payment %s abandoned: the terminal restarted before a code", order_id)
        return max(self.journal.next_seq(), store.max_seq() + 1)

    def _unsynced(self) -> int:
        """How many records some sync target still lacks (for the X report)."""
        return self.journal.outbox_count(limit=1_000_000)

    async def _start_sandbox(
        self, name: str, pcfg: ProviderConfig, data_dir: Path, secrets: dict[str, str]
    ) -> str:
        from terminal.demo.netlink import NetworkLink
        from terminal.providers.sandbox.server import SandboxServer

        server = SandboxServer(
            data_dir / f"sandbox-{name}.sqlite3",
            driver=pcfg.driver,
            options=pcfg.options,
            secrets=secrets,
            api_key=self.config.secrets.provider_keys.get(name),
        )
        url = await server.start()
        self._stack.push_async_callback(server.stop)
        self.sandboxes[name] = server
        if not self.with_network_link:
            return url
        parts = urlsplit(url)
        link = NetworkLink(parts.hostname or "127.0.0.1", parts.port or 80)
        self._stack.push_async_callback(link.aclose)
        self.links.append(link)
        return await link.start()

    async def _open_device(self) -> Any:
        from hw.select import open_device

        device = await open_device(self.config)
        self._stack.push_async_callback(device.aclose)
        return device

    def set_network(self, up: bool) -> None:
        """Cut (False) or restore (True) the path from the terminal to its providers."""
        for link in self.links:
            link.set_up(up)
        if up and self.links:
            self.runtime.link_restored("demo network link")

    async def customer(self, action: str, order_id: str | None = None) -> dict[str, Any]:
        """Act as the customer at the sandbox: pay, decline, abandon or let expire."""
        provider = self.config.payment.mpm_provider
        server = self.sandboxes.get(provider) or next(iter(self.sandboxes.values()), None)
        if server is not None:
            url = server.url
        elif self.config.providers[provider].driver == "sandbox":
            url = self.config.providers[provider].url  # a sandbox running on its own
        else:
            raise ConfigError("no sandbox to act as the customer", key="payment.mpm_provider")
        body: dict[str, Any] = {"action": action}
        if order_id:
            body["order_id"] = order_id
        async with httpx.AsyncClient(base_url=url, timeout=5.0, trust_env=False) as client:
            response = await client.post("/control/customer", json=body)
        result: dict[str, Any] = response.json()
        result["http_status"] = response.status_code
        return result
