"""Draws a :class:`Screen` as a 1-bit image for the customer display (pure but for font loading).

Pixel value 1 is a lit (white) OLED pixel, 0 a dark one. Text is lit on dark; a QR code is
drawn dark modules on a lit card, the way phone cameras expect it, with its quiet zone inside
the card. Layouts:

* wide displays (128×64): the QR card fills the left square, title, amount, hints and
  countdown are squeezed into the column beside it;
* tall or square displays (128×128): the QR card on top, amount and title/countdown below;
  when dropping the title row gives the QR a bigger module (a long SBP link), the card takes
  all but one row, which holds the amount and the countdown;
* no QR: a header row (title, countdown in the corner), then the amount large and up to three
  hint lines, centred. ``warn``/``error`` screens get an inverted header, ``ok`` a tick.

A QR whose modules would be smaller than :data:`MIN_LEGIBLE_PX_PER_MODULE` pixels is not
drawn: the screen says the QR is on the slip instead (:func:`qr_legible` tells in advance).
A countdown tick can be drawn into the previous frame (:func:`redraw_countdown`) instead of
rendering the whole screen again.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import segno
from PIL import Image, ImageDraw, ImageFont

from terminal.views.model import Screen
from terminal.views.text import t

__all__ = [
    "FONT_DIR",
    "MIN_LEGIBLE_PX_PER_MODULE",
    "QR_ON_SLIP",
    "SYSTEM_FONT_DIR",
    "can_redraw_countdown",
    "countdown_box",
    "format_countdown",
    "qr_fits",
    "qr_legible",
    "qr_on_slip_text",
    "redraw_countdown",
    "render_screen",
]

log = logging.getLogger(__name__)

#: The DejaVu faces shipped with payterm (Cyrillic, the rouble sign, ✓ and ✗).
FONT_DIR = Path(__file__).parent.parent / "fonts"
#: Where Debian's fonts-dejavu-core/-extra put DejaVu, tried when a bundled face is missing.
SYSTEM_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
#: Drawn (in English; see :func:`qr_on_slip_text`) instead of a QR code too small to read.
QR_ON_SLIP = t("qr_on_slip", "en")
#: Below two pixels per module a phone camera no longer reads an OLED's QR reliably.
MIN_LEGIBLE_PX_PER_MODULE = 2

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
_CYRILLIC = re.compile("[\u0400-\u04ff]")
_PAD_PX = 2  # margin kept clear at the display's edges
_MIN_TEXT_PX = 8  # below this DejaVu is no longer legible on an OLED
# Quiet zone, in modules: at least one must fit; more is drawn when the display has room, up to
# the standard's four. A larger module beats a wider quiet zone for a phone camera, but two
# modules of lit margin beat stronger error correction (the card's edge meets dark glass).
_MIN_QUIET_MODULES = 1
_GOOD_QUIET_MODULES = 2
_MAX_QUIET_MODULES = 4
_ERROR_LEVELS = ("h", "q", "m", "l")  # strongest first
_AMOUNT_GLYPHS = "0123456789,.₽$€¥"

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
Layout = Literal["plain", "beside", "above", "compact"]


def render_screen(screen: Screen, size: tuple[int, int]) -> Image.Image:
    """Draw ``screen`` on a new mode-"1" image of ``size`` (width, height) pixels."""
    image = Image.new("1", size, DARK)
    draw = ImageDraw.Draw(image)
    layout, plan, screen = _layout(screen, size)
    if plan is None:
        body_top = _draw_header(draw, screen, size)
        _draw_stack(draw, screen, (0, body_top, size[0], size[1]), _small_px(size))
    elif layout == "beside":
        _draw_qr_beside(draw, screen, plan, size)
    elif layout == "above":
        _draw_qr_above(draw, screen, plan, size)
    else:
        _draw_qr_compact(draw, screen, plan, size)
    return image


def qr_fits(payload: str, size: tuple[int, int]) -> int:
    """Pixels per module the QR of ``payload`` gets on a display of ``size``; 0 if it can't fit."""
    _, plan = _best_qr(payload, size) if payload else ("plain", None)
    return plan.scale if plan is not None else 0


def qr_legible(payload: str, size: tuple[int, int]) -> bool:
    """True when ``payload`` is drawn as a QR a phone reads (≥ 2 px per module) on ``size``."""
    return qr_fits(payload, size) >= MIN_LEGIBLE_PX_PER_MODULE


