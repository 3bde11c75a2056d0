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
    "ScannerConfig",
    "KeypadConfig",
    "OPERATOR_FUNCTIONS",
    "ButtonsConfig",
    "NfcConfig",
    "SystemConfig",
    "ApiConfig",
    "SyncTargetConfig",
    "SyncConfig",
    "Secrets",
    "Config",
    "SupervisorSecrets",
    "WifiSecrets",
    "ConsoleSecrets",
    "TechnicianSecrets",
    "SecretsFile",
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
    #: A training terminal: the emulated device, the sandbox and embedded providers are
    #: allowed, and every screen and slip says TRAINING (see terminal/config/training.py).
    training: bool = False
    result_screen_s: float = 15.0  # how long "paid"/"declined" stays before the idle screen
    secrets_file: Path | None = None


@dataclass(frozen=True, slots=True)
class PaymentConfig:
    """``[payment]``: how a payment is taken."""

    mpm_provider: str = "sandbox"  # which provider makes the QR the terminal shows
    #: The QR providers the cashier chooses from after Enter (a numbered list; Sendy adds
    #: one line per enabled online service); ``mpm_provider`` is the default and must be
    #: among them. Empty: ``mpm_provider`` alone, no list.
    qr_providers: tuple[str, ...] = ()
    qr_mode: Literal[0, 1, 2] = 1  # 0 print the QR, 1 show it, 2 static sticker / NFC plate
    force_requires_approval: bool = True
    refund_requires_approval: bool = True  # refund by the slip needs a supervisor's PIN/badge
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
    """``[display]``: the customer display (an OLED driven by luma.oled)."""

    width: int = 128
    height: int = 64
    driver: Literal["ssd1306", "sh1106", "ssd1309", "sh1107"] = "ssd1306"
    interface: Literal["i2c", "spi"] = "i2c"
    i2c_port: int = 1  # /dev/i2c-1 on a Pi
    address: int = 0x3C  # 60; some panels answer at 0x3D (61)
    spi_port: int = 0
    spi_device: int = 0
    gpio_dc: int = 24  # SPI only: BCM pin of D/C
    gpio_rst: int = 25  # SPI only: BCM pin of RESET
    rotate: Literal[0, 1, 2, 3] = 0  # quarter turns
    contrast: int = 255  # 0..255


@dataclass(frozen=True, slots=True)
class PrinterConfig:
    """``[printer]``: the slip printer (ESC/POS, driven by python-escpos)."""

    columns: int = 32  # 32 for 58 mm paper, 48 for 80 mm
    copies: int = 1
    connection: Literal["usb", "serial", "network", "file", "none"] = "usb"
    usb_vendor: str = ""  # hex, e.g. "0416"; empty: the first known printer found
    usb_product: str = ""  # hex, e.g. "5011"
    serial_device: str = "/dev/payterm/printer"
    baudrate: int = 9600
    host: str = ""  # network printers: address; port 9100
    port: int = 9100
    file: str = "/dev/usb/lp0"  # a device file the kernel's usblp driver made
    profile: str = "default"  # a python-escpos printer profile name
    native_qr: bool = True  # print QR with the printer's own command (else as an image)
    code_page: str = "CP866"  # for Cyrillic
    detailed_report: bool = False  # X/Z reports list every payment and refund too


@dataclass(frozen=True, slots=True)
class ScannerConfig:
    """``[scanner]``: the USB HID barcode scanner in keyboard mode (evdev)."""

    device: str = "/dev/payterm/scanner"  # a path, "name:<device name>" or "usb:<vid>:<pid>"
    layout: Literal["us", "ru"] = "us"
    inter_key_timeout_s: float = 0.05  # slower typing than this is a person, not a scanner
    max_length: int = 128
    grab: bool = True  # scans never leak to a console


#: What an operator key can do: cancel the payment or amount, reprint the last slip, print
#: an X report, refund a paid payment by scanning its slip, show a pairing code, close the
#: shift (Z), print the previous shift's Z again, show the info page (host name, addresses).
OPERATOR_FUNCTIONS = (
    "cancel",
    "reprint",
    "x_report",
    "refund",
    "pair",
    "z_report",
    "previous_report",
    "info",
)


