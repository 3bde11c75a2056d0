"""The emulated device: every part of the terminal over its library's own fake.

The display is :class:`LumaDisplay` over luma's ``dummy``, the printer :class:`EscposPrinter`
over a python-escpos ``Dummy`` with paper and online switches, the buttons
:class:`GpiozeroButtons` over gpiozero's ``MockFactory``; the keypad, scanner and NFC reader
are fed by hand. It is what the main command runs on a laptop, and what scenario tests drive.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import logging
import re
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from hw.base import KEY_NAMES, ButtonName, ClosesAsync, KeyName
from hw.buttons.gpiozero_buttons import GpiozeroButtons
from hw.display.luma_display import LumaDisplay
from hw.display.render import render_screen
from hw.display.terminal_view import image_to_text
from hw.printer.escpos_printer import EscposPrinter
from hw.printer.escpos_text import ParsedSlip, parse_escpos
from terminal.views.model import Screen

__all__ = [
    "DEFAULT_BUTTON_PINS",
    "EMULATED_PRINTER_PROFILE",
    "EmulatedButtons",
    "EmulatedDevice",
    "EmulatedKeypad",
    "EmulatedNfc",
    "EmulatedPrinterHw",
    "EmulatedScanner",
    "PrintedSlip",
    "make_emulated_printer",
    "open_emulated_device",
]

log = logging.getLogger(__name__)

#: BCM pins of the buttons on the reference wiring (docs/hardware).
DEFAULT_BUTTON_PINS: Mapping[ButtonName, int] = {"retry": 5, "cancel": 6, "force": 13}
#: python-escpos profile of the emulated printer: a 58 mm printer with a cutter, CP866 at
#: ESC t 17, native QR and CODE128 (the POS-58 clones' profiles declare no cutter).
EMULATED_PRINTER_PROFILE = "RP-F10-58mm"

#: How many cut pieces the emulated printer remembers (a long demo must not grow forever).
PRINTED_KEPT = 200

_T = TypeVar("_T")
_HEX_UID = re.compile(r"[0-9a-f]{8,20}")


@dataclass(frozen=True, slots=True)
class PrintedSlip:
    """One piece of paper the emulated printer cut off: its bytes and what they print."""

    raw: bytes
    parsed: ParsedSlip

    @property
    def text(self) -> str:
        """The piece as plain text (see :meth:`ParsedSlip.to_text`)."""
        return self.parsed.to_text()

    @property
    def lines(self) -> tuple[str, ...]:
        """The piece as plain text, one string per printed row."""
        return tuple(self.text.split("\n"))


class EmulatedPrinterHw(Protocol):
    """The emulated python-escpos printer: switches, and what came out of it."""

    paper: bool  # False: the paper sensor reports none, and nothing prints
    online: bool  # False: status says offline and every write fails with OSError
    printed: list[PrintedSlip]

    @property
    def output(self) -> bytes: ...


def make_emulated_printer(*, profile: str = EMULATED_PRINTER_PROFILE) -> EmulatedPrinterHw:
    """A python-escpos printer object that records each cut piece in ``printed``."""
    printer: EmulatedPrinterHw = _emulated_printer_class()(profile=profile)
    return printer


class _End:
    """Marks the end of a feed."""


class _Feed(Generic[_T]):
    """Items handed in by the loop, yielded by an async iterator until closed. Loop-only."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[_T | _End] = asyncio.Queue()
        self.closed = False

    def put(self, item: _T) -> None:
        if self.closed:
            raise RuntimeError("emulated part is closed")
        self._queue.put_nowait(item)

    async def items(self) -> AsyncIterator[_T]:
        while not self.closed or not self._queue.empty():
            item = await self._queue.get()
            if isinstance(item, _End):
                self._queue.put_nowait(item)  # so every other iterator ends too
                return
            yield item

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._queue.put_nowait(_End())


class EmulatedKeypad:
    """The cashier's keypad, typed on by hand; implements :class:`hw.base.Keypad`. Loop-only."""

    def __init__(self) -> None:
        self._feed: _Feed[KeyName] = _Feed()

    def press(self, key: KeyName) -> None:
        """Press ``key``, one of :data:`hw.base.KEY_NAMES`; anything else is a ValueError."""
        if key not in KEY_NAMES:
            raise ValueError(f"no such key: {key!r}; keys are {sorted(KEY_NAMES)}")
        self._feed.put(key)

    def keys(self) -> AsyncIterator[KeyName]:
        """Yield each key pressed until ``aclose()``."""
        return self._feed.items()

    async def aclose(self) -> None:
        """End ``keys()``; safe to call twice."""
        self._feed.close()

    def __repr__(self) -> str:
        return f"<EmulatedKeypad {'closed' if self._feed.closed else 'open'}>"


