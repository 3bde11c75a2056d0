"""The slip printer backend over python-escpos (USB, serial, network printers or its Dummy)."""

from __future__ import annotations

import asyncio
import codecs
import logging
import textwrap
from typing import Any

from PIL import Image

from hw.base import ClosesAsync, PrinterStatus
from hw.errors import PaperOut, PrinterError, PrinterOffline
from terminal.views.model import Slip, SlipLine

__all__ = ["EscposPrinter", "printable_text"]

log = logging.getLogger(__name__)

#: Characters the usual Cyrillic code pages lack, and what is printed instead.
SUBSTITUTES = {
    "₽": "руб.",
    "—": "-",
    "–": "-",
    "«": '"',
    "»": '"',
    "“": '"',
    "”": '"',
    "„": '"',
    "‘": "'",
    "’": "'",
    "…": "...",
    "\u00a0": " ",
    "\u202f": " ",
    "×": "x",
}
DOTS_PER_COLUMN = 12  # font A is 12 dots wide: 32 columns on 58 mm paper, 48 on 80 mm
QR_SHARE_OF_WIDTH = 0.6  # a slip QR this wide scans from arm's length without filling the slip
QR_DOT_SIZES = range(3, 9)  # GS ( k module sizes that print crisply on 203 dpi heads
QR_QUIET_MODULES = 4  # image QR: the standard quiet zone (the native one adds its own)
BARCODE_MODULE_DOTS = 2  # the narrowest bar python-escpos allows
BARCODE_HEIGHT_DOTS = 64


def printable_text(text: str, encoding: str = "cp866") -> str:
    """``text`` with characters ``encoding`` lacks replaced (``₽`` → ``руб.``) or by ``?``."""
    out = []
    for char in text:
        char = SUBSTITUTES.get(char, char)
        try:
            char.encode(encoding)
        except UnicodeEncodeError:
            char = "?"
        out.append(char)
    return "".join(out)


