"""A printed slip drawn as the paper shows it, from the ESC/POS bytes the printer was sent.

The bytes are parsed back by :mod:`hw.printer.escpos_text`; the picture is drawn at the
printer's 203 dpi, one dot per pixel: text in font-A cells (bold struck twice, double size
enlarged), the QR at the module size the printer was told, the CODE128 barcode, raster
images and the cut. ``docs/pictures/slip-*.png`` and the web console's receipts are both
drawn by :func:`draw_slip`.
"""

from __future__ import annotations

import re
from functools import cache

from PIL import Image, ImageDraw, ImageFont

from hw.printer.escpos_text import ParsedLine, ParsedMark, ParsedSlip

__all__ = ["PAPER_DOTS", "draw_slip"]

PAPER_DOTS = 384  # 58 mm paper: 48 mm printable at 8 dots per mm
MARGIN_DOTS = 16
CELL_W, CELL_H, LINE_H = 12, 24, 30  # font A, and the default 1/6-inch line feed
_QR_SIZE = re.compile(rb"\x1d\(k\x03\x001C(.)", re.DOTALL)  # GS ( k fn 167: module size


def draw_slip(parsed: ParsedSlip, raw: bytes) -> Image.Image:
    """The paper ``parsed`` describes: text in font-A cells, QR, barcode, images, cut."""
    rows: list[Image.Image] = []
    rasters = iter(parsed.rasters)
    qr_sizes = iter(int(m.group(1)[0]) for m in _QR_SIZE.finditer(raw))
    for item in parsed.items:
        if isinstance(item, ParsedLine):
            rows.append(_text_row(item))
        elif item.kind == "qr":
            rows.append(_qr_row(item, next(qr_sizes, 3)))
        elif item.kind == "barcode":
            rows.append(_barcode_row(item))
        elif item.kind == "image":
            raster = next(rasters, None)
            if raster is not None:
                rows.append(_centred(raster.to_image()))
        else:
            rows.append(_cut_row())
    return _stack(rows)


@cache
def _font() -> ImageFont.FreeTypeFont:
    from hw.display.drawing import FONT_DIR

    return ImageFont.truetype(str(FONT_DIR / "DejaVuSansMono.ttf"), 20)


def _text_row(line: ParsedLine) -> Image.Image:
    text = line.text.rstrip()
    scale = 2 if line.large else 1
    row = Image.new("1", (max(1, len(text)) * CELL_W, LINE_H), 1)
    draw = ImageDraw.Draw(row)
    font = _font()
    for column, char in enumerate(text):
        for dx in (0, 1) if line.bold else (0,):  # emphasis: the printer strikes twice
            draw.text((column * CELL_W + dx, 2), char, font=font, fill=0)
    if scale > 1:
        row = row.resize((row.width * 2, row.height * 2), Image.Resampling.NEAREST)
    width = min(row.width, PAPER_DOTS)
    x = {"left": 0, "center": (PAPER_DOTS - width) // 2, "right": PAPER_DOTS - width}
    paper = Image.new("1", (PAPER_DOTS, row.height), 1)
    paper.paste(row.crop((0, 0, width, row.height)), (x[line.align], 0))
    return paper


def _qr_row(mark: ParsedMark, module_dots: int) -> Image.Image:
    import segno

    qr = segno.make(mark.data, error="m", micro=False)
    side = int(qr.symbol_size(scale=module_dots, border=2)[0])
    image = Image.new("1", (side, side), 1)
    for y, row in enumerate(qr.matrix):
        for x, dark in enumerate(row):
            if dark:
                left, top = (x + 2) * module_dots, (y + 2) * module_dots
                image.paste(0, (left, top, left + module_dots, top + module_dots))
    return _centred(image)


def _barcode_row(mark: ParsedMark) -> Image.Image:
    import barcode  # type: ignore[import-untyped]  # python-barcode, which python-escpos uses

    modules = barcode.get("code128", mark.data).build()[0]
    image = Image.new("1", (len(modules) * 2, 80), 1)  # GS w 2, GS h 80: the usual settings
    for x, bit in enumerate(modules):
        if bit == "1":
            image.paste(0, (2 * x, 0, 2 * x + 2, 80))
    return _centred(image)


def _cut_row() -> Image.Image:
    row = Image.new("1", (PAPER_DOTS, LINE_H), 1)
    draw = ImageDraw.Draw(row)
    for x in range(0, PAPER_DOTS, 12):
        draw.line((x, LINE_H // 2, x + 6, LINE_H // 2), fill=0)
    return row


def _centred(image: Image.Image) -> Image.Image:
    paper = Image.new("1", (PAPER_DOTS, image.height + 8), 1)
    paper.paste(image.convert("1"), ((PAPER_DOTS - image.width) // 2, 4))
    return paper


def _stack(rows: list[Image.Image]) -> Image.Image:
    height = sum(row.height for row in rows) + 2 * MARGIN_DOTS
    paper = Image.new("1", (PAPER_DOTS + 2 * MARGIN_DOTS, height), 1)
    y = MARGIN_DOTS
    for row in rows:
        paper.paste(row, (MARGIN_DOTS, y))
        y += row.height
    return paper