def qr_on_slip_text(screen: Screen) -> str:
    """The "QR on the slip" notice in the language of ``screen`` (Russian if it has Cyrillic)."""
    text = " ".join((screen.title, screen.amount, *screen.lines))
    return t("qr_on_slip", "ru" if _CYRILLIC.search(text) else "en")


def format_countdown(seconds: int) -> str:
    """``42`` → ``"0:42"``, ``3725`` → ``"1:02:05"``; negative counts show as ``"0:00"``."""
    hours, rest = divmod(max(0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


def can_redraw_countdown(old: Screen, new: Screen) -> bool:
    """True when ``new`` differs from ``old`` only in a countdown of the same number of digits.

    Then :func:`redraw_countdown` turns ``old``'s frame into ``new``'s, pixel for pixel.
    """
    if old.countdown_s is None or new.countdown_s is None:
        return False
    same_width = len(format_countdown(old.countdown_s)) == len(format_countdown(new.countdown_s))
    return same_width and dataclasses.replace(new, countdown_s=old.countdown_s) == old


def countdown_box(screen: Screen, size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """The (left, top, right, bottom) pixels, right/bottom excluded, the countdown is drawn in."""
    layout, _, screen = _layout(screen, size)
    clock = _clock(screen, size, layout)
    return clock.box if clock is not None else None


def redraw_countdown(frame: Image.Image, screen: Screen, size: tuple[int, int]) -> Image.Image:
    """A copy of ``frame`` with the countdown of ``screen`` drawn over the old one.

    ``frame`` must be the frame of a screen for which :func:`can_redraw_countdown` holds.
    """
    layout, _, screen = _layout(screen, size)
    clock = _clock(screen, size, layout)
    if clock is None:
        raise ValueError(f"screen {screen.name!r} has no countdown to redraw")
    image = frame.copy()
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = clock.box
    draw.rectangle((left, top, right - 1, bottom - 1), fill=LIT - clock.fill)
    _draw_text(draw, clock.x, clock.baseline, clock.text, clock.fill)
    return image


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
    for folder in (FONT_DIR, SYSTEM_FONT_DIR):
        try:
            return ImageFont.truetype(str(folder / _FACES[face]), size_px)
        except OSError:
            continue
    log.warning("display:font %s not found in %s or %s", _FACES[face], FONT_DIR, SYSTEM_FONT_DIR)
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


# --- layout and countdown -------------------------------------------------------------------


def _layout(screen: Screen, size: tuple[int, int]) -> tuple[Layout, _QrPlan | None, Screen]:
    """Where things go; a QR too small to read is replaced by the "QR on the slip" line."""
    if not screen.qr:
        return "plain", None, screen
    layout, plan = _best_qr(screen.qr, size)
    if plan is not None and plan.scale >= MIN_LEGIBLE_PX_PER_MODULE:
        return layout, plan, screen
    notice = qr_on_slip_text(screen)
    return "plain", None, dataclasses.replace(screen, qr=None, lines=(notice, *screen.lines))


@dataclass(frozen=True, slots=True)
class _Clock:
    """The countdown as drawn: its text, where its baseline starts, and its colour."""

    text: _Text
    x: int
    baseline: int
    fill: int

    @property
    def box(self) -> tuple[int, int, int, int]:
        """Every pixel any count of the same width can touch (right and bottom excluded)."""
        above, below = _box(self.text.font, "0123456789:")
        return (self.x, self.baseline - above, self.x + self.text.width, self.baseline + below)


def _clock(screen: Screen, size: tuple[int, int], layout: Layout) -> _Clock | None:
    """The countdown of ``screen`` placed for ``layout``; None when it has no countdown."""
    if screen.countdown_s is None:
        return None
    width, height = size
    small = _small_px(size)
    font_px = _compact_px(size) if layout == "compact" else small
    text = _made(format_countdown(screen.countdown_s), _font("mono", font_px), tight=False)
    x = width - _PAD_PX - text.width
    if layout == "plain":
        above, _ = _line_box(_font(_title_faces(small)[0], small))
        inverted = screen.tone in ("warn", "error")
        return _Clock(text, x, 1 + above, DARK if inverted else LIT)
    if layout == "beside":
        return _Clock(text, x, height - text.below, LIT)
    if layout == "above":
        _, below = _line_box(_font(_title_faces(small)[0], small))
        return _Clock(text, x, height - below, LIT)
    return _Clock(text, x, _compact_baseline(size), LIT)


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
    clock = _clock(screen, size, "plain")
    if clock is not None:
        _draw_text(draw, clock.x, clock.baseline, clock.text, clock.fill)
        right = clock.x - 2 * _PAD_PX
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
        amount = _fit_amount(screen.amount, max_w, room - _column_h(hints) - 2, small)
        # The amount matters more than any hint: never drawn smaller than the hints are.
        while hints and (_column_h([*amount, *hints]) > room or _px(amount) < _px(hints)):
            log.debug("display:hint dropped for the amount: %r", hints.pop().text)
            amount = _fit_amount(screen.amount, max_w, room - _column_h(hints) - 2, small)
        items = [*amount, *hints]
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


def _fit_amount(amount: str, max_w: int, max_h: int, small: int) -> list[_Text]:
    """The amount in the largest bold size that fits ``max_w`` × ``max_h``; never cut short.

    One line at ``small`` or larger; else the number above its currency; else one line down
    to the smallest legible size; only then cut with an ellipsis.
    """
    faces = ("bold", "narrow-bold")
    one_line = _largest([amount], max_w, max_h, faces, _sizes(small * 3, small))
    if one_line:
        return one_line
    number, _, unit = amount.rpartition(" ")
    if number:
        two_lines = _largest([number, unit], max_w, max_h, faces, _sizes(small * 3, 0))
        if two_lines:
            return two_lines
    one_line = _largest([amount], max_w, max_h, faces, _sizes(small - 1, 0))
    return one_line or [_fit(amount, max_w, ("narrow-bold",), [_MIN_TEXT_PX], tight=True)]


def _largest(
    lines: Sequence[str], max_w: int, max_h: int, faces: Sequence[str], sizes: Sequence[int]
) -> list[_Text]:
    """``lines`` in the largest size and face at which all fit ``max_w`` × ``max_h``; or []."""
    for size_px in sizes:
        for face in faces:
            texts = [_made(line, _font(face, size_px), tight=True) for line in lines]
            if max(t.width for t in texts) <= max_w and _column_h(texts) <= max_h:
                return texts
    return []


def _px(texts: Sequence[_Text]) -> float:
    """The largest font size among ``texts`` (0 for none or Pillow's bitmap font)."""
    return max((float(getattr(text.font, "size", 0)) for text in texts), default=0.0)


def _column_h(items: Sequence[_Text]) -> int:
    """Height of a column: the items, with 2 px under the first when more follow."""
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
    """A QR symbol (payload, error level, version) and the scale it gets in ``side`` pixels."""

    payload: str
    error: str  # error correction level, "l" to "h"
    version: int
    scale: int
    side: int

    @property
    def modules(self) -> int:
        return 17 + 4 * self.version

    @property
    def matrix(self) -> tuple[tuple[int, ...], ...]:
        return _matrix(self.payload, self.error, self.version)

    @property
    def quiet(self) -> int:
        """Modules of quiet zone drawn around the symbol: as many as fit, up to four."""
        return min(_MAX_QUIET_MODULES, (self.side // self.scale - self.modules) // 2)

    @property
    def card(self) -> int:
        """Side of the lit card: the symbol plus its quiet zone."""
        return (self.modules + 2 * self.quiet) * self.scale


def _is_wide(size: tuple[int, int]) -> bool:
    return size[0] >= 1.8 * size[1]


def _best_qr(payload: str, size: tuple[int, int]) -> tuple[Layout, _QrPlan | None]:
    """The layout that gives the QR of ``payload`` the biggest modules, and its plan."""
    width, height = size
    if _is_wide(size):
        return "beside", _qr_plan(payload, height)
    small = _small_px(size)
    row = sum(_line_box(_font(_title_faces(small)[0], small)))
    reserve = row + sum(_box(_font("bold", small + 2), "0")) + 4  # 2 px above and below amount
    above = _qr_plan(payload, min(width, height - reserve))
    compact = _qr_plan(payload, min(width, height - _compact_row_h(size)))
    if compact is not None and (above is None or compact.scale > above.scale):
        return "compact", compact
    return "above", above


def _compact_px(size: tuple[int, int]) -> int:
    """Text size of the single row under a QR card that fills a tall display."""
    return _small_px(size) - 2


def _compact_row_h(size: tuple[int, int]) -> int:
    above, below = _box(_font("bold", _compact_px(size)), _AMOUNT_GLYPHS)
    return above + below + 2  # one dark row above the text, one below


def _compact_baseline(size: tuple[int, int]) -> int:
    _, below = _box(_font("bold", _compact_px(size)), _AMOUNT_GLYPHS)
    return size[1] - 1 - below


@functools.lru_cache(maxsize=16)
def _qr_plan(payload: str, side: int) -> _QrPlan | None:
    """The symbol with the biggest modules in ``side`` pixels, or None if none fits.

    Ties go to a quiet zone of at least two modules, then to the stronger error correction.
    """
    best: tuple[tuple[int, int, int], _QrPlan] | None = None
    for rank, (error, version) in enumerate(_versions(payload)):
        scale = side // (17 + 4 * version + 2 * _MIN_QUIET_MODULES)
        if scale < 1:
            continue
        plan = _QrPlan(payload, error, version, scale, side)
        key = (scale, min(plan.quiet, _GOOD_QUIET_MODULES), -rank)
        if best is None or key > best[0]:
            best = (key, plan)
    return best[1] if best is not None else None


@functools.lru_cache(maxsize=16)
def _versions(payload: str) -> tuple[tuple[str, int], ...]:
    """The smallest version holding ``payload`` at each error correction level, strongest first.

    Mask 0 is forced here: choosing the best mask is most of segno's work and does not change
    the version, so only the symbol finally drawn gets it (:func:`_matrix`).
    """
    versions = []
    for error in _ERROR_LEVELS:
        try:
            qr = segno.make(payload, error=error, micro=False, boost_error=False, mask=0)
        except segno.DataOverflowError:
            continue
        versions.append((error, int(qr.version)))
    return tuple(versions)


@functools.lru_cache(maxsize=8)
def _matrix(payload: str, error: str, version: int) -> tuple[tuple[int, ...], ...]:
    """The modules of ``payload`` as a QR of ``version`` at ``error``, 1 for dark."""
    qr = segno.make(payload, error=error, version=version, micro=False, boost_error=False)
    return tuple(tuple(row) for row in qr.matrix)


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
    clock = _clock(screen, size, "beside")
    if clock is not None:
        _draw_text(draw, clock.x, clock.baseline, clock.text, clock.fill)
        bottom -= clock.text.height
    _draw_stack(draw, screen, (left - _PAD_PX, y, width, bottom), small)


def _draw_qr_above(
    draw: ImageDraw.ImageDraw, screen: Screen, plan: _QrPlan, size: tuple[int, int]
) -> None:
    width, height = size
    _draw_qr(draw, plan, (width - plan.card) // 2, 0)
    small = _small_px(size)
    above, below = _line_box(_font(_title_faces(small)[0], small))
    right = width - _PAD_PX
    clock = _clock(screen, size, "above")
    if clock is not None:
        _draw_text(draw, clock.x, clock.baseline, clock.text, clock.fill)
        right = clock.x - 2 * _PAD_PX
    title = _TONE_MARK[screen.tone] + screen.title
    fitted = _fit(title, right - _PAD_PX, _title_faces(small), _sizes(small, small - 2))
    _draw_text(draw, _PAD_PX, height - below, fitted, LIT)
    no_hints = dataclasses.replace(screen, lines=())
    _draw_stack(draw, no_hints, (0, plan.card + 2, width, height - above - below), small)


def _draw_qr_compact(
    draw: ImageDraw.ImageDraw, screen: Screen, plan: _QrPlan, size: tuple[int, int]
) -> None:
    """The card fills all but one row; the row holds the amount, the countdown to its right."""
    width, height = size
    _draw_qr(draw, plan, (width - plan.card) // 2, 0)
    right = width - _PAD_PX
    clock = _clock(screen, size, "compact")
    if clock is not None:
        _draw_text(draw, clock.x, clock.baseline, clock.text, clock.fill)
        right = clock.x - 2 * _PAD_PX
    if screen.amount:
        font_px = _compact_px(size)
        amount = _fit(screen.amount, right - _PAD_PX, ("bold", "narrow-bold"), [font_px])
        _draw_text(draw, _PAD_PX, _compact_baseline(size), amount, LIT)


def legible_qr_chars(size: tuple[int, int]) -> int:
    """The longest https link (byte mode) a display of ``size`` shows as a legible QR."""
    low, high = 0, 512
    while low < high:  # the longest n for which "https://" + n characters stays legible
        mid = (low + high + 1) // 2
        if qr_legible("https://" + "a" * mid, size):
            low = mid
        else:
            high = mid - 1
    return len("https://") + low if low else 0