class EmulatedScanner:
    """The wallet-code scanner, fed by hand; implements :class:`hw.base.Scanner`. Loop-only."""

    def __init__(self) -> None:
        self._feed: _Feed[str] = _Feed()
        self._problems: _Feed[str] = _Feed()
        self.plugged = True

    def scan(self, text: str) -> None:
        """Scan a code showing ``text``; an empty code is a ValueError; unplugged: nothing."""
        if not text:
            raise ValueError("a scanned code cannot be empty")
        if self.plugged:
            self._feed.put(text)

    def unplug(self) -> None:
        """Pull the scanner's cable: scans are lost and the problem is reported."""
        self.plugged = False
        self._problems.put("scanner disconnected")

    def plug(self) -> None:
        """Plug it back in: scans arrive again and the problem clears."""
        self.plugged = True
        self._problems.put("")

    def codes(self) -> AsyncIterator[str]:
        """Yield each code scanned until ``aclose()``."""
        return self._feed.items()

    def problems(self) -> AsyncIterator[str]:
        """Yield each change of the scanner's problem ("" when fixed), as the real one does."""
        return self._problems.items()

    async def aclose(self) -> None:
        """End ``codes()`` and ``problems()``; safe to call twice."""
        self._feed.close()
        self._problems.close()

    def __repr__(self) -> str:
        return f"<EmulatedScanner {'closed' if self._feed.closed else 'open'}>"


class EmulatedNfc:
    """The NFC reader, tapped by hand; implements :class:`hw.base.NfcReader`. Loop-only."""

    def __init__(self) -> None:
        self._feed: _Feed[str] = _Feed()

    def tap(self, uid_hex: str) -> None:
        """Tap a badge with UID ``uid_hex`` (4 to 10 bytes of hex); yielded in lowercase."""
        uid = uid_hex.strip().lower().replace(":", "")
        if not _HEX_UID.fullmatch(uid) or len(uid) % 2:
            raise ValueError(f"not a badge UID (4 to 10 bytes of hex): {uid_hex!r}")
        self._feed.put(uid)

    def taps(self) -> AsyncIterator[str]:
        """Yield each badge's UID until ``aclose()``."""
        return self._feed.items()

    async def aclose(self) -> None:
        """End ``taps()``; safe to call twice."""
        self._feed.close()

    def __repr__(self) -> str:
        return f"<EmulatedNfc {'closed' if self._feed.closed else 'open'}>"


class EmulatedButtons(GpiozeroButtons):
    """:class:`GpiozeroButtons` over its own ``MockFactory``, with ``press()`` to push one.

    Its clock is the real monotonic clock plus the time the emulated finger has held buttons
    down, so ``press()`` holds a button exactly as long as it must (debounce, and the hold
    Force needs) without making anyone wait.
    """

    def __init__(self, pins: Mapping[ButtonName, int] = DEFAULT_BUTTON_PINS) -> None:
        from gpiozero.pins.mock import MockFactory

        self.factory = MockFactory()
        self._held_s = 0.0
        super().__init__(pins, pin_factory=self.factory, pull_up=True, monotonic=self._finger_clock)
        self._pin_numbers = dict(pins)

    def press(self, name: ButtonName) -> None:
        """Press ``name`` for as long as it must be held to count, then release it.

        Its mock pin goes low then high, through gpiozero.
        """
        if name not in self._pin_numbers:
            raise ValueError(f"no such button: {name!r}; buttons are {sorted(self._pin_numbers)}")
        if self.is_closed:
            raise RuntimeError("emulated buttons are closed")
        pin = self.factory.pin(self._pin_numbers[name])
        pin.drive_low()
        self._held_s += self.hold_needed_s(name)
        pin.drive_high()

    def _finger_clock(self) -> float:
        return time.monotonic() + self._held_s

    async def aclose(self) -> None:
        """Close the buttons, then the mock factory; safe to call twice."""
        was_closed = self.is_closed
        await super().aclose()
        if not was_closed:
            self.factory.close()