class EscposPrinter(ClosesAsync):
    """Prints :class:`Slip` s on an ESC/POS printer; implements :class:`hw.base.Printer`.

    ``printer`` is a python-escpos printer object (``escpos.printer.Usb(...)``, ``Serial``,
    ``Network``; ``Dummy`` or the emulated printer in tests). Text is sent in ``code_page``
    (CP866 by default, selected with ``ESC t`` at the start of every copy, page 17 in the
    Epson numbering the cheap printers follow); characters it lacks go through
    :func:`printable_text`. Lines wider than ``columns`` are word-wrapped. The QR prints with
    the printer's own ``GS ( k`` when ``native_qr``, else as a raster image. When
    ``check_status`` is set, the printer's online and paper sensors are read before every copy
    (``is_online()`` / ``paper_status()``, ``DLE EOT``); turn it off for printers that do not
    answer status requests.

    Loop-only. ``print_slip()`` runs the blocking I/O in a worker thread, one slip at a time.
    """

    def __init__(
        self,
        *,
        printer: Any,
        columns: int = 32,
        native_qr: bool = True,
        code_page: str = "CP866",
        check_status: bool = True,
    ) -> None:
        from escpos import exceptions

        self._printer = printer
        self._columns = columns
        self._native_qr = native_qr
        self._code_page = code_page
        self._encoding = codecs.lookup(code_page.lower()).name
        self._check_status = check_status
        # OSError covers usb.core.USBError and serial.SerialException, which derive from it.
        self._offline_errors: tuple[type[Exception], ...] = (
            exceptions.DeviceNotFoundError,
            OSError,
        )
        self._errors: tuple[type[Exception], ...] = (exceptions.Error, ValueError)
        self._lock = asyncio.Lock()
        self._status = PrinterStatus(online=True, paper=True, detail="not checked yet")
        self._closed = False
        try:
            printer.magic.encoder.get_encoding_name(code_page)
        except ValueError as exc:
            raise PrinterError(f"profile has no {code_page}", device=self._name) from exc

    @property
    def is_closed(self) -> bool:
        """True once ``aclose()`` ran."""
        return self._closed

    async def print_slip(self, slip: Slip) -> None:
        """Print every copy of ``slip``, each ending with a cut.

        :raises PrinterOffline: closed, unreachable, or the connection failed while printing.
        :raises PaperOut: the paper sensor reports no paper (nothing of that copy is sent).
        :raises PrinterError: the printer or python-escpos refused a command.
        """
        if self._closed:
            raise PrinterOffline("printer is closed", device=self._name)
        async with self._lock:
            await asyncio.to_thread(self._print_blocking, slip)

    def status(self) -> PrinterStatus:
        """What the printer said at the last check or print; never blocks."""
        return self._status

    async def aquery_status(self) -> PrinterStatus:
        """Ask the printer now (in a worker thread) and return what it says."""
        async with self._lock:
            return await asyncio.to_thread(self._query_blocking)

    async def aclose(self) -> None:
        """Close the printer's connection; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            self._printer.close()
        except (*self._offline_errors, *self._errors) as exc:
            log.warning("printer:close failed on %s: %r", self._name, exc)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        qr = "native QR" if self._native_qr else "image QR"
        return f"<EscposPrinter {self._name} {self._columns} cols {self._code_page} {qr} {state}>"

    # --- worker thread ----------------------------------------------------------------------
    # Everything below runs in asyncio.to_thread; it only assigns self._status (an immutable
    # value), which status() reads from the loop.

    def _print_blocking(self, slip: Slip) -> None:
        for _copy in range(slip.copies):
            self._ensure_ready()
            try:
                self._print_copy(slip)
            except self._offline_errors as exc:
                self._status = PrinterStatus(False, self._status.paper, f"lost: {exc!r}")
                raise PrinterOffline(f"connection lost: {exc!r}", device=self._name) from exc
            except self._errors as exc:
                raise PrinterError(f"printing failed: {exc!r}", device=self._name) from exc

    def _ensure_ready(self) -> None:
        if not self._check_status:
            return
        status = self._query_blocking()
        if not status.online:
            raise PrinterOffline(status.detail or "offline", device=self._name)
        if not status.paper:
            raise PaperOut(status.detail or "out of paper", device=self._name)

    def _query_blocking(self) -> PrinterStatus:
        try:
            online = bool(self._printer.is_online())
            paper_level = int(self._printer.paper_status()) if online else 2
        except NotImplementedError:
            self._status = PrinterStatus(True, True, "printer cannot report its status")
        except self._offline_errors as exc:
            self._status = PrinterStatus(False, self._status.paper, f"unreachable: {exc!r}")
        else:
            self._status = _status_from(online, paper_level)
        return self._status

    def _print_copy(self, slip: Slip) -> None:
        printer = self._printer
        printer.hw("INIT")  # ESC @: every copy starts from the printer's defaults
        # python-escpos sends ESC t only when it believes the page changes; ESC @ (or a power
        # cycle) put the printer back on its default page, so make it send ESC t again.
        printer.magic.encoding = None
        printer.charcode(self._code_page)
        for line in slip.lines:
            self._print_line(line)
        if slip.qr:
            self._print_qr(slip.qr)
        if slip.barcode:
            self._print_barcode(slip.barcode)
        printer.set(align="left", bold=False, normal_textsize=True)
        printer.cut()

    def _print_line(self, line: SlipLine) -> None:
        self._printer.set(
            align=line.align,
            bold=line.bold,
            normal_textsize=not line.large,
            double_width=line.large,
            double_height=line.large,
        )
        width = self._columns // 2 if line.large else self._columns
        text = printable_text(line.text, self._encoding)
        parts = [text] if len(text) <= width else textwrap.wrap(text, width)
        for part in parts:
            self._printer.textln(part)

    def _print_qr(self, payload: str) -> None:
        from escpos.constants import QR_ECLEVEL_M

        printer = self._printer
        printer.set(align="center", bold=False, normal_textsize=True)
        dot_size = self._qr_dot_size(payload)
        if self._native_qr:
            # NOTE: python-escpos refuses center=True for native QR; ESC a (above) centres it.
            printer.qr(payload, ec=QR_ECLEVEL_M, size=dot_size, native=True)
        else:
            printer.image(_qr_image(payload, dot_size), impl="bitImageRaster")
        printer.ln()

    def _qr_dot_size(self, payload: str) -> int:
        import segno

        qr = segno.make(payload, error="m", micro=False)
        modules = int(qr.symbol_size(scale=1, border=0)[0])
        target = int(self._columns * DOTS_PER_COLUMN * QR_SHARE_OF_WIDTH) // modules
        return max(QR_DOT_SIZES.start, min(QR_DOT_SIZES.stop - 1, target))

    def _print_barcode(self, code: str) -> None:
        data = _code128_data(code)
        if data is None:
            log.warning("printer:barcode %r is not printable CODE128; text only", code)
            return
        if _code128_modules(data) * BARCODE_MODULE_DOTS > self._columns * DOTS_PER_COLUMN:
            log.warning("printer:barcode %r is wider than the paper; text only", code)
            return
        # NOTE: _hw_barcode is what the public barcode() calls once it has picked the
        # renderer; barcode() itself also print()s that choice to stdout on every slip.
        self._printer._hw_barcode(
            data,
            "CODE128",
            height=BARCODE_HEIGHT_DOTS,
            width=BARCODE_MODULE_DOTS,
            pos="BELOW",
            font="A",
            align_ct=True,
            function_type="B",
        )
        self._printer.ln()

    @property
    def _name(self) -> str:
        return f"escpos:{type(self._printer).__name__}"


def _status_from(online: bool, paper_level: int) -> PrinterStatus:
    """python-escpos ``paper_status()``: 2 plenty, 1 near the end, 0 none."""
    if not online:
        return PrinterStatus(False, True, "offline")
    if paper_level == 0:
        return PrinterStatus(True, False, "out of paper")
    return PrinterStatus(True, True, "paper low" if paper_level == 1 else "ready")


def _code128_data(code: str) -> str | None:
    """``code`` with its CODE128 code-set prefix: set C for even-length digits, else set B."""
    if not code or len(code) > 250 or not all(" " <= c <= "~" and c != "{" for c in code):
        return None
    if code.isdigit() and len(code) % 2 == 0:
        # Set C packs two digits per symbol, each pair sent as one byte 0..99.
        return "{C" + "".join(chr(int(code[i : i + 2])) for i in range(0, len(code), 2))
    return "{B" + code


def _code128_modules(data: str) -> int:
    """Width in modules: start, symbols and check 11 each, stop 13 (margins are quiet zones)."""
    symbols = len(data) - 2  # the "{B" / "{C" prefix selects the set, it is no symbol
    return 11 * (symbols + 2) + 13


def _qr_image(payload: str, dot_size: int) -> Image.Image:
    """The QR as a picture to print: black modules on white with the standard quiet zone."""
    import segno

    qr = segno.make(payload, error="m", micro=False)
    side = int(qr.symbol_size(scale=dot_size, border=QR_QUIET_MODULES)[0])
    image = Image.new("1", (side, side), 1)
    pixels = image.load()
    assert pixels is not None
    for y, row in enumerate(qr.matrix_iter(scale=dot_size, border=QR_QUIET_MODULES)):
        for x, dark in enumerate(row):
            if dark:
                pixels[x, y] = 0
    return image
