"""Draws a :class:`Screen` as a 1-bit image for the customer display (pure but for font loading).

Pixel value 1 is a lit (white) OLED pixel, 0 a dark one. Text is lit on dark; a QR code is
drawn dark modules on a lit card, the way phone cameras expect it, with its quiet zone inside
the card. Layouts:

* wide displays (128×64): the QR card fills the left square, title, amount, hints and
  countdown are squeezed into the column beside it;
* tall or square displays (128×128): the QR card on top, amount and title/countdown below;
* no QR: a header row (title, countdown in the corner), then the amount large and up to three
  hint lines, centred. ``warn``/``error`` screens get an inverted header, ``ok`` a tick.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont

from terminal.views.model import Screen

__all__ = ["FONT_DIR", "QR_ON_SLIP", "format_countdown", "qr_fits", "render_screen"]

log = logging.getLogger(__name__)

#: Where Debian's fonts-dejavu-core puts DejaVu (it has Cyrillic and the rouble sign).
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
#: Drawn instead of a QR code that cannot fit on the display at 1 px per module.
QR_ON_SLIP = "QR on slip"

LIT = 1
DARK = 0

_FACES = {
    "sans": "DejaVuSans.ttf",
    "bold": "DejaVuSans-Bold.ttf",
    "narrow": "DejaVuSansCondensed.ttf",
    "narrow-bold": "DejaVuSansCondensed-Bold.ttf",
    "mono": "DejaVuSansMono.ttf",
}
_TONE_MARK = {"info": "", "ok": "✓ ", "warn": "! ", "error": "✗ "}
_ELLIPSIS = "…"
_PAD_PX = 2  # margin kept clear at the display's edges
_MIN_TEXT_PX = 8  # below this DejaVu is no longer legible on an OLED
# Quiet zone, in modules: at least one must fit; more is drawn when the display has room, up to
# the standard's four. A larger module beats a wider quiet zone for a phone camera.
_MIN_QUIET_MODULES = 1
_MAX_QUIET_MODULES = 4

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def render_screen(screen: Screen, size: tuple[int, int]) -> Image.Image:
    """Draw ``screen`` on a new mode-"1" image of ``size`` (width, height) pixels."""
    image = Image.new("1", size, DARK)
    draw = ImageDraw.Draw(image)
    if screen.qr:
        plan = _qr_plan(screen.qr, _qr_side(size))
        if plan is not None:
            if _is_wide(size):
                _draw_qr_beside(draw, screen, plan, size)
            else:
                _draw_qr_above(draw, screen, plan, size)
            return image
        screen = dataclasses.replace(screen, lines=(*screen.lines, QR_ON_SLIP))
    body_top = _draw_header(draw, screen, size)
    _draw_stack(draw, screen, (0, body_top, size[0], size[1]), _small_px(size))
    return image


def qr_fits(payload: str, size: tuple[int, int]) -> int:
    """Pixels per module the QR of ``payload`` gets on a display of ``size``; 0 if it can't fit."""
    plan = _qr_plan(payload, _qr_side(size)) if payload else None
    return plan.scale if plan is not None else 0


