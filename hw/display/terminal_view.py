"""Shows a 1-bit display image in a terminal as Unicode half blocks, and reads it back.

Each character cell holds two pixels, one above the other (``▀ ▄ █`` and space), so pixels
come out roughly square and a 128×64 display takes 130 columns by 33 rows with its frame.
A lit OLED pixel is drawn in the glyph colour: on the usual light-on-dark terminal that keeps
white lit and black dark, so the QR card shows dark modules on light and a phone reads it
straight off the screen. ``ansi=True`` forces white on black for terminals with a light theme.
"""

from __future__ import annotations

import re

from PIL import Image

__all__ = ["image_to_text", "text_to_image"]

_CELL = {(0, 0): " ", (1, 0): "▀", (0, 1): "▄", (1, 1): "█"}
_PIXELS = {char: pair for pair, char in _CELL.items()}
_WHITE_ON_BLACK = "\x1b[97;40m"
_RESET = "\x1b[0m"
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def image_to_text(image: Image.Image, *, frame: bool = True, ansi: bool = False) -> str:
    """``image`` (lit = non-zero) as half-block text, inside a one-pixel lit frame if ``frame``."""
    pixels = _framed(image.convert("1")) if frame else image.convert("1")
    width, height = pixels.size
    data = pixels.load()
    assert data is not None
    rows = []
    for y in range(0, height, 2):
        cells = (
            _CELL[_lit(data[x, y]), _lit(data[x, y + 1]) if y + 1 < height else 0]
            for x in range(width)
        )
        row = "".join(cells)
        rows.append(f"{_WHITE_ON_BLACK}{row}{_RESET}" if ansi else row)
    return "\n".join(rows)


def text_to_image(text: str) -> Image.Image:
    """Read :func:`image_to_text` output back as a mode-"1" image (lit = white), frame kept."""
    rows = [_ANSI_ESCAPE.sub("", row) for row in text.split("\n")]
    width = max((len(row) for row in rows), default=0)
    image = Image.new("1", (width, 2 * len(rows)), 0)
    data = image.load()
    assert data is not None
    for row_index, row in enumerate(rows):
        for x, char in enumerate(row):
            upper, lower = _PIXELS.get(char, (0, 0))
            data[x, 2 * row_index] = upper
            data[x, 2 * row_index + 1] = lower
    return image


def _lit(value: object) -> int:
    return 1 if value else 0


def _framed(image: Image.Image) -> Image.Image:
    """``image`` on a lit ring one pixel wide, padded to an even height."""
    width, height = image.size
    framed_height = height + 2 + (height % 2)
    framed = Image.new("1", (width + 2, framed_height), 1)
    framed.paste(image, (1, 1))
    if height % 2:
        framed.paste(0, (1, height + 1, width + 1, height + 2))
    return framed
