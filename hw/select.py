"""Which backends make up the device: ``terminal.hardware`` picks emulated or real parts."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from hw.absent import AbsentButtons, AbsentDisplay, NoNfc
from hw.base import (
    Buttons,
    ClosesAsync,
    Display,
    Keypad,
    NfcReader,
    Printer,
    Scanner,
    Signals,
)
from hw.errors import HardwareError
from terminal.config.model import Config, DisplayConfig
from terminal.views.model import Screen

__all__ = ["PiDevice", "NoNfc", "open_device", "open_pi_device", "show_on_default_display"]

log = logging.getLogger(__name__)


@dataclass
class PiDevice(ClosesAsync):
    """The real parts of a terminal on a Raspberry Pi."""

    display: Display
    printer: Printer
    scanner: Scanner
    keypad: Keypad
    buttons: Buttons
    nfc: NfcReader
    signals: Signals | None = None

    async def aclose(self) -> None:
        """Close every part, each in its own try, so one failure does not leave others open."""
        parts: list[Any] = [
            self.signals, self.nfc, self.buttons, self.keypad, self.scanner, self.printer,
            self.display,
        ]  # fmt: skip
        for part in parts:
            if part is None:
                continue
            try:
                await part.aclose()
            except Exception:  # noqa: BLE001 - closing must reach every part
                log.exception("closing %r failed", part)


async def open_pi_device(config: Config) -> PiDevice:
    """The real parts ``config`` describes; a part that is missing or broken is no error.

    A missing scanner, keypad or printer is reported as a problem and picked up when it
    appears. A display or buttons that cannot be opened are logged with the fix in words and
    replaced by stand-ins (:mod:`hw.absent`) that report the problem, so a terminal with a
    broken OLED still starts (and a service does not restart over and over); so is an LED or
    buzzer, which is left out. Settings that cannot work still raise ``ConfigError``.
    """
    from hw.input.evdev_keypad import open_evdev_keypad
    from hw.input.evdev_scanner import open_evdev_scanner
    from hw.printer.escpos_printer import open_escpos_printer

    opened: list[Any] = []
    try:
        display = _open_display(config)
        opened.append(display)
        cache = config.terminal.data_dir / "cache" / "escpos"
        printer = open_escpos_printer(config.printer, cache_dir=cache)
        opened.append(printer)
        scanner = open_evdev_scanner(config.scanner)
        opened.append(scanner)
        keypad = open_evdev_keypad(config.keypad)
        opened.append(keypad)
        buttons = _open_buttons(config)
        opened.append(buttons)
        nfc = _open_nfc(config)
        opened.append(nfc)
        return PiDevice(
            display=display, printer=printer, scanner=scanner, keypad=keypad, buttons=buttons,
            nfc=nfc, signals=_open_signals(config),
        )  # fmt: skip
    except BaseException:
        for part in reversed(opened):
            with contextlib.suppress(Exception):
                await part.aclose()
        raise


def _open_display(config: Config) -> Display:
    from hw.display.luma_display import open_luma_display

    try:
        return open_luma_display(config.display)
    except HardwareError as exc:
        log.error("display cannot be opened; running without it: %s", exc)
        return AbsentDisplay(exc, (config.display.width, config.display.height))


def _open_buttons(config: Config) -> Buttons:
    from hw.buttons.gpiozero_buttons import open_gpiozero_buttons

    try:
        return open_gpiozero_buttons(config.buttons)
    except HardwareError as exc:
        log.error("buttons cannot be opened; running without Retry/Cancel/Force: %s", exc)
        return AbsentButtons(exc)


def _open_nfc(config: Config) -> NfcReader:
    if not config.nfc.path:
        return NoNfc()
    from hw.nfc.nfcpy_reader import open_nfcpy_reader

    return open_nfcpy_reader(config.nfc)


def _open_signals(config: Config) -> Signals | None:
    from hw.buttons.gpiozero_signals import open_gpiozero_signals

    try:
        return open_gpiozero_signals(config.buttons)
    except HardwareError as exc:
        log.error("LED/buzzer cannot be opened; running without them: %s", exc)
        return None


async def open_device(config: Config) -> Any:
    """The device ``terminal.hardware`` names: the emulated one, or the Pi's real parts."""
    if config.terminal.hardware == "emulated":
        from hw.emulated import open_emulated_device

        return open_emulated_device(config)
    return await open_pi_device(config)


def show_on_default_display(screen: Screen) -> Display | None:
    """Show ``screen`` on the display a terminal has when nothing says otherwise.

    For a terminal with no valid configuration: the [display] defaults (an SSD1306 at
    0x3C on I²C bus 1) are tried, and the open display is returned for the caller to
    close; None when no such display answers or its library is missing.
    """
    try:
        from hw.display.luma_display import open_luma_display

        display = open_luma_display(DisplayConfig())
        display.show(screen)
        display.flush(5.0)  # the push runs off the loop: wait to know whether it worked
    except Exception as exc:  # noqa: BLE001 - best effort: the log says it all anyway
        log.info("no display to show the configuration error on: %s", exc)
        return None
    return display
