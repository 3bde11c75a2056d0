"""The amount and hint lines of a screen, each as large as the room allows, centred in a box.

The amount matters more than any hint: hints are made smaller, then dropped, before the
amount is; the amount is never cut short while it fits at the smallest legible size, and
takes two lines (the number above its currency) when that makes it larger. A hint too
wide for one line goes on two, broken between words, rather than into smaller type.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence

from hw.display.canvas import Canvas
from hw.display.drawing import LIT, PAD_PX, load_font
from hw.display.text_fit import (
    MIN_TEXT_PX,
    Text,
    fit,
    fit_lines,
    ink_box,
    make_text,
    text_sizes,
)
from terminal.views.model import Screen

__all__ = ["draw_stack"]

log = logging.getLogger(__name__)

_HINT_FACES = ("sans", "narrow")
_AMOUNT_FACES = ("bold", "narrow-bold")
_TWO_LINES_GAIN = 1.2  # the amount goes on two lines when that makes it this much larger


def draw_stack(canvas: Canvas, screen: Screen, box: tuple[int, int, int, int], small: int) -> None:
    """Amount and hint lines of ``screen``, centred in ``box`` (left, top, right, bottom)."""
    left, top, right, bottom = box
    max_w, room = right - left - 2 * PAD_PX, bottom - top
    hints = _fit_hints(screen, max_w, room, small)
    items: list[tuple[Text, str]] = [(line, "hint") for hint in hints for line in hint]
    if screen.amount:
        amount = _fit_amount(screen.amount, max_w, room - _column_h(_flat(hints)) - 2, small)
        # The amount matters more than any hint: never drawn smaller than the hints are.
        while hints and (
            _column_h([*amount, *_flat(hints)]) > room
            or _px(amount) < _px(_flat(hints))
            or amount[0].cut
        ):
            log.debug("display:hint dropped for the amount: %r", hints.pop())
            amount = _fit_amount(screen.amount, max_w, room - _column_h(_flat(hints)) - 2, small)
        items = [(text, "amount") for text in amount]
        items += [(line, "hint") for hint in hints for line in hint]
    texts = [text for text, _ in items]
    y = top + (room - _column_h(texts)) // 2
    for index, (item, role) in enumerate(items):
        x = left + (right - left - item.width) // 2
        canvas.text(x, y + item.above, item, LIT, role)
        y += item.height + (2 if index == 0 else 0)


def _flat(hints: Sequence[Sequence[Text]]) -> list[Text]:
    return [line for hint in hints for line in hint]


def _fit_hints(screen: Screen, max_w: int, room: int, small: int) -> list[list[Text]]:
    """Hint lines at the largest size that leaves the amount readable; drops what can't fit.

    Each hint is one line, or two broken between words; the first hints are kept longest,
    and a hint is kept or dropped whole.
    """
    amount_h = sum(ink_box(load_font("bold", small + 4), "0")) + 2 if screen.amount else 0
    first = small if screen.amount else small + 2
    wanted = list(screen.lines)
    while wanted:
        for size_px in text_sizes(first, MIN_TEXT_PX):
            hints = [_hint(line, max_w, size_px) for line in wanted]
            if sum(h.height for h in _flat(hints)) + amount_h <= room:
                return hints
        log.debug("display:hint dropped, no room: %r", wanted.pop())
    return []


def _hint(line: str, max_w: int, size_px: int) -> list[Text]:
    sizes = text_sizes(size_px, MIN_TEXT_PX)
    fitted = fit_lines(line, max_w, _HINT_FACES, sizes, 2)
    return fitted if fitted is not None else [fit(line, max_w, _HINT_FACES, sizes)]


def _fit_amount(amount: str, max_w: int, max_h: int, small: int) -> list[Text]:
    """The amount in the largest bold size that fits ``max_w`` × ``max_h``; never cut short.

    One line, or the number above its currency when that is larger; else one line down to
    the smallest legible size; only then cut with an ellipsis. The answer is kept: a QR
    screen is redrawn every second with the same amount, and trying the sizes is most of
    the time a frame takes.
    """
    return list(_fitted_amount(amount, max_w, max_h, small))


@functools.lru_cache(maxsize=64)
def _fitted_amount(amount: str, max_w: int, max_h: int, small: int) -> tuple[Text, ...]:
    return tuple(_try_amount(amount, max_w, max_h, small))


def _try_amount(amount: str, max_w: int, max_h: int, small: int) -> list[Text]:
    one_line = _largest([amount], max_w, max_h, text_sizes(small * 4, small))
    number, _, unit = amount.rpartition(" ")
    if number:
        floor = max(small, int(_px(one_line) * _TWO_LINES_GAIN) if one_line else small)
        two_lines = _largest([number, unit], max_w, max_h, text_sizes(small * 4, floor))
        if two_lines:
            return two_lines
    if one_line:
        return one_line
    one_line = _largest([amount], max_w, max_h, text_sizes(small - 1, MIN_TEXT_PX))
    return one_line or [fit(amount, max_w, ("narrow-bold",), [MIN_TEXT_PX], tight=True)]


def _largest(lines: Sequence[str], max_w: int, max_h: int, sizes: Sequence[int]) -> list[Text]:
    """``lines`` in the largest size and face at which all fit ``max_w`` × ``max_h``; or []."""
    for size_px in sizes:
        for face in _AMOUNT_FACES:
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
