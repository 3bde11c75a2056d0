"""Fitting text to the display: the largest size that fits, word wrap, ellipsis, drawing.

A :class:`Text` is a string with the font it is drawn in and its box around the baseline;
:func:`fit` picks the largest size (then the narrower face) at which a string fits a width.
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
    "ink_box",
    "line_box",
    "make_text",
    "text_sizes",
    "text_width",
    "wrap",
]

MIN_TEXT_PX = 8  # below this DejaVu is no longer legible on an OLED
_ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class Text:
    """A string fitted to a width: the font it is drawn in and its box around the baseline."""

    text: str
    font: Font
    width: int
    above: int  # pixels above the baseline
    below: int  # pixels below the baseline

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
    return make_text(_ellipsize(text, font, max_w), font, tight=tight)


def make_text(text: str, font: Font, *, tight: bool) -> Text:
    """``text`` in ``font``, boxed by its own ink when ``tight``, else by the font's line."""
    above, below = ink_box(font, text) if tight else line_box(font)
    return Text(text, font, text_width(font, text), above, below)


def _ellipsize(text: str, font: Font, max_w: int) -> str:
    while text and text_width(font, text + _ELLIPSIS) > max_w:
        text = text[:-1]
    return text.rstrip() + _ELLIPSIS


def wrap(text: str, font: Font, max_w: int, max_lines: int) -> list[str]:
    """Greedy word wrap into at most ``max_lines``; a line that still overflows is ellipsized."""
    lines: list[str] = []
    words = text.split()
    while words and len(lines) < max_lines:
        line = words.pop(0)
        while words and text_width(font, f"{line} {words[0]}") <= max_w:
            line = f"{line} {words.pop(0)}"
        lines.append(line)
    if words:
        lines[-1] = " ".join([lines[-1], *words])
    return [
        line if text_width(font, line) <= max_w else _ellipsize(line, font, max_w) for line in lines
    ]


def draw_text(draw: ImageDraw.ImageDraw, x: int, baseline: int, text: Text, fill: int) -> None:
    """Draw ``text`` from ``x`` on ``baseline`` in ``fill``."""
    if isinstance(text.font, ImageFont.FreeTypeFont):
        draw.text((x, baseline), text.text, font=text.font, fill=fill, anchor="ls")
    else:
        draw.text((x, baseline - text.above), text.text, font=text.font, fill=fill)


def text_sizes(largest: int, smallest: int) -> range:
    """Font sizes from ``largest`` down to ``smallest``, never below :data:`MIN_TEXT_PX`."""
    return range(largest, max(smallest, MIN_TEXT_PX) - 1, -1)
