"""Draws a :class:`Screen` as a 1-bit image for the customer display (pure but for font loading).

Pixel value 1 is a lit (white) OLED pixel, 0 a dark one. Text is lit on dark; a QR code is
drawn dark modules on a lit card, the way phone cameras expect it, with its quiet zone inside
the card. Layouts:

* wide displays (128×64): the QR card fills the left square; the mark (TRAINING), the
  title, amount, hints and countdown go in the column beside it;
* tall or square displays (128×128): the QR card on top, amount and title/countdown below;
  when dropping the title row gives the QR a bigger module (a long SBP link), the card takes
  all but one row, which holds the amount and the countdown (not on a marked screen: the
  mark needs the title row);
* no QR: a header (the title as large as fits, the tone's sign, the mark as an inverted
  tag, the countdown in the corner; see :mod:`hw.display.header`), then the amount large
  and the hint lines, centred. ``warn``/``error`` screens get an inverted header.

Every text follows the rules of :mod:`hw.display.text_fit` (a minimum size, breaks only
between words). A QR whose modules would be smaller than :data:`MIN_LEGIBLE_PX_PER_MODULE`
pixels is not drawn: the screen says the QR is on the slip instead; the terminal decides
the same in advance (:func:`legible_qr_chars`, through ``terminal.app.settings_from``), so
it prints that QR. :func:`screen_layout` tells where everything was drawn. A countdown tick
can be drawn into the previous frame (:func:`redraw_countdown`) instead of rendering the
whole screen again.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass
from typing import Literal

from PIL import Image, ImageDraw

from hw.display.amount_stack import draw_stack
from hw.display.canvas import Canvas, Drawn
from hw.display.drawing import DARK, LIT, PAD_PX, load_font
from hw.display.header import draw_header, draw_tag, fit_title, plan_header, plan_tag
from hw.display.qr_plan import QrPlan, draw_qr, qr_plan
from hw.display.text_fit import MIN_TEXT_PX, Text, draw_text, fit, ink_box, line_box, make_text
from terminal.views.model import Screen
from terminal.views.text import t

__all__ = [
    "MIN_LEGIBLE_PX_PER_MODULE",
    "QR_ON_SLIP",
    "can_redraw_countdown",
    "countdown_box",
    "format_countdown",
    "legible_qr_chars",
    "qr_fits",
    "qr_legible",
    "qr_on_slip_text",
    "redraw_countdown",
    "render_screen",
    "screen_layout",
]

log = logging.getLogger(__name__)

#: Drawn (in English; see :func:`qr_on_slip_text`) instead of a QR code too small to read.
QR_ON_SLIP = t("qr_on_slip", "en")
#: Below two pixels per module a phone camera no longer reads an OLED's QR reliably.
MIN_LEGIBLE_PX_PER_MODULE = 2

_CYRILLIC = re.compile("[\u0400-\u04ff]")
_AMOUNT_GLYPHS = "0123456789,.₽$€¥"

Layout = Literal["plain", "beside", "above", "compact"]


def render_screen(screen: Screen, size: tuple[int, int]) -> Image.Image:
    """Draw ``screen`` on a new mode-"1" image of ``size`` (width, height) pixels."""
    return _render(screen, size)[0]


def screen_layout(screen: Screen, size: tuple[int, int]) -> Drawn:
    """Where :func:`render_screen` draws each text line, the QR card and the mark."""
    return _render(screen, size)[1]


def _render(screen: Screen, size: tuple[int, int]) -> tuple[Image.Image, Drawn]:
    image = Image.new("1", size, DARK)
    canvas = Canvas(ImageDraw.Draw(image))
    layout, plan, screen = _layout(screen, size)
    if plan is None:
        _draw_plain(canvas, screen, size)
    elif layout == "beside":
        _draw_qr_beside(canvas, screen, plan, size)
    elif layout == "above":
        _draw_qr_above(canvas, screen, plan, size)
    else:
        _draw_qr_compact(canvas, screen, plan, size)
    if screen.sync_late:
        _draw_sync_mark(canvas.draw, size)
    return image, canvas.drawn


def _draw_sync_mark(draw: ImageDraw.ImageDraw, size: tuple[int, int]) -> None:
    """A small up-arrow in the bottom-right corner: records are overdue upstream."""
    width, height = size
    left, top = width - 7, height - 7
    draw.rectangle((left, top, width - 1, height - 1), fill=DARK)
    draw.polygon([(left + 3, top + 1), (left + 1, top + 3), (left + 5, top + 3)], fill=LIT)
    draw.line((left + 3, top + 3, left + 3, height - 2), fill=LIT)


def qr_fits(payload: str, size: tuple[int, int], *, marked: bool = False) -> int:
    """Pixels per module the QR of ``payload`` gets on a display of ``size``; 0 if it can't fit.

    ``marked``: the screen carries a mark (TRAINING), which keeps the title row on a tall one.
    """
    _, plan = _best_qr(payload, size, marked) if payload else ("plain", None)
    return plan.scale if plan is not None else 0


def qr_legible(payload: str, size: tuple[int, int], *, marked: bool = False) -> bool:
    """True when ``payload`` is drawn as a QR a phone reads (≥ 2 px per module) on ``size``."""
    return qr_fits(payload, size, marked=marked) >= MIN_LEGIBLE_PX_PER_MODULE


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
    draw_text(draw, clock.x, clock.baseline, clock.text, clock.fill)
    return image


def legible_qr_chars(size: tuple[int, int], *, marked: bool = False) -> int:
    """The longest https link (byte mode, in bytes) a display of ``size`` shows as a legible QR.

    A payload of at most this many bytes is legible whatever its characters: the byte mode
    is the least compact a link gets.
    """
    low, high = 0, 512
    while low < high:  # the longest n for which "https://" + n characters stays legible
        mid = (low + high + 1) // 2
        if qr_legible("https://" + "a" * mid, size, marked=marked):
            low = mid
        else:
            high = mid - 1
    return len("https://") + low if low else 0


def _small_px(size: tuple[int, int]) -> int:
    return MIN_TEXT_PX if min(size) < 96 else 12


def _tall(size: tuple[int, int]) -> bool:
    return min(size) >= 96


# --- layout and countdown -------------------------------------------------------------------


def _layout(screen: Screen, size: tuple[int, int]) -> tuple[Layout, QrPlan | None, Screen]:
    """Where things go; a QR too small to read is replaced by the "QR on the slip" line."""
    if not screen.qr:
        return "plain", None, screen
    layout, plan = _best_qr(screen.qr, size, bool(screen.mark))
    if plan is not None and plan.scale >= MIN_LEGIBLE_PX_PER_MODULE:
        return layout, plan, screen
    notice = qr_on_slip_text(screen)
    return "plain", None, dataclasses.replace(screen, qr=None, lines=(notice, *screen.lines))


@dataclass(frozen=True, slots=True)
class _Clock:
    """The countdown as drawn: its text, where its baseline starts, and its colour."""

    text: Text
    x: int
    baseline: int
    fill: int

    @property
    def box(self) -> tuple[int, int, int, int]:
        """Every pixel any count of the same width can touch (right and bottom excluded)."""
        above, below = ink_box(self.text.font, "0123456789:")
        return (self.x, self.baseline - above, self.x + self.text.width, self.baseline + below)


def _clock_text(screen: Screen, font_px: int) -> Text | None:
    if screen.countdown_s is None:
        return None
    return make_text(format_countdown(screen.countdown_s), load_font("mono", font_px), tight=False)


def _clock(screen: Screen, size: tuple[int, int], layout: Layout) -> _Clock | None:
    """The countdown of ``screen`` placed for ``layout``; None when it has no countdown."""
    width, height = size
    small = _small_px(size)
    # A marked screen's last row under the QR holds the title, the mark and the countdown.
    shared = layout == "compact" or (layout == "above" and bool(screen.mark))
    text = _clock_text(screen, MIN_TEXT_PX if shared else small)
    if text is None:
        return None
    x = width - PAD_PX - text.width
    if layout == "plain":
        header = plan_header(screen, width, _tall(size), text.width + PAD_PX)
        return _Clock(text, x, header.first_baseline, DARK if header.inverted else LIT)
    if layout == "beside":
        return _Clock(text, x, height - text.below, LIT)
    if layout == "above":
        _, below = line_box(load_font("bold", small))
        return _Clock(text, x, height - below, LIT)
    return _Clock(text, x, _compact_baseline(size), LIT)


# --- plain screens --------------------------------------------------------------------------


def _draw_plain(canvas: Canvas, screen: Screen, size: tuple[int, int]) -> None:
    """Header (title, sign, mark, countdown), then the amount and hints below it."""
    width = size[0]
    clock = _clock(screen, size, "plain")
    reserved = clock.text.width + PAD_PX if clock is not None else 0
    header = plan_header(screen, width, _tall(size), reserved)
    draw_header(canvas, header, screen, width)
    if clock is not None:
        canvas.text(clock.x, clock.baseline, clock.text, clock.fill, "countdown")
    body = (0, header.height + 2, width, size[1])
    draw_stack(canvas, screen, body, _small_px(size))


# --- QR screens -----------------------------------------------------------------------------


def _is_wide(size: tuple[int, int]) -> bool:
    return size[0] >= 1.8 * size[1]


def _best_qr(payload: str, size: tuple[int, int], marked: bool) -> tuple[Layout, QrPlan | None]:
    """The layout that gives the QR of ``payload`` the biggest modules, and its plan."""
    width, height = size
    if _is_wide(size):
        return "beside", qr_plan(payload, height)
    small = _small_px(size)
    row = sum(line_box(load_font("bold", small)))
    reserve = row + sum(ink_box(load_font("bold", small + 2), "0")) + 4  # 2 px around amount
    above = qr_plan(payload, min(width, height - reserve))
    if marked:
        return "above", above
    compact = qr_plan(payload, min(width, height - _compact_row_h(size)))
    if compact is not None and (above is None or compact.scale > above.scale):
        return "compact", compact
    return "above", above


def _compact_px(size: tuple[int, int]) -> int:
    """Text size of the single row under a QR card that fills a tall display."""
    return MIN_TEXT_PX


def _compact_row_h(size: tuple[int, int]) -> int:
    above, below = ink_box(load_font("bold", _compact_px(size)), _AMOUNT_GLYPHS)
    return above + below + 2  # one dark row above the text, one below


def _compact_baseline(size: tuple[int, int]) -> int:
    _, below = ink_box(load_font("bold", _compact_px(size)), _AMOUNT_GLYPHS)
    return size[1] - 1 - below


def _draw_card(canvas: Canvas, plan: QrPlan, x0: int, y0: int) -> None:
    draw_qr(canvas.draw, plan, x0, y0)
    canvas.mark("qr", (x0, y0, x0 + plan.card, y0 + plan.card))


def _draw_qr_beside(canvas: Canvas, screen: Screen, plan: QrPlan, size: tuple[int, int]) -> None:
    """The card in the left square; the column beside it: mark, title, amount, countdown."""
    width, height = size
    _draw_card(canvas, plan, 0, (height - plan.card) // 2)
    left = plan.card + 2 * PAD_PX
    max_w, small = width - left - PAD_PX, _small_px(size)
    y = 0
    if screen.mark:
        caps, _ = ink_box(load_font("narrow-bold", small), "TRAINGУЧЕБНЫЙ")
        tag = plan_tag(screen.mark, width - PAD_PX, caps + 2, small)
        draw_tag(canvas, tag, DARK)
        y = tag.box[3] + 1
    titles = fit_title(screen.title, max_w, ((range(small, small - 1, -1), 2),))
    above, below = line_box(titles[0].font)
    for line in titles:
        canvas.text(left, y + above, line, LIT, "title")
        y += above + below
    bottom = height
    clock = _clock(screen, size, "beside")
    if clock is not None:
        canvas.text(clock.x, clock.baseline, clock.text, clock.fill, "countdown")
        bottom -= clock.text.height
    draw_stack(canvas, screen, (left - PAD_PX, y, width, bottom), small)


def _draw_qr_above(canvas: Canvas, screen: Screen, plan: QrPlan, size: tuple[int, int]) -> None:
    """The card on top; the amount under it; the last row: title, mark, countdown."""
    width, height = size
    _draw_card(canvas, plan, (width - plan.card) // 2, 0)
    small = _small_px(size)
    above, below = line_box(load_font("bold", small))
    baseline, right = height - below, width - PAD_PX
    clock = _clock(screen, size, "above")
    if clock is not None:
        canvas.text(clock.x, clock.baseline, clock.text, clock.fill, "countdown")
        right = clock.x - 2 * PAD_PX
    if screen.mark:
        tag = plan_tag(screen.mark, right, baseline, MIN_TEXT_PX, "narrow")  # a shared row
        draw_tag(canvas, tag, DARK)
        right = tag.box[0] - PAD_PX
    sizes = range(small, MIN_TEXT_PX - 1, -1)
    title = fit(screen.title, right - PAD_PX, ("bold", "narrow-bold"), sizes)
    canvas.text(PAD_PX, baseline, title, LIT, "title")
    no_hints = dataclasses.replace(screen, lines=())
    draw_stack(canvas, no_hints, (0, plan.card + 2, width, height - above - below), small)


def _draw_qr_compact(canvas: Canvas, screen: Screen, plan: QrPlan, size: tuple[int, int]) -> None:
    """The card fills all but one row; the row holds the amount, the countdown to its right."""
    width, height = size
    _draw_card(canvas, plan, (width - plan.card) // 2, 0)
    right = width - PAD_PX
    clock = _clock(screen, size, "compact")
    if clock is not None:
        canvas.text(clock.x, clock.baseline, clock.text, clock.fill, "countdown")
        right = clock.x - 2 * PAD_PX
    if screen.amount:
        font_px = _compact_px(size)
        amount = fit(screen.amount, right - PAD_PX, ("bold", "narrow-bold"), [font_px])
        canvas.text(PAD_PX, _compact_baseline(size), amount, LIT, "amount")
