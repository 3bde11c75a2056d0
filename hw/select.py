"""Which backends make up the device: ``terminal.hardware`` picks emulated or real parts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

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
from terminal.config_model import Config

__all__ = ["PiDevice", "NoNfc", "open_device", "open_pi_device"]

log = logging.getLogger(__name__)


class NoNfc(ClosesAsync):
    """The NFC reader of a terminal that has none: no badge is ever tapped."""

    async def taps(self) -> AsyncIterator[str]:
        """Never yields; ends when closed."""
        self._closed = asyncio.Event()
        await self._closed.wait()
        return
        yield  # pragma: no cover - makes this an async generator

    async def aclose(self) -> None:
        """Idempotent."""
        closed = getattr(self, "_closed", None)
        if closed is not None:
            closed.set()

    def __repr__(self) -> str:
        return "<NoNfc>"


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
    """The real parts ``config`` describes; a missing scanner, keypad or printer is no error.

    Those are reported as problems and picked up when they appear. A display or buttons
    that cannot be opened raise the part's ``HardwareError`` with the fix in words.
    """
    from hw.escpos_printer import open_escpos_printer
    from hw.evdev_input import open_evdev_keypad, open_evdev_scanner
    from hw.gpiozero_buttons import open_gpiozero_buttons
    from hw.luma_display import open_luma_display

    opened: list[Any] = []
    try:
        display = open_luma_display(config.display)
        opened.append(display)
        cache = config.terminal.data_dir / "cache" / "escpos"
        printer = open_escpos_printer(config.printer, cache_dir=cache)
        opened.append(printer)
        scanner = open_evdev_scanner(config.scanner)
        opened.append(scanner)
        keypad = open_evdev_keypad(config.keypad)
        opened.append(keypad)
        buttons = open_gpiozero_buttons(config.buttons)
        opened.append(buttons)
        return PiDevice(
            display=display, printer=printer, scanner=scanner, keypad=keypad, buttons=buttons,
            nfc=_open_nfc(config), signals=_open_signals(config),
        )  # fmt: skip
    except BaseException:
        for part in reversed(opened):
            with contextlib.suppress(Exception):
                await part.aclose()
        raise


def _open_nfc(config: Config) -> NfcReader:
    if not config.nfc.path:
        return NoNfc()
    from hw.nfcpy_reader import open_nfcpy_reader

    return open_nfcpy_reader(config.nfc)


def _open_signals(config: Config) -> Signals | None:
    from hw.gpiozero_signals import open_gpiozero_signals

    return open_gpiozero_signals(config.buttons)


async def open_device(config: Config) -> Any:
    """The device ``terminal.hardware`` names: the emulated one, or the Pi's real parts."""
    if config.terminal.hardware == "emulated":
        from hw.emulated import open_emulated_device

        return open_emulated_device(
            display_size=(config.display.width, config.display.height),
            columns=config.printer.columns,
        )
    return await open_pi_device(config)
