"""The range of every number in the configuration, and why: values the terminal can hold.

TOML integers are 64-bit and Python's are unbounded, but the journal stores amounts as
SQLite's signed 64-bit INTEGER, the providers take far less, a GPIO pin is one of the 28
on the header, and a timeout of a year is a typo. Each whole-number field has a range
here with its reason; each time (``*_s``) is greater than 0 and at most a bound. A value
outside is refused naming the key, the allowed range and the reason. TOML's ``inf`` and
``nan`` are refused for every number by the strict schema (``allow_inf_nan``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from terminal.config.model import (
    ButtonsConfig,
    DisplayConfig,
    PaymentConfig,
    PrinterConfig,
    ProviderConfig,
    ScannerConfig,
    SupervisorConfig,
    SyncConfig,
    SyncTargetConfig,
    TerminalConfig,
)

__all__ = [
    "AMOUNT_CEILING_MINOR",
    "SECONDS_CEILING",
    "Limit",
    "INT_LIMITS",
    "SECONDS_LIMITS",
    "BAUDRATES",
    "shown",
]

#: The largest amount the keypad may be set to take, in minor units: 1 000 000 000.00 in a
#: currency of two decimals. Providers take amounts with two decimals up to about 10^9
#: major units (Alipay 10^8, SBP far less); SQLite stores up to 2^63 - 1 and a JSON double
#: is exact up to 2^53, so every amount below this is stored and sent exactly.
AMOUNT_CEILING_MINOR = 100_000_000_000

#: The longest time any ``*_s`` setting may be, unless its own limit says otherwise: a day.
SECONDS_CEILING = 86_400.0

#: The serial speeds printers and pyserial use; anything else is a typo.
BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400)


class Limit(NamedTuple):
    """The smallest and the largest value a setting may have, and why."""

    low: float
    high: float
    why: str

    def check(self, value: Any) -> str | None:
        """What is wrong with ``value`` (naming the range and the reason), or None."""
        if self.low <= value <= self.high:
            return None
        return f"must be from {shown(self.low)} to {shown(self.high)} ({self.why}), got {value}"


def shown(number: float) -> str:
    """A limit as a technician writes it: ``600`` rather than ``600.0``."""
    return str(int(number)) if float(number).is_integer() else str(number)


_BCM = Limit(0, 27, "a BCM GPIO number of the 40-pin header, GPIO0 to GPIO27")

#: Whole numbers: (table, field) → limit. Fields left out have a rule of their own in
#: ``rules`` (a list of choices, the display's sizes).
INT_LIMITS: dict[tuple[type, str], Limit] = {
    (TerminalConfig, "max_amount_minor"): Limit(
        1, AMOUNT_CEILING_MINOR, "in minor units; the most the providers accept"
    ),
    (SupervisorConfig, "pin_length"): Limit(4, 12, "digits of a supervisor PIN"),
    (SupervisorConfig, "max_pin_attempts"): Limit(
        1, 10, "more tries would let a 4-digit PIN be guessed"
    ),
    (ProviderConfig, "technical_error_budget"): Limit(
        1, 100, "technical errors in a row that end a wait"
    ),
    (DisplayConfig, "i2c_port"): Limit(0, 255, "the N of /dev/i2c-N; 1 on a Pi's header"),
    (DisplayConfig, "address"): Limit(
        0x08, 0x77, "a 7-bit I2C address; most panels answer at 60 or 61, 0x3C or 0x3D"
    ),
    (DisplayConfig, "spi_port"): Limit(0, 6, "the P of /dev/spidevP.D; 0 on a Pi's header"),
    (DisplayConfig, "spi_device"): Limit(0, 2, "the chip select, CE0 to CE2"),
    (DisplayConfig, "gpio_dc"): _BCM,
    (DisplayConfig, "gpio_rst"): _BCM,
    (DisplayConfig, "contrast"): Limit(0, 255, "the panel's contrast register"),
    (PrinterConfig, "copies"): Limit(1, 5, "slips of each receipt"),
    (PrinterConfig, "port"): Limit(1, 65535, "a TCP port; 9100 for most network printers"),
    (ScannerConfig, "max_length"): Limit(
        16, 4096, "characters of one scan; a wallet code has 16 to 24, a QR at most 4296"
    ),
    (ButtonsConfig, "retry_pin"): _BCM,
    (ButtonsConfig, "cancel_pin"): _BCM,
    (ButtonsConfig, "force_pin"): _BCM,
    (ButtonsConfig, "led_pin"): _BCM,
    (ButtonsConfig, "buzzer_pin"): _BCM,
}

#: Times in seconds: (table, field) → the largest and why; any other ``*_s`` setting may be
#: up to SECONDS_CEILING.
SECONDS_LIMITS: dict[tuple[type, str], tuple[float, str]] = {
    (TerminalConfig, "result_screen_s"): (600.0, "10 minutes"),
    (PaymentConfig, "void_window_s"): (SECONDS_CEILING, "a day"),
    (ProviderConfig, "poll_interval_s"): (600.0, "10 minutes between polls"),
    (ProviderConfig, "first_poll_delay_s"): (600.0, "10 minutes"),
    (ProviderConfig, "invoice_lifetime_s"): (SECONDS_CEILING, "a day"),
    (ProviderConfig, "confirm_timeout_s"): (3600.0, "an hour"),
    (ProviderConfig, "no_answer_timeout_s"): (3600.0, "an hour"),
    (ProviderConfig, "connect_timeout_s"): (60.0, "a minute"),
    (ProviderConfig, "read_timeout_s"): (300.0, "5 minutes"),
    (ScannerConfig, "inter_key_timeout_s"): (1.0, "slower keys are typed by a person"),
    (ButtonsConfig, "debounce_s"): (1.0, "a press shorter than this would be lost"),
    (ButtonsConfig, "force_hold_s"): (10.0, "no one holds a button longer"),
    (SyncConfig, "keep_s"): (90 * SECONDS_CEILING, "90 days: the data partition is small"),
    (SyncConfig, "late_after_s"): (SECONDS_CEILING, "a day"),
    (SyncConfig, "backoff_initial_s"): (60.0, "a minute"),
    (SyncConfig, "backoff_max_s"): (3600.0, "an hour between two tries"),
    (SyncTargetConfig, "timeout_s"): (300.0, "5 minutes for one batch"),
}
