"""Reads an ESC/POS printer's real-time status (``DLE EOT n``) and says what it means.

Three requests are asked in turn, each answered by one byte whose fixed bits are
``0xx1xx10`` (bit 0 clear, bits 1 and 4 set, bit 7 clear):

- ``DLE EOT 1`` printer status: bit 3 set = offline;
- ``DLE EOT 2`` offline cause, asked only when offline: bit 2 cover open, bit 5 printing
  stopped at the paper end, bit 6 an error (cutter jam, head too hot);
- ``DLE EOT 4`` roll paper sensor: bits 2–3 near the end, bits 5–6 paper out.

Bytes without the fixed bits (a stale answer, line noise) are ignored rather than read as
"no paper", which python-escpos's ``paper_status()`` would do.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Any

from hw.base import PrinterStatus

__all__ = [
    "ASK_OFFLINE_CAUSE",
    "ASK_PAPER",
    "ASK_PRINTER",
    "StatusReading",
    "has_read_channel",
    "parse_reading",
    "read_status",
    "status_byte",
]

ASK_PRINTER = b"\x10\x04\x01"
ASK_OFFLINE_CAUSE = b"\x10\x04\x02"
ASK_PAPER = b"\x10\x04\x04"

_FIXED_MASK, _FIXED_BITS = 0x93, 0x12
_OFFLINE = 0x08
_COVER_OPEN, _STOPPED_AT_PAPER_END, _ERROR = 0x04, 0x20, 0x40
_NEAR_END, _PAPER_OUT = 0x0C, 0x60


@dataclass(frozen=True, slots=True)
class StatusReading:
    """What one round of status requests found; ``answered`` False when the printer was silent."""

    answered: bool
    online: bool = True
    cover_open: bool = False
    paper_out: bool = False
    paper_near_end: bool = False
    error: bool = False

    def to_status(self) -> PrinterStatus:
        """The reading as the terminal's :class:`PrinterStatus` (paper False = cannot print)."""
        if not self.answered:
            return PrinterStatus(True, True, "printer does not report its status")
        if self.cover_open:
            return PrinterStatus(self.online, False, "cover open")
        if self.paper_out:
            return PrinterStatus(self.online, False, "out of paper")
        if self.error:
            return PrinterStatus(False, True, "printer error: cutter jammed or head too hot")
        if not self.online:
            return PrinterStatus(False, True, "offline")
        return PrinterStatus(True, True, "paper low" if self.paper_near_end else "ready")


def status_byte(answer: bytes) -> int | None:
    """The last byte of ``answer`` that has the status fixed bits, or None."""
    for byte in reversed(answer):
        if byte & _FIXED_MASK == _FIXED_BITS:
            return byte
    return None


def parse_reading(printer: int | None, cause: int | None, paper: int | None) -> StatusReading:
    """A :class:`StatusReading` from the answers to ``DLE EOT`` 1, 2 and 4 (None: no answer)."""
    if printer is None:
        return StatusReading(answered=False)
    cause = cause or 0
    paper = paper or 0
    return StatusReading(
        answered=True,
        online=not printer & _OFFLINE,
        cover_open=bool(cause & _COVER_OPEN),
        paper_out=bool(cause & _STOPPED_AT_PAPER_END or paper & _PAPER_OUT),
        paper_near_end=bool(paper & _NEAR_END),
        error=bool(cause & _ERROR),
    )


def has_read_channel(printer: Any) -> bool:
    """True when ``printer`` (a python-escpos object) can read answers back (USB, serial, TCP)."""
    from escpos.escpos import Escpos

    return type(printer)._read is not Escpos._read


def read_status(printer: Any) -> StatusReading:
    """Ask ``printer`` (blocking) for its status.

    A printer object without a read channel that has ``is_online()`` / ``paper_status()``
    of its own is asked through them; one with neither is not asked (not answered). Raises
    ``OSError`` (or python-escpos's errors) when the connection fails; a read that times out
    counts as no answer.
    """
    from escpos.escpos import Escpos

    if not has_read_channel(printer):
        if type(printer).is_online is Escpos.is_online:
            return StatusReading(answered=False)
        return _read_through_library(printer)
    online = _ask(printer, ASK_PRINTER)
    if online is None:
        return StatusReading(answered=False)
    cause = _ask(printer, ASK_OFFLINE_CAUSE) if online & _OFFLINE else None
    return parse_reading(online, cause, _ask(printer, ASK_PAPER))


def _ask(printer: Any, request: bytes) -> int | None:
    try:
        answer = printer.query_status(request)
    except OSError as exc:  # socket.timeout, usb.core.USBTimeoutError, serial timeouts
        if isinstance(exc, TimeoutError) or exc.errno == errno.ETIMEDOUT:
            return None
        raise
    return status_byte(bytes(answer or b""))


def _read_through_library(printer: Any) -> StatusReading:
    try:
        online = bool(printer.is_online())
        level = int(printer.paper_status()) if online else 2
    except NotImplementedError:
        return StatusReading(answered=False)
    # python-escpos paper_status(): 2 plenty, 1 near the end, 0 none.
    return StatusReading(
        answered=True, online=online, paper_out=level == 0, paper_near_end=level == 1
    )
