"""The amount and hint lines of a screen, each as large as the room allows, centred in a box.

The amount matters more than any hint: hints are made smaller, then dropped, before the
amount is; the amount is never cut short while it fits at the smallest legible size.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from PIL import ImageDraw

from hw.display.drawing import LIT, PAD_PX, load_font
from hw.display.text_fit import MIN_TEXT_PX, Text, draw_text, fit, ink_box, make_text, text_sizes
from terminal.views.model import Screen

__all__ = ["draw_stack"]

log = logging.getLogger(__name__)


def draw_stack(
    draw: ImageDraw.ImageDraw, screen: Screen, box: tuple[int, int, int, int], small: int
) -> None:
    """Amount and hint lines of ``screen``, centred in ``box`` (left, top, right, bottom)."""
    left, top, right, bottom = box
    max_w, room = right - left - 2 * PAD_PX, bottom - top
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


def _fit_hints(screen: Screen, max_w: int, room: int, small: int) -> list[Text]:
    """Hint lines in the largest size that leaves the amount readable; drops what can't fit."""
    amount_h = sum(ink_box(load_font("bold", small + 4), "0")) + 2 if screen.amount else 0
    first = small if screen.amount else small + 2
    for size_px in text_sizes(first, small - 2):
        sizes = text_sizes(size_px, small - 2)
        hints = [fit(line, max_w, ("sans", "narrow"), sizes) for line in screen.lines]
        if sum(h.height for h in hints) + amount_h <= room:
            return hints
    while hints and sum(h.height for h in hints) + amount_h > room:
        log.debug("display:hint dropped, no room: %r", hints.pop().text)
    return hints


def _fit_amount(amount: str, max_w: int, max_h: int, small: int) -> list[Text]:
    """The amount in the largest bold size that fits ``max_w`` × ``max_h``; never cut short.

    One line at ``small`` or larger; else the number above its currency; else one line down
    to the smallest legible size; only then cut with an ellipsis.
    """
    faces = ("bold", "narrow-bold")
    one_line = _largest([amount], max_w, max_h, faces, text_sizes(small * 3, small))
    if one_line:
        return one_line
    number, _, unit = amount.rpartition(" ")
    if number:
        two_lines = _largest([number, unit], max_w, max_h, faces, text_sizes(small * 3, 0))
        if two_lines:
            return two_lines
    one_line = _largest([amount], max_w, max_h, faces, text_sizes(small - 1, 0))
    return one_line or [fit(amount, max_w, ("narrow-bold",), [MIN_TEXT_PX], tight=True)]


def _largest(
    lines: Sequence[str], max_w: int, max_h: int, faces: Sequence[str], sizes: Sequence[int]
) -> list[Text]:
    """``lines`` in the largest size and face at which all fit ``max_w`` × ``max_h``; or []."""
    for size_px in sizes:
        for face in faces:
            texts = [make_text(line, load_font(face, size_px), tight=True) for line in lines]
            if max(t.width for t in texts) <= max_w and _column_h(texts) <= max_h:
                return texts
    return []


def _px(texts: Sequence[Text]) -> float:
    """The largest font size among ``texts`` (0 for none or Pillow's bitmap font)."""
    return max((float(getattr(text.font, "size", 0)) for text in texts), default=0.0)


def _column_h(items: Sequence[Text]) -> int:
    """Height of a column: the items, with 2 px under the first when more follow."""
    return sum(item.height for item in items) + 2 * (len(items) > 1)


def _draw_centred_column(
    draw: ImageDraw.ImageDraw, items: Sequence[Text], left: int, right: int, y: int
) -> None:
    for index, item in enumerate(items):
        x = left + (right - left - item.width) // 2
        draw_text(draw, x, y + item.above, item, LIT)
        y += item.height + (2 if index == 0 else 0)