class EmulatedDevice(ClosesAsync):
    """Every part of an emulated terminal, closed together. Loop-only.

    ``escpos`` is the emulated python-escpos printer with its ``paper`` and ``online``
    switches; ``printed`` lists every piece of paper cut off (a slip with two copies makes
    two pieces).
    """

    def __init__(
        self,
        *,
        display: LumaDisplay,
        printer: EscposPrinter,
        escpos: EmulatedPrinterHw,
        buttons: EmulatedButtons,
        keypad: EmulatedKeypad,
        scanner: EmulatedScanner,
        nfc: EmulatedNfc,
    ) -> None:
        self.display = display
        self.printer = printer
        self.escpos = escpos
        self.buttons = buttons
        self.keypad = keypad
        self.scanner = scanner
        self.nfc = nfc
        self._closed = False

    @property
    def printed(self) -> list[PrintedSlip]:
        """The last :data:`PRINTED_KEPT` pieces of paper printed, oldest first."""
        return self.escpos.printed

    def slip_barcode(self) -> str | None:
        """The barcode on the newest printed piece that has one, as a scanner reads it."""
        for piece in reversed(self.printed):
            if piece.parsed.barcodes:
                return piece.parsed.barcodes[0]
        return None

    @property
    def is_closed(self) -> bool:
        """True once ``aclose()`` ran."""
        return self._closed

    def screen_text(self, *, ansi: bool = False) -> str:
        """The display as half-block text (blank before the first screen)."""
        image = self.display.last_image
        if image is None:
            image = render_screen(Screen(name="blank", title=""), self.display.size)
        return image_to_text(image, ansi=ansi)

    def status(self) -> dict[str, object]:
        """What the self-check shows for each part."""
        printer = self.printer.status()
        return {
            "display": self.display.status(),
            "printer": {"online": printer.online, "paper": printer.paper, "detail": printer.detail},
            "buttons": self.buttons.status(),
            "closed": self._closed,
        }

    async def aclose(self) -> None:
        """Close every part, each on its own so one failure cannot keep another open."""
        if self._closed:
            return
        self._closed = True
        parts = (self.buttons, self.keypad, self.scanner, self.nfc, self.printer, self.display)
        for part in parts:
            try:
                await part.aclose()
            except Exception:  # keep closing the others; the log says which one failed
                log.exception("emulated:close of %r failed", part)

    def __repr__(self) -> str:
        width, height = self.display.size
        state = "closed" if self._closed else "open"
        return f"<EmulatedDevice {width}x{height} display, {len(self.printed)} printed, {state}>"


def open_emulated_device(
    *, display_size: tuple[int, int] = (128, 64), columns: int = 32, native_qr: bool = True
) -> EmulatedDevice:
    """Build the emulated device; use it as ``async with open_emulated_device() as device:``."""
    from luma.core.device import dummy

    width, height = display_size
    escpos = make_emulated_printer()
    return EmulatedDevice(
        display=LumaDisplay(device=dummy(width=width, height=height, mode="1")),
        printer=EscposPrinter(printer=escpos, columns=columns, native_qr=native_qr),
        escpos=escpos,
        buttons=EmulatedButtons(),
        keypad=EmulatedKeypad(),
        scanner=EmulatedScanner(),
        nfc=EmulatedNfc(),
    )


@functools.cache
def _emulated_printer_class() -> Any:
    """The python-escpos ``Dummy`` subclass, made on first use so ``import hw`` stays light."""
    from escpos.printer import Dummy

    class EmulatedEscpos(Dummy):  # type: ignore[misc]
        """python-escpos's Dummy with a paper sensor, an online switch and cut-off pieces."""

        def __init__(self, *, profile: str) -> None:
            super().__init__(profile=profile)
            self.paper = True
            self.online = True
            self.printed: list[PrintedSlip] = []
            self._piece: list[bytes] = []

        def is_online(self) -> bool:
            return bool(self.online)

        def paper_status(self) -> int:
            return 2 if self.paper else 0

        def _raw(self, msg: bytes) -> None:
            if not self.online:
                raise OSError(errno.EIO, "emulated printer is offline")
            if not self.paper:
                return
            super()._raw(msg)
            self._piece.append(msg)
            if msg.startswith(b"\x1dV"):  # python-escpos sends each cut as a write of its own
                raw = b"".join(self._piece)
                self._piece.clear()
                self.clear()  # the paper left the printer: Dummy need not keep its bytes
                self.printed.append(PrintedSlip(raw, parse_escpos(raw)))
                del self.printed[:-PRINTED_KEPT]

        def __repr__(self) -> str:
            state = f"paper={self.paper} online={self.online}"
            return f"<EmulatedEscpos {self.profile.profile_data['name']} {state}>"

    return EmulatedEscpos
