"""Fitting text to the display: the largest size that fits, word wrap, ellipsis, drawing.

A :class:`Text` is a string with the font it is drawn in and its box around the baseline;
:func:`fit` picks the largest size (then the narrower face) at which a string fits a width,
:func:`fit_lines` the largest at which it fits in a few lines broken between words.

The rules: no text is drawn smaller than :data:`MIN_TEXT_PX`; a line is broken only
between words, never inside one; a text is cut short (with "…", marked ``cut``) only when
even its longest word does not fit the width at that size.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import ImageDraw, ImageFont

from hw.display.drawing import Font, load_font

__all__ = [
    "MIN_TEXT_PX",
    "Text",
    "draw_text",
    "fit",
    "fit_lines",
    "ink_box",
    "line_box",
    "make_text",
    "text_sizes",
    "text_width",
]

#: Below this a word on a 0.96" or 1.5" OLED is not read from arm's length (a 10 px DejaVu
#: capital is 7 px, about 1.3 mm on the smaller panel).
MIN_TEXT_PX = 10
_ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class Text:
    """A string fitted to a width: the font it is drawn in and its box around the baseline."""

    text: str
    font: Font
    width: int
    above: int  # pixels above the baseline
    below: int  # pixels below the baseline
    cut: bool = False  # shortened with an ellipsis: it did not fit

    @property
    def height(self) -> int:
        """Pixels from the top of the box to its bottom."""
        return self.above + self.below


def text_width(font: Font, text: str) -> int:
    """Pixels ``text`` takes in ``font``, rounded up."""
    return int(font.getlength(text) + 0.999)


@functools.lru_cache(maxsize=256)
def line_box(font: Font) -> tuple[int, int]:
    """Room a text line needs above and below its baseline (Cyrillic breve, descenders)."""
    return ink_box(font, "ЙШgду")


def ink_box(font: Font, text: str) -> tuple[int, int]:
    """Pixels ``text`` inks above and below its baseline in ``font``."""
    if isinstance(font, ImageFont.FreeTypeFont):
        _, top, _, bottom = font.getbbox(text, anchor="ls")
        return int(-top), int(bottom)
    _, top, _, bottom = font.getbbox(text)
    return int(bottom - top), 0


def fit(
    text: str, max_w: int, faces: Sequence[str], sizes: Sequence[int], *, tight: bool = False
) -> Text:
    """The largest size (then the narrower face) at which ``text`` fits, else ellipsized."""
    for size_px in sizes:
        for face in faces:
            font = load_font(face, size_px)
            if text_width(font, text) <= max_w:
                return make_text(text, font, tight=tight)
    font = load_font(faces[-1], sizes[-1])
    return make_text(_ellipsize(text, font, max_w), font, tight=tight, cut=True)


def fit_lines(
    text: str, max_w: int | Sequence[int], faces: Sequence[str], sizes: Sequence[int],
    max_lines: int,
) -> list[Text] | None:  # fmt: skip
    """``text`` at the largest size it fits on one line, else on up to ``max_lines`` lines
    broken between words; None when it fits neither way at any of ``sizes``.

    ``max_w`` is the width of every line, or of each line in turn (the last one repeats).
    """
    widths = [max_w] if isinstance(max_w, int) else list(max_w)
    for lines in range(1, max_lines + 1):
        for size_px in sizes:
            for face in faces:
                font = load_font(face, size_px)
                broken = _break(text, font, widths)
                if broken is not None and len(broken) <= lines:
                    return [make_text(line, font, tight=False) for line in broken]
    return None


def _break(text: str, font: Font, widths: Sequence[int]) -> list[str] | None:
    """Greedy word wrap of ``text`` to ``widths``; None when a word alone is wider."""
    lines: list[str] = []

    def room() -> int:
        return widths[min(len(lines) - 1, len(widths) - 1)]

    for word in text.split():
        if lines and text_width(font, f"{lines[-1]} {word}") <= room():
            lines[-1] = f"{lines[-1]} {word}"
            continue
        lines.append(word)
        if text_width(font, word) > room():
            return None
    return lines or [""]


def make_text(text: str, font: Font, *, tight: bool, cut: bool = False) -> Text:
    """``text`` in ``font``, boxed by its own ink when ``tight``, else by the font's line."""
    above, below = ink_box(font, text) if tight else line_box(font)
    return Text(text, font, text_width(font, text), above, below, cut)


def _ellipsize(text: str, font: Font, max_w: int) -> str:
    while text and text_width(font, text + _ELLIPSIS) > max_w:
        text = text[:-1]
    return text.rstrip() + _ELLIPSIS


def draw_text(draw: ImageDraw.ImageDraw, x: int, baseline: int, text: Text, fill: int) -> None:
    """Draw ``text`` from ``x`` on ``baseline`` in ``fill``."""
    if isinstance(text.font, ImageFont.FreeTypeFont):
        draw.text((x, baseline), text.text, font=text.font, fill=fill, anchor="ls")
    else:
        draw.text((x, baseline - text.above), text.text, font=text.font, fill=fill)


def text_sizes(largest: int, smallest: int) -> range:
    """Font sizes from ``largest`` down to ``smallest``, never below :data:`MIN_TEXT_PX`."""
    return range(largest, max(smallest, MIN_TEXT_PX) - 1, -1)