@dataclass(frozen=True, slots=True)
class KeypadConfig:
    """``[keypad]``: the cashier's USB numeric keypad (evdev)."""

    device: str = "/dev/payterm/keypad"  # a path, "name:<device name>" or "usb:<vid>:<pid>"
    # The operator keys and what they do (see OPERATOR_FUNCTIONS); keys: slash, asterisk,
    # minus, plus.
    operator_keys: dict[str, str] = field(
        default_factory=lambda: {
            "slash": "cancel",
            "asterisk": "reprint",
            "minus": "x_report",
            "plus": "refund",
        }
    )


@dataclass(frozen=True, slots=True)
class ButtonsConfig:
    """``[buttons]``: Retry, Cancel and Force on BCM GPIO pins (gpiozero), LED and buzzer."""

    retry_pin: int = 17
    cancel_pin: int = 27
    force_pin: int = 22
    pull_up: bool = True  # the button connects the pin to ground
    debounce_s: float = 0.05
    force_hold_s: float = 1.5  # Force must be held this long: never pressed by accident
    led_pin: int | None = None
    buzzer_pin: int | None = None


@dataclass(frozen=True, slots=True)
class NfcConfig:
    """``[nfc]``: the NFC reader (nfcpy): supervisor badges and the SBP NFC plate."""

    path: str = ""  # nfcpy device path: "usb", "usb:054c:06c3", "tty:AMA0:pn532"; "" = none


@dataclass(frozen=True, slots=True)
class SystemConfig:
    """``[system]``: the terminal's host name and Wi-Fi.

    The running terminal ignores this table: the boot-partition import
    (``terminal/system/provision.py``) writes it into the operating system when it installs
    the file.
    """

    hostname: str = ""  # an RFC 1123 label; "" keeps the host name the terminal has ("payterm")
    wifi_country: str = ""  # ISO 3166 alpha-2 such as "RU"; required with wifi_ssid
    wifi_ssid: str = ""  # "" = no Wi-Fi; the passphrase is the secrets file's [wifi] psk


@dataclass(frozen=True, slots=True)
class ApiConfig:
    """``[api]``: the integrator API a POS drives the terminal with over the LAN (HTTPS)."""

    enabled: bool = False
    host: str = "0.0.0.0"  # noqa: S104 - the POS is on the shop's LAN
    port: int = 8443
    tls: bool = True  # a self-signed certificate made at the first start, kept in data_dir
    allow_plain_http: bool = False  # tls = false off loopback only when this is true too
    #: The web console at /console/ (docs/console.md): always on for the emulated device;
    #: on a real terminal only with this, read-only unless ``console_remote_keys``.
    console: bool = False
    console_remote_keys: bool = False


@dataclass(frozen=True, slots=True)
class SyncTargetConfig:
    """``[[sync.targets]]``: one receiver of the terminal's records (docs/sync.md).

    ``kind = "webhook"``: ``url`` is the https:// (or, on a LAN, http://) endpoint that
    batches are POSTed to, signed with the secrets file's ``[sync.<name>] secret``.
    ``kind = "mqtt"``: ``url`` is ``mqtt://host:port`` (or ``mqtts://`` for TLS); the
    password is the secrets file's ``[sync.<name>] password``.
    """

    name: str
    kind: Literal["webhook", "mqtt"]
    url: str
    batch_size: int = 100  # records per POST, or per burst of MQTT publishes
    timeout_s: float = 10.0  # for one batch to be acknowledged
    protocol: Literal["3.1.1", "5"] = "5"  # MQTT only
    username: str = ""  # MQTT only
    ca_file: Path | None = None  # TLS: the CA that signed the receiver's certificate
    cert_file: Path | None = None  # TLS: the terminal's client certificate (PEM) ...
    key_file: Path | None = None  # ... and its key


