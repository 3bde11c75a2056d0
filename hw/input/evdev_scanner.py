"""The USB barcode scanner over evdev: scan bursts decoded in the configured layout.

The device handling (choice, grab, replug, problems) is :class:`hw.input.evdev_part.EvdevPart`;
the decoding is :class:`hw.input.scan_decoder.ScanDecoder`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from hw.base import BrokenScan
from hw.errors import ScannerError
from hw.input.evdev_devices import EventDevice
from hw.input.evdev_part import DEVICE_LOST, REPLUG_POLL_S, EvdevPart
from hw.input.keymaps import LAYOUTS, Layout, key_label
from hw.input.scan_decoder import ScanDecoder, ScanRejected

if TYPE_CHECKING:
    from terminal.clock import Clock
    from terminal.config.model import ScannerConfig

__all__ = ["EvdevScanner", "open_evdev_scanner"]

log = logging.getLogger("payterm.hw.input")


class EvdevScanner(EvdevPart):
    """A USB HID barcode scanner in keyboard mode; implements :class:`hw.base.Scanner`.

    Each burst of keys ended by Enter/Tab is decoded in ``layout`` with the scanner's Shift
    state and yielded by ``codes()``. A burst that arrived broken (events dropped by the
    kernel, a gap or a held key mid-burst, typing slower than ``inter_key_timeout_s``, an
    unplug) is discarded whole and yielded as one :class:`hw.base.BrokenScan`; a scan
    longer than ``max_length`` or with a key that types nothing printable is logged,
    reported as a problem and dropped. Never raises while reading. Loop-only.
    """

    part = "scanner"
    error = ScannerError

    def __init__(
        self,
        device: str,
        *,
        layout: Layout = "us",
        inter_key_timeout_s: float = 0.05,
        max_length: int = 128,
        grab: bool = True,
        input_device: EventDevice | None = None,
        open_device: Callable[[], EventDevice] | None = None,
        clock: Clock | None = None,
        poll_interval_s: float = REPLUG_POLL_S,
    ) -> None:
        if layout not in LAYOUTS:
            raise ScannerError(f"scanner.layout {layout!r}: layouts are {sorted(LAYOUTS)}")
        super().__init__(
            device,
            grab=grab,
            input_device=input_device,
            open_device=open_device,
            clock=clock,
            poll_interval_s=poll_interval_s,
        )
        self._decoder = ScanDecoder(
            layout,
            inter_key_timeout_s=inter_key_timeout_s,
            max_length=max_length,
            key_name=_evdev_key_name,
        )
        self._scanned = 0
        self._rejected = 0
        self._broken = 0

    def codes(self) -> AsyncIterator[str | BrokenScan]:
        """Yield each complete scan's text, and each broken scan, until ``aclose()``.

        One reader at a time.
        """
        return self._codes()

    def status(self) -> dict[str, object]:
        """The part's status plus the layout and the count of codes read, rejected, broken."""
        return super().status() | {
            "layout": self._decoder.layout,
            "scanned": self._scanned,
            "rejected": self._rejected,
            "broken": self._broken,
        }

    async def _codes(self) -> AsyncIterator[str | BrokenScan]:
        decoder = self._decoder
        async for event in self._events():
            if event is DEVICE_LOST:
                result: str | ScanRejected | BrokenScan | None = decoder.interrupt(
                    "the scanner disconnected"
                )
            else:
                result = decoder.feed(event)
                if decoder.wants_keys:
                    decoder.resync(self._held_keys())
            if isinstance(result, BrokenScan):
                self._broken += 1
                yield result
            elif isinstance(result, ScanRejected):
                self._rejected += 1
                self._set_problem(f"scan rejected: {result.reason}")
            elif result is not None:
                self._scanned += 1
                if self._problem.startswith("scan rejected"):
                    self._set_problem("")
                log.info("scanner:code of %d characters", len(result))
                yield result


def open_evdev_scanner(
    cfg: ScannerConfig,
    *,
    device: EventDevice | None = None,
    open_device: Callable[[], EventDevice] | None = None,
    clock: Clock | None = None,
) -> EvdevScanner:
    """The scanner ``[scanner]`` describes, connected now if it is there.

    A scanner that is not there (yet) is no error: it is reported as a problem and picked
    up when plugged in. A malformed ``device`` or ``layout`` raises :class:`ScannerError`.
    """
    scanner = EvdevScanner(
        cfg.device,
        layout=cfg.layout,
        inter_key_timeout_s=cfg.inter_key_timeout_s,
        max_length=cfg.max_length,
        grab=cfg.grab,
        input_device=device,
        open_device=open_device,
        clock=clock,
    )
    scanner.try_connect()
    return scanner


def _evdev_key_name(code: int) -> str:
    from evdev import ecodes

    name = ecodes.KEY.get(code)
    if isinstance(name, list | tuple):
        name = name[0]
    return str(name) if name else key_label(code)