def format_countdown(seconds: int) -> str:
    """``42`` → ``"0:42"``, ``3725`` → ``"1:02:05"``; negative counts show as ``"0:00"``."""
    hours, rest = divmod(max(0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


# --- fonts and text -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Text:
    """A string fitted to a width: the font it is drawn in and its box around the baseline."""

    text: str
    font: Font
    width: int
    above: int  # pixels above the baseline
    below: int  # pixels below the baseline

    @property
    def height(self) -> int:
        return self.above + self.below


@functools.lru_cache(maxsize=64)
def _font(face: str, size_px: int) -> Font:
    # Pillow looks for the file name in the system font folders too if FONT_DIR lacks it.
    try:
        return ImageFont.truetype(str(FONT_DIR / _FACES[face]), size_px)
    except OSError:
        log.warning("display:font %s not found in %s; using Pillow's default", face, FONT_DIR)
        return ImageFont.load_default(size_px)


def _small_px(size: tuple[int, int]) -> int:
    return 10 if min(size) < 96 else 12


def _title_faces(small: int) -> tuple[str, ...]:
    # NOTE: DejaVu Sans Bold at 10 px and below fills the counters of "м", "ш"; the
    # condensed cut keeps them open.
    return ("narrow-bold",) if small <= 10 else ("bold", "narrow-bold")


def _width(font: Font, text: str) -> int:
    return int(font.getlength(text) + 0.999)


@functools.lru_cache(maxsize=256)
def _line_box(font: Font) -> tuple[int, int]:
    """Room a text line needs above and below its baseline (Cyrillic breve, descenders)."""
    return _box(font, "ЙШgду")


def _box(font: Font, text: str) -> tuple[int, int]:
    if isinstance(font, ImageFont.FreeTypeFont):
        _, top, _, bottom = font.getbbox(text, anchor="ls")
        return int(-top), int(bottom)
    _, top, _, bottom = font.getbbox(text)
    return int(bottom - top), 0


def _fit(
    text: str, max_w: int, faces: Sequence[str], sizes: Sequence[int], *, tight: bool = False
) -> _Text:
    """The largest size (then the narrower face) at which ``text`` fits, else ellipsized."""
    for size_px in sizes:
        for face in faces:
            font = _font(face, size_px)
            if _width(font, text) <= max_w:
                return _made(text, font, tight=tight)
    font = _font(faces[-1], sizes[-1])
    return _made(_ellipsize(text, font, max_w), font, tight=tight)


def _made(text: str, font: Font, *, tight: bool) -> _Text:
    above, below = _box(font, text) if tight else _line_box(font)
    return _Text(text, font, _width(font, text), above, below)


def _ellipsize(text: str, font: Font, max_w: int) -> str:
    while text and _width(font, text + _ELLIPSIS) > max_w:
        text = text[:-1]
    return text.rstrip() + _ELLIPSIS


def _wrap(text: str, font: Font, max_w: int, max_lines: int) -> list[str]:
    """Greedy word wrap into at most ``max_lines``; a line that still overflows is ellipsized."""
    lines: list[str] = []
    words = text.split()
    while words and len(lines) < max_lines:
        line = words.pop(0)
        while words and _width(font, f"{line} {words[0]}") <= max_w:
            line = f"{line} {words.pop(0)}"
        lines.append(line)
    if words:
        lines[-1] = " ".join([lines[-1], *words])
    return [
        line if _width(font, line) <= max_w else _ellipsize(line, font, max_w) for line in lines
    ]


def _draw_text(draw: ImageDraw.ImageDraw, x: int, baseline: int, text: _Text, fill: int) -> None:
    if isinstance(text.font, ImageFont.FreeTypeFont):
        draw.text((x, baseline), text.text, font=text.font, fill=fill, anchor="ls")
    else:
        draw.text((x, baseline - text.above), text.text, font=text.font, fill=fill)


def _sizes(largest: int, smallest: int) -> range:
    return range(largest, max(smallest, _MIN_TEXT_PX) - 1, -1)


# --- plain screens --------------------------------------------------------------------------


def _draw_header(draw: ImageDraw.ImageDraw, screen: Screen, size: tuple[int, int]) -> int:
    """Title row with the countdown in the right corner; returns the first free row below."""
    width, small = size[0], _small_px(size)
    font = _font(_title_faces(small)[0], small)
    above, below = _line_box(font)
    bar_h = above + below + 2
    inverted = screen.tone in ("warn", "error")
    fill = DARK if inverted else LIT
    if inverted:
        draw.rectangle((0, 0, width - 1, bar_h - 1), fill=LIT)
    else:
        draw.line((0, bar_h - 1, width - 1, bar_h - 1), fill=LIT)
    baseline, right = 1 + above, width - _PAD_PX
    if screen.countdown_s is not None:
        clock = _made(format_countdown(screen.countdown_s), _font("mono", small), tight=False)
        _draw_text(draw, right - clock.width, baseline, clock, fill)
        right -= clock.width + 2 * _PAD_PX
    title = _TONE_MARK[screen.tone] + screen.title
    fitted = _fit(title, right - _PAD_PX, _title_faces(small), _sizes(small, small - 1))
    _draw_text(draw, _PAD_PX, baseline, fitted, fill)
    return bar_h + 2


def _draw_stack(
    draw: ImageDraw.ImageDraw, screen: Screen, box: tuple[int, int, int, int], small: int
) -> None:
    """Amount and hint lines of ``screen``, centred in ``box`` (left, top, right, bottom)."""
    left, top, right, bottom = box
    max_w, room = right - left - 2 * _PAD_PX, bottom - top
    hints = _fit_hints(screen, max_w, room, small)
    items = hints
    if screen.amount:
        room_left = room - sum(h.height for h in hints) - 2
        items = [_fit_amount(screen.amount, max_w, room_left, small), *hints]
    _draw_centred_column(draw, items, left, right, top + (room - _column_h(items)) // 2)


def _fit_hints(screen: Screen, max_w: int, room: int, small: int) -> list[_Text]:
    """Hint lines in the largest size that leaves the amount readable; drops what can't fit."""
    amount_h = sum(_box(_font("bold", small + 4), "0")) + 2 if screen.amount else 0
    first = small if screen.amount else small + 2
    for size_px in _sizes(first, small - 2):
        sizes = _sizes(size_px, small - 2)
        hints = [_fit(line, max_w, ("sans", "narrow"), sizes) for line in screen.lines]
        if sum(h.height for h in hints) + amount_h <= room:
            return hints
    while hints and sum(h.height for h in hints) + amount_h > room:
        log.debug("display:hint dropped, no room: %r", hints.pop().text)
    return hints


def _fit_amount(amount: str, max_w: int, max_h: int, small: int) -> _Text:
    """The amount in the largest bold size that fits both ``max_w`` and ``max_h``."""
    for size_px in _sizes(small * 3, small):
        for face in ("bold", "narrow-bold"):
            text = _made(amount, _font(face, size_px), tight=True)
            if text.width <= max_w and text.height <= max_h:
                return text
    return _fit(amount, max_w, ("narrow-bold",), _sizes(small, small), tight=True)


def _column_h(items: Sequence[_Text]) -> int:
    return sum(item.height for item in items) + 2 * (len(items) > 1)


def _draw_centred_column(
    draw: ImageDraw.ImageDraw, items: Sequence[_Text], left: int, right: int, y: int
) -> None:
    for index, item in enumerate(items):
        x = left + (right - left - item.width) // 2
        _draw_text(draw, x, y + item.above, item, LIT)
        y += item.height + (2 if index == 0 else 0)


# --- QR screens -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _QrPlan:
    """A QR symbol and the scale it gets in a square region of ``side`` pixels."""

    matrix: tuple[tuple[int, ...], ...]
    scale: int
    side: int

    @property
    def modules(self) -> int:
        return len(self.matrix)

    @property
    def card(self) -> int:
        """Side of the lit card: the symbol plus as much quiet zone as fits, up to four modules."""
        quiet = min(_MAX_QUIET_MODULES, (self.side // self.scale - self.modules) // 2)
        return (self.modules + 2 * quiet) * self.scale


def _is_wide(size: tuple[int, int]) -> bool:
    return size[0] >= 1.8 * size[1]


def _qr_side(size: tuple[int, int]) -> int:
    """The square the QR may take: the full height beside the text, or above two text rows."""
    width, height = size
    if _is_wide(size):
        return height
    small = _small_px(size)
    row = sum(_line_box(_font(_title_faces(small)[0], small)))
    reserve = row + sum(_box(_font("bold", small + 2), "0")) + 4  # 2 px above and below amount
    return min(width, height - reserve)


@functools.lru_cache(maxsize=16)
def _qr_plan(payload: str, side: int) -> _QrPlan | None:
    """Error correction M or L, whichever gives bigger modules (M on a tie), or None."""
    best: _QrPlan | None = None
    for error in ("m", "l"):
        try:
            qr = segno.make(payload, error=error, micro=False)
        except segno.DataOverflowError:
            continue
        modules = int(qr.symbol_size(scale=1, border=0)[0])
        scale = side // (modules + 2 * _MIN_QUIET_MODULES)
        if scale >= 1 and (best is None or scale > best.scale):
            best = _QrPlan(tuple(tuple(row) for row in qr.matrix), scale, side)
    return best


def _draw_qr(draw: ImageDraw.ImageDraw, plan: _QrPlan, x0: int, y0: int) -> None:
    """Lit card of ``plan.card`` pixels at (x0, y0) with the dark modules centred in it."""
    card, scale = plan.card, plan.scale
    draw.rectangle((x0, y0, x0 + card - 1, y0 + card - 1), fill=LIT)
    offset = (card - plan.modules * scale) // 2
    for row, cells in enumerate(plan.matrix):
        for col, dark in enumerate(cells):
            if dark:
                x, y = x0 + offset + col * scale, y0 + offset + row * scale
                draw.rectangle((x, y, x + scale - 1, y + scale - 1), fill=DARK)


def _draw_qr_beside(
    draw: ImageDraw.ImageDraw, screen: Screen, plan: _QrPlan, size: tuple[int, int]
) -> None:
    width, height = size
    _draw_qr(draw, plan, 0, (height - plan.card) // 2)
    left = plan.card + 2 * _PAD_PX
    max_w, small = width - left - _PAD_PX, _small_px(size)
    title_font = _font("narrow-bold", small)
    above, below = _line_box(title_font)
    title_lines = _wrap(_TONE_MARK[screen.tone] + screen.title, title_font, max_w, 2)
    y = 0
    for line in title_lines:
        _draw_text(draw, left, y + above, _made(line, title_font, tight=False), LIT)
        y += above + below
    bottom = height
    if screen.countdown_s is not None:
        clock = _made(format_countdown(screen.countdown_s), _font("mono", small), tight=False)
        _draw_text(draw, width - _PAD_PX - clock.width, height - clock.below, clock, LIT)
        bottom -= clock.height
    _draw_stack(draw, screen, (left - _PAD_PX, y, width, bottom), small)


def _draw_qr_above(
    draw: ImageDraw.ImageDraw, screen: Screen, plan: _QrPlan, size: tuple[int, int]
) -> None:
    width, height = size
    _draw_qr(draw, plan, (width - plan.card) // 2, 0)
    small = _small_px(size)
    above, below = _line_box(_font(_title_faces(small)[0], small))
    baseline = height - below
    right = width - _PAD_PX
    if screen.countdown_s is not None:
        clock = _made(format_countdown(screen.countdown_s), _font("mono", small), tight=False)
        _draw_text(draw, right - clock.width, baseline, clock, LIT)
        right -= clock.width + 2 * _PAD_PX
    title = _TONE_MARK[screen.tone] + screen.title
    fitted = _fit(title, right - _PAD_PX, _title_faces(small), _sizes(small, small - 2))
    _draw_text(draw, _PAD_PX, baseline, fitted, LIT)
    no_hints = dataclasses.replace(screen, lines=())
    _draw_stack(draw, no_hints, (0, plan.card + 2, width, height - above - below), small)
