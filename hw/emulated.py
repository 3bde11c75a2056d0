"""The emulated device: every part of the terminal over its library's own fake.

Built from the same ``Config`` as the Pi's parts, through the same factories wherever they
take a fake: the display is luma.oled's own driver for ``[display]`` over luma's ``noop``
interface (size, driver, rotation and contrast checked and applied as on the Pi), the printer
:class:`EscposPrinter` from ``open_escpos_printer`` over a python-escpos ``Dummy`` with paper
and online switches, the buttons :class:`GpiozeroButtons` and the LED and buzzer over
gpiozero's ``MockFactory`` on the configured pins. The keypad, scanner and NFC reader are fed
by hand. Which ``[...]`` keys have no emulated meaning is listed in docs/hardware/emulated.md.
It is what the demo and the doctor run on a laptop, and what scenario tests drive.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import logging
import re
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Generic, Literal, Protocol, TypeVar, cast

from hw.base import KEY_NAMES, ButtonName, ClosesAsync, KeyName, Printer, Signals
from hw.buttons.gpiozero_buttons import GpiozeroButtons
from hw.display.luma_display import PANEL_SIZES, LumaDisplay, open_luma_display
from hw.display.luma_wiring import Wiring
from hw.display.render import render_screen
from hw.display.terminal_view import image_to_text
from hw.printer.escpos_printer import NoPrinter, open_escpos_printer
from hw.printer.escpos_slip import DOTS_PER_COLUMN
from hw.printer.escpos_text import ParsedSlip, parse_escpos
from terminal.config.model import ButtonsConfig, Config, NfcConfig, PrinterConfig, ScannerConfig
from terminal.views.model import Screen

__all__ = [
    "DEFAULT_BUTTON_PINS",
    "EMULATED_PRINTER_PROFILE",
    "EMULATED_PRINTER_PROFILE_80MM",
    "EmulatedButtons",
    "EmulatedDevice",
    "EmulatedKeypad",
    "EmulatedNfc",
    "EmulatedPrinterHw",
    "EmulatedScanner",
    "NoNfcReader",
    "PrintedSlip",
    "emulated_printer_profile",
    "make_emulated_printer",
    "open_emulated_device",
]

log = logging.getLogger(__name__)

#: BCM pins of the buttons on the reference wiring (docs/hardware/buttons.md): the
#: ``[buttons]`` defaults.
_BUTTONS = ButtonsConfig()
DEFAULT_BUTTON_PINS: Mapping[ButtonName, int] = {
    "retry": _BUTTONS.retry_pin,
    "cancel": _BUTTONS.cancel_pin,
    "force": _BUTTONS.force_pin,
}
#: python-escpos profile of the emulated printer: a 58 mm printer with a cutter, CP866 at
#: ESC t 17, native QR and CODE128 (the POS-58 clones' profiles declare no cutter).
EMULATED_PRINTER_PROFILE = "RP-F10-58mm"
#: The same printer for 80 mm paper (576 dots: 48 columns).
EMULATED_PRINTER_PROFILE_80MM = "RP-F10-80mm"
#: Dots across the emulated 58 mm printer's paper.
_DOTS_58MM = 432

#: How many cut pieces the emulated printer remembers (a long demo must not grow forever).
PRINTED_KEPT = 200

_T = TypeVar("_T")
DriverName = Literal["ssd1306", "sh1106", "ssd1309", "sh1107"]
#: The device with no config: every default, and an NFC reader fitted.
_EVERY_PART = Config(nfc=NfcConfig(path="usb"))
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


def make_emulated_printer(
    *, profile: str = EMULATED_PRINTER_PROFILE, code_page: str = "CP866"
) -> EmulatedPrinterHw:
    """A python-escpos printer object that records each cut piece in ``printed``.

    ``code_page`` is the one the slips are sent in; the pieces are read back in it.
    """
    printer: EmulatedPrinterHw = _emulated_printer_class()(profile=profile, code_page=code_page)
    return printer


def emulated_printer_profile(cfg: PrinterConfig) -> str:
    """The python-escpos profile the emulated printer for ``cfg`` has.

    A named ``printer.profile`` is used as it is; ``"default"`` (python-escpos's generic
    profile) becomes the emulated 58 mm printer, or its 80 mm model when ``printer.columns``
    do not fit on 58 mm paper.
    """
    if cfg.profile != "default":
        return cfg.profile
    if cfg.columns * DOTS_PER_COLUMN > _DOTS_58MM:
        return EMULATED_PRINTER_PROFILE_80MM
    return EMULATED_PRINTER_PROFILE


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
    """The wallet-code scanner, fed by hand; implements :class:`hw.base.Scanner`. Loop-only.

    Like the evdev scanner, a code longer than ``max_length`` (``scanner.max_length``) is
    rejected: logged, reported as the problem "scan rejected: too long …" and dropped; the
    next good scan clears the problem.
    """

    def __init__(self, *, max_length: int = ScannerConfig().max_length) -> None:
        self._feed: _Feed[str] = _Feed()
        self._problems: _Feed[str] = _Feed()
        self.max_length = max_length
        self.plugged = True
        self._rejecting = False

    def scan(self, text: str) -> None:
        """Scan a code showing ``text``; an empty code is a ValueError; unplugged: nothing."""
        if not text:
            raise ValueError("a scanned code cannot be empty")
        if not self.plugged:
            return
        if len(text) > self.max_length:
            reason = f"too long ({len(text)} characters, max {self.max_length})"
            log.warning("scanner:scan of %d keys rejected: %s", len(text), reason)
            self._rejecting = True
            self._problems.put(f"scan rejected: {reason}")
            return
        if self._rejecting:
            self._rejecting = False
            self._problems.put("")
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


class NoNfcReader(EmulatedNfc):
    """The emulated terminal's NFC reader when ``nfc.path`` is empty: there is none.

    As on a Pi with no reader, no badge is ever read; a tap says why instead of vanishing.
    """

    def tap(self, uid_hex: str) -> None:
        """Refuse the tap: this terminal has no NFC reader."""
        raise ValueError('no NFC reader on this terminal: nfc.path is empty (set e.g. "usb")')

    def __repr__(self) -> str:
        return "<NoNfcReader>"


class EmulatedButtons(GpiozeroButtons):
    """:class:`GpiozeroButtons` over its own ``MockFactory``, with ``press()`` to push one.

    Its clock is the real monotonic clock plus the time the emulated finger has held buttons
    down, so ``press()`` holds a button exactly as long as it must (debounce, and the hold
    Force needs) without making anyone wait.
    """

    def __init__(
        self,
        pins: Mapping[ButtonName, int] = DEFAULT_BUTTON_PINS,
        *,
        pull_up: bool = _BUTTONS.pull_up,
        debounce_s: float = _BUTTONS.debounce_s,
        force_hold_s: float = _BUTTONS.force_hold_s,
        factory: Any = None,
    ) -> None:
        from gpiozero.pins.mock import MockFactory

        self.factory = factory if factory is not None else MockFactory()
        self._owns_factory = factory is None
        self._held_s = 0.0
        self._pull_up = pull_up
        super().__init__(
            pins, pin_factory=self.factory, pull_up=pull_up, debounce_s=debounce_s,
            force_hold_s=force_hold_s, monotonic=self._finger_clock,
        )  # fmt: skip
        self._pin_numbers = dict(pins)

    @classmethod
    def from_config(cls, cfg: ButtonsConfig, *, factory: Any = None) -> EmulatedButtons:
        """The buttons ``[buttons]`` describes: its pins, pull-up, debounce and Force hold."""
        pins: dict[ButtonName, int] = {
            "retry": cfg.retry_pin, "cancel": cfg.cancel_pin, "force": cfg.force_pin,
        }  # fmt: skip
        return cls(
            pins, pull_up=cfg.pull_up, debounce_s=cfg.debounce_s,
            force_hold_s=cfg.force_hold_s, factory=factory,
        )  # fmt: skip

    def press(self, name: ButtonName) -> None:
        """Press ``name`` for as long as it must be held to count, then release it.

        Its mock pin goes to ground and back (with ``pull_up``; high and back without),
        through gpiozero.
        """
        if name not in self._pin_numbers:
            raise ValueError(f"no such button: {name!r}; buttons are {sorted(self._pin_numbers)}")
        if self.is_closed:
            raise RuntimeError("emulated buttons are closed")
        pin = self.factory.pin(self._pin_numbers[name])
        down, up = (
            (pin.drive_low, pin.drive_high) if self._pull_up else (pin.drive_high, pin.drive_low)
        )
        down()
        self._held_s += self.hold_needed_s(name)
        up()

    def _finger_clock(self) -> float:
        return time.monotonic() + self._held_s

    async def aclose(self) -> None:
        """Close the buttons, then the mock factory; safe to call twice."""
        was_closed = self.is_closed
        await super().aclose()
        if not was_closed and self._owns_factory:
            self.factory.close()


class EmulatedDevice(ClosesAsync):
    """Every part of an emulated terminal, closed together. Loop-only.

    ``escpos`` is the emulated python-escpos printer with its ``paper`` and ``online``
    switches (None when ``printer.connection = "none"``: no printer); ``printed`` lists
    every piece of paper cut off (a slip with two copies makes two pieces). ``signals`` is
    the LED and buzzer on the same mock pins as the buttons, None when neither is fitted.
    """

    def __init__(
        self,
        *,
        display: LumaDisplay,
        printer: Printer,
        escpos: EmulatedPrinterHw | None,
        buttons: EmulatedButtons,
        keypad: EmulatedKeypad,
        scanner: EmulatedScanner,
        nfc: EmulatedNfc,
        signals: Signals | None = None,
    ) -> None:
        self.display = display
        self.printer = printer
        self.escpos = escpos
        self.buttons = buttons
        self.keypad = keypad
        self.scanner = scanner
        self.nfc = nfc
        self.signals = signals
        self._closed = False

    @property
    def printed(self) -> list[PrintedSlip]:
        """The last :data:`PRINTED_KEPT` pieces of paper printed, oldest first."""
        return self.escpos.printed if self.escpos is not None else []

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
            "signals": getattr(self.signals, "status", dict)() if self.signals else None,
            "closed": self._closed,
        }

    async def aclose(self) -> None:
        """Close every part, each on its own so one failure cannot keep another open."""
        if self._closed:
            return
        self._closed = True
        parts: list[Any] = [self.signals, self.buttons, self.keypad, self.scanner, self.nfc]
        parts += [self.printer, self.display]
        for part in (part for part in parts if part is not None):
            try:
                await part.aclose()
            except Exception:  # keep closing the others; the log says which one failed
                log.exception("emulated:close of %r failed", part)

    def __repr__(self) -> str:
        width, height = self.display.size
        state = "closed" if self._closed else "open"
        return f"<EmulatedDevice {width}x{height} display, {len(self.printed)} printed, {state}>"


def open_emulated_device(
    config: Config | None = None,
    *,
    display_size: tuple[int, int] | None = None,
    columns: int | None = None,
    native_qr: bool | None = None,
) -> EmulatedDevice:
    """The emulated device ``config`` describes (None: the defaults, with an NFC reader).

    Use it as ``async with open_emulated_device(config) as device:``. ``display_size``,
    ``columns`` and ``native_qr`` override ``[display]`` width and height, and
    ``printer.columns`` and ``printer.native_qr``, for tests and pictures.

    :raises HardwareError: a setting the Pi's part would refuse too (a driver that cannot
        drive that panel size, a printer profile without the code page).
    """
    config = _with_overrides(config or _EVERY_PART, display_size, columns, native_qr)
    opened: list[Any] = []
    try:
        display = _emulated_display(config)
        opened.append(display)
        printer, escpos = _emulated_printer(config.printer)
        opened.append(printer)
        buttons = EmulatedButtons.from_config(config.buttons)
        opened.append(buttons)
        signals = _emulated_signals(config.buttons, buttons.factory)
    except BaseException:
        for part in reversed(opened):
            _close_now(part)
        raise
    return EmulatedDevice(
        display=display, printer=printer, escpos=escpos, buttons=buttons,
        keypad=EmulatedKeypad(), scanner=EmulatedScanner(max_length=config.scanner.max_length),
        nfc=_emulated_nfc(config.nfc), signals=signals,
    )  # fmt: skip


def _with_overrides(
    config: Config, size: tuple[int, int] | None, columns: int | None, native_qr: bool | None
) -> Config:
    display, printer = config.display, config.printer
    if size is not None:
        display = replace(display, width=size[0], height=size[1])
        if size not in PANEL_SIZES[display.driver]:  # a driver that drives a panel that size
            driver = next(name for name, sizes in PANEL_SIZES.items() if size in sizes)
            display = replace(display, driver=cast(DriverName, driver))
    if columns is not None:
        printer = replace(printer, columns=columns)
    if native_qr is not None:
        printer = replace(printer, native_qr=native_qr)
    return replace(config, display=display, printer=printer)


def _emulated_display(config: Config) -> LumaDisplay:
    """luma.oled's driver for ``[display]`` over luma's ``noop`` bus: what the Pi draws."""
    from luma.core.interface.serial import noop

    cfg = config.display
    wiring = Wiring("emulated", f"emulated {cfg.driver} on {Wiring.of(cfg).where}")
    return open_luma_display(cfg, serial_interface=noop(), wiring=wiring)


def _emulated_printer(cfg: PrinterConfig) -> tuple[Printer, EmulatedPrinterHw | None]:
    """The printer ``open_escpos_printer`` makes for ``cfg``, over the emulated ``Dummy``."""
    if cfg.connection == "none":
        return NoPrinter(), None
    escpos = make_emulated_printer(profile=emulated_printer_profile(cfg), code_page=cfg.code_page)
    return open_escpos_printer(cfg, printer=escpos), escpos


def _emulated_signals(cfg: ButtonsConfig, factory: Any) -> Signals | None:
    from hw.buttons.gpiozero_signals import open_gpiozero_signals

    return open_gpiozero_signals(cfg, pin_factory=factory)


def _emulated_nfc(cfg: NfcConfig) -> EmulatedNfc:
    return EmulatedNfc() if cfg.path else NoNfcReader()


def _close_now(part: Any) -> None:
    """Close a part made before a later one failed (no loop may be running yet)."""
    closer = part.aclose()
    try:
        closer.send(None)
    except StopIteration:
        return
    except Exception:  # keep closing the others; the log says which one failed
        log.exception("emulated:close of %r failed", part)
        return
    closer.close()


@functools.cache
def _emulated_printer_class() -> Any:
    """The python-escpos ``Dummy`` subclass, made on first use so ``import hw`` stays light."""
    from escpos.printer import Dummy

    class EmulatedEscpos(Dummy):  # type: ignore[misc]
        """python-escpos's Dummy with a paper sensor, an online switch and cut-off pieces."""

        def __init__(self, *, profile: str, code_page: str) -> None:
            super().__init__(profile=profile)
            self._encoding = code_page.lower()
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
                self.printed.append(PrintedSlip(raw, parse_escpos(raw, encoding=self._encoding)))
                del self.printed[:-PRINTED_KEPT]

        def __repr__(self) -> str:
            state = f"paper={self.paper} online={self.online}"
            return f"<EmulatedEscpos {self.profile.profile_data['name']} {state}>"

    return EmulatedEscpos
