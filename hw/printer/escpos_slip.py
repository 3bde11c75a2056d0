"""How a slip becomes python-escpos calls: text in the printer's code page, the QR, the barcode.

:class:`SlipWriter` writes one copy of a :class:`Slip` on a python-escpos printer object,
using what its profile supports (``GS ( k`` QR, ``GS k`` barcodes, raster images) and
drawing the rest as images; :func:`printable_text` replaces the characters a code page lacks.
"""

from __future__ import annotations

import codecs
import logging
import textwrap
from typing import Any

from PIL import Image

from hw.printer.code128 import code128_bars, code128_data, code128_modules
from terminal.views.model import Slip, SlipLine

__all__ = ["DOTS_PER_COLUMN", "SUBSTITUTES", "SlipWriter", "printable_text"]

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
BARCODE_MODULE_DOTS = 2  # the narrowest bar python-escpos allows (0.25 mm at 203 dpi)
BARCODE_HEIGHT_DOTS = 64
BARCODE_QUIET_MODULES = 10  # CODE128 needs 10 blank modules each side to scan


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


class SlipWriter:
    """Writes copies of slips on one python-escpos printer object, as its profile allows.

    Text is sent in ``code_page`` (selected with ``ESC t`` at the start of every copy);
    characters it lacks go through :func:`printable_text`. Lines wider than ``columns`` are
    word-wrapped. The QR prints with the printer's own ``GS ( k`` when ``native_qr`` and the
    profile has it, else as a raster image; the barcode with ``GS k`` when the profile has
    it, else as an image. Blocking: python-escpos writes as it is called.
    """

    def __init__(self, printer: Any, *, columns: int, native_qr: bool, code_page: str) -> None:
        self._printer = printer
        self.columns = columns
        self.native_qr = native_qr and bool(printer.profile.supports("qrCode"))
        self._barcode_command = bool(printer.profile.supports("barcodeB"))
        raster = printer.profile.supports("bitImageRaster")
        self._image_impl = "bitImageRaster" if raster else "bitImageColumn"
        self.code_page = code_page
        self._encoding = codecs.lookup(code_page.lower()).name

    def write_copy(self, slip: Slip) -> None:
        """Send one copy of ``slip``, from ``ESC @`` to the cut; python-escpos errors propagate."""
        printer = self._printer
        printer.hw("INIT")  # ESC @: every copy starts from the printer's defaults
        # python-escpos sends ESC t only when it believes the page changes; ESC @ (or a power
        # cycle) put the printer back on its default page, so make it send ESC t again.
        printer.magic.encoding = None
        printer.charcode(self.code_page)
        if slip.mark:
            self._print_mark(slip.mark)
        for line in slip.lines:
            self._print_line(line)
        if slip.qr:
            self._print_qr(slip.qr)
        if slip.barcode:
            self._print_barcode(slip.barcode)
        if slip.mark:
            self._print_mark(slip.mark)
        printer.set(align="left", bold=False, normal_textsize=True)
        printer.cut()

    def _print_mark(self, mark: str) -> None:
        """``mark`` across the paper, white on black (``GS B``): not a line of the slip."""
        text = printable_text(mark, self._encoding)
        room = self.columns - len(text) - 2
        framed = f"{'*' * (room // 2)} {text} {'*' * (room - room // 2)}" if room > 0 else text
        self._printer.set(align="center", bold=True, normal_textsize=True, invert=True)
        for part in [framed] if len(framed) <= self.columns else textwrap.wrap(text, self.columns):
            self._printer.textln(part)
        self._printer.set(invert=False)

    def _print_line(self, line: SlipLine) -> None:
        self._printer.set(
            align=line.align,
            bold=line.bold,
            normal_textsize=not line.large,
            double_width=line.large,
            double_height=line.large,
        )
        width = self.columns // 2 if line.large else self.columns
        text = printable_text(line.text, self._encoding)
        parts = [text] if len(text) <= width else textwrap.wrap(text, width)
        for part in parts:
            self._printer.textln(part)

    def _print_qr(self, payload: str) -> None:
        from escpos.constants import QR_ECLEVEL_M

        printer = self._printer
        printer.set(align="center", bold=False, normal_textsize=True)
        dot_size = self._qr_dot_size(payload)
        if self.native_qr:
            # NOTE: python-escpos refuses center=True for native QR; ESC a (above) centres it.
            printer.qr(payload, ec=QR_ECLEVEL_M, size=dot_size, native=True)
        else:
            printer.image(_qr_image(payload, dot_size), impl=self._image_impl)
        printer.ln()

    def _qr_dot_size(self, payload: str) -> int:
        import segno

        qr = segno.make(payload, error="m", micro=False)
        modules = int(qr.symbol_size(scale=1, border=0)[0])
        target = int(self.columns * DOTS_PER_COLUMN * QR_SHARE_OF_WIDTH) // modules
        return max(QR_DOT_SIZES.start, min(QR_DOT_SIZES.stop - 1, target))

    def _print_barcode(self, code: str) -> None:
        paper_dots = self.columns * DOTS_PER_COLUMN
        if self._barcode_command:
            data = code128_data(code)
            modules = code128_modules(data) if data else 0
        else:
            bars = code128_bars(code)
            data, modules = (None, 0) if bars is None else (bars, len(bars))
        if data is None:
            log.warning("printer:barcode %r is not printable CODE128; text only", code)
            return
        if (modules + 2 * BARCODE_QUIET_MODULES) * BARCODE_MODULE_DOTS > paper_dots:
            log.warning("printer:barcode %r is wider than the paper; text only", code)
            return
        if self._barcode_command:
            self._barcode_with_command(data)
        else:
            self._printer.set(align="center", bold=False, normal_textsize=True)
            self._printer.image(_barcode_image(data), impl=self._image_impl)
        self._printer.ln()

    def _barcode_with_command(self, data: str) -> None:
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


def _barcode_image(bars: str) -> Image.Image:
    """The bars as a picture with quiet zones, one module ``BARCODE_MODULE_DOTS`` wide."""
    row = [1] * BARCODE_QUIET_MODULES + [0 if b == "1" else 1 for b in bars]
    row += [1] * BARCODE_QUIET_MODULES
    width = len(row) * BARCODE_MODULE_DOTS
    image = Image.new("1", (width, BARCODE_HEIGHT_DOTS), 1)
    for index, white in enumerate(row):
        if not white:
            x = index * BARCODE_MODULE_DOTS
            image.paste(0, (x, 0, x + BARCODE_MODULE_DOTS, BARCODE_HEIGHT_DOTS))
    return image


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