@dataclass(frozen=True, slots=True)
class SyncConfig:
    """``[sync]``: sending the journal's records upstream, to each of ``targets``."""

    targets: tuple[SyncTargetConfig, ...] = ()
    keep_s: float = 7 * 24 * 3600.0  # records are kept this long once every target has them
    late_after_s: float = 900.0  # the display shows a mark when the oldest unsent is older
    backoff_initial_s: float = 1.0  # the first wait after a failure (doubles, with jitter)
    backoff_max_s: float = 300.0  # the longest wait between two tries


@dataclass(frozen=True, slots=True)
class Secrets:
    """The secrets file: supervisor PINs, badge UIDs and provider keys; never logged."""

    supervisor_pins: tuple[str, ...] = ()
    supervisor_badges: tuple[str, ...] = ()  # lowercase hex UIDs
    provider_keys: dict[str, str] = field(default_factory=dict)  # [providers.<name>] api_key
    #: Every secret of ``[providers.<name>]`` (api_key, app_secret, pfx_password, …).
    provider_secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    wifi_psk: str = ""  # [wifi] psk: the Wi-Fi passphrase (or its 64 hex digits); "" = none
    #: Each sync target's secrets by name: ``secret`` (webhook signing), ``password`` (MQTT).
    sync_secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    console_password: str = ""  # [console] password: signs in to the web console; "" = none
    #: [technician] password: root's on the local console (never SSH); "" = root stays locked.
    technician_password: str = ""

    def __repr__(self) -> str:
        return (
            f"<Secrets pins={len(self.supervisor_pins)} badges={len(self.supervisor_badges)} "
            f"providers={sorted(self.provider_secrets or self.provider_keys)} "
            f"wifi_psk={'set' if self.wifi_psk else 'none'} sync={sorted(self.sync_secrets)} "
            f"console_password={'set' if self.console_password else 'none'} "
            f"technician_password={'set' if self.technician_password else 'none'}>"
        )


@dataclass(frozen=True, slots=True)
class Config:
    """The whole validated configuration."""

    terminal: TerminalConfig = field(default_factory=TerminalConfig)
    payment: PaymentConfig = field(default_factory=PaymentConfig)
    supervisor: SupervisorConfig = field(default_factory=SupervisorConfig)
    display: DisplayConfig = field(default_factory=DisplayConfig)
    printer: PrinterConfig = field(default_factory=PrinterConfig)
    scanner: ScannerConfig = field(default_factory=ScannerConfig)
    keypad: KeypadConfig = field(default_factory=KeypadConfig)
    buttons: ButtonsConfig = field(default_factory=ButtonsConfig)
    nfc: NfcConfig = field(default_factory=NfcConfig)
    system: SystemConfig = field(default_factory=SystemConfig)
    api: ApiConfig = field(default_factory=ApiConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)
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


# --- The secrets file as written; the loader turns it into Secrets. ---


@dataclass(frozen=True, slots=True)
class SupervisorSecrets:
    """The secrets file's ``[supervisor]``: the PINs and NFC badge UIDs that approve."""

    pins: tuple[str, ...] = ()
    badges: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WifiSecrets:
    """The secrets file's ``[wifi]``: the passphrase of ``system.wifi_ssid``."""

    psk: str = ""


@dataclass(frozen=True, slots=True)
class ConsoleSecrets:
    """The secrets file's ``[console]``: the password that signs in to the web console."""

    password: str = ""


@dataclass(frozen=True, slots=True)
class TechnicianSecrets:
    """The secrets file's ``[technician]``: root's password on the local console, or none."""

    password: str = ""


@dataclass(frozen=True, slots=True)
class SecretsFile:
    """The secrets file: ``[supervisor]``, ``[wifi]``, ``[providers.<name>]``, ``[sync.<name>]``."""

    supervisor: SupervisorSecrets = field(default_factory=SupervisorSecrets)
    wifi: WifiSecrets = field(default_factory=WifiSecrets)
    console: ConsoleSecrets = field(default_factory=ConsoleSecrets)
    technician: TechnicianSecrets = field(default_factory=TechnicianSecrets)
    # Each provider's secrets by name (api_key, app_secret, token, pfx_password, …).
    providers: dict[str, dict[str, str]] = field(default_factory=dict)
    # Each sync target's secrets by name (secret, password).
    sync: dict[str, dict[str, str]] = field(default_factory=dict)
