"""The shape of the configuration file: one frozen dataclass per TOML table, with defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = [
    "TerminalConfig",
    "PaymentConfig",
    "SupervisorConfig",
    "ProviderConfig",
    "RouteConfig",
    "DisplayConfig",
    "PrinterConfig",
    "Secrets",
    "Config",
]


@dataclass(frozen=True, slots=True)
class TerminalConfig:
    """``[terminal]``: who this terminal is and where it keeps its records."""

    id: str = "T0001"  # printed on slips, part of every order id
    language: Literal["en", "ru"] = "en"
    currency: str = "RUB"  # ISO 4217
    max_amount_minor: int = 10_000_000  # the largest amount the keypad accepts
    data_dir: Path = Path("/var/lib/payterm")
    hardware: Literal["emulated", "pi"] = "emulated"
    result_screen_s: float = 15.0  # how long "paid"/"declined" stays before the idle screen
    secrets_file: Path | None = None


@dataclass(frozen=True, slots=True)
class PaymentConfig:
    """``[payment]``: how a payment is taken."""

    mpm_provider: str = "sandbox"  # which provider makes the QR the terminal shows
    qr_mode: Literal[0, 1, 2] = 1  # 0 print the QR, 1 show it, 2 static sticker / NFC plate
    force_requires_approval: bool = True
    void_window_s: float = 120.0  # how long after "paid" a void is offered


@dataclass(frozen=True, slots=True)
class SupervisorConfig:
    """``[supervisor]``: who may approve Force and refunds (secrets come from the secrets file)."""

    pin_length: int = 4
    max_pin_attempts: int = 3


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """``[providers.<name>]``: one configured provider; times in seconds.

    The cadence and budget left unset (None) take the driver's own defaults, the schedule
    its provider asks for (PayMaster polls every 3 s, WebMoney every 5 s, …).
    """

    driver: str = "sandbox"
    url: str = "embedded"  # "embedded" starts the sandbox (or the driver's fake) inside
    poll_interval_s: float | None = None
    first_poll_delay_s: float | None = None
    invoice_lifetime_s: float | None = None
    confirm_timeout_s: float | None = None
    no_answer_timeout_s: float | None = None
    technical_error_budget: int | None = None
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 10.0
    options: dict[str, str] = field(default_factory=dict)  # driver-specific settings


@dataclass(frozen=True, slots=True)
class RouteConfig:
    """``[[routes]]``: codes with one of ``prefixes`` and ``lengths`` go to ``provider``.

    An empty list matches anything; the first matching route wins.
    """

    wallet: str
    provider: str
    prefixes: tuple[str, ...] = ()
    lengths: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class DisplayConfig:
    """``[display]``: the customer display."""

    width: int = 128
    height: int = 64


@dataclass(frozen=True, slots=True)
class PrinterConfig:
    """``[printer]``: the slip printer."""

    columns: int = 32  # 32 for 58 mm paper, 48 for 80 mm
    copies: int = 1


@dataclass(frozen=True, slots=True)
class Secrets:
    """The secrets file: supervisor PINs, badge UIDs and provider keys; never logged."""

    supervisor_pins: tuple[str, ...] = ()
    supervisor_badges: tuple[str, ...] = ()  # lowercase hex UIDs
    provider_keys: dict[str, str] = field(default_factory=dict)  # [providers.<name>] api_key
    #: Every secret of ``[providers.<name>]`` (api_key, app_secret, pfx_password, …).
    provider_secrets: dict[str, dict[str, str]] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"<Secrets pins={len(self.supervisor_pins)} badges={len(self.supervisor_badges)} "
            f"providers={sorted(self.provider_secrets or self.provider_keys)}>"
        )


@dataclass(frozen=True, slots=True)
class Config:
    """The whole validated configuration."""

    terminal: TerminalConfig = field(default_factory=TerminalConfig)
    payment: PaymentConfig = field(default_factory=PaymentConfig)
    supervisor: SupervisorConfig = field(default_factory=SupervisorConfig)
    display: DisplayConfig = field(default_factory=DisplayConfig)
    printer: PrinterConfig = field(default_factory=PrinterConfig)
    providers: dict[str, ProviderConfig] = field(
        default_factory=lambda: {"sandbox": ProviderConfig()}
    )
    routes: tuple[RouteConfig, ...] = (
        RouteConfig(
            wallet="alipay",
            provider="sandbox",
            prefixes=("25", "26", "27", "28", "29", "30"),
            lengths=tuple(range(16, 25)),
        ),
        RouteConfig(
            wallet="wechat",
            provider="sandbox",
            prefixes=("10", "11", "12", "13", "14", "15"),
            lengths=(18,),
        ),
    )
    secrets: Secrets = field(default_factory=Secrets)
    source: str = "<defaults>"  # the file it came from
