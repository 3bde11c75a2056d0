"""A drawing surface that remembers what went where: each text line, the QR card, the tag.

The screens are drawn through a :class:`Canvas`, so the same pass that draws a frame also
tells where its parts are (:class:`Drawn`): tests check the text-fit rules and that the
TRAINING tag hides neither the amount nor the QR, with the very code that draws them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import ImageDraw, ImageFont

from hw.display.text_fit import Text, draw_text

__all__ = ["Box", "Canvas", "Drawn", "DrawnText", "overlaps"]

#: (left, top, right, bottom) in pixels, right and bottom excluded.
Box = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class DrawnText:
    """One line of text as drawn: its words, its role, its size in pixels, its box."""

    text: str
    role: str  # "title", "amount", "hint", "countdown" or "mark"
    px: int
    box: Box
    cut: bool


@dataclass(slots=True)
class Drawn:
    """Everything drawn on one frame: text lines, and named boxes ("qr", "mark", "header")."""

    texts: list[DrawnText] = field(default_factory=list)
    boxes: dict[str, Box] = field(default_factory=dict)

    def of(self, role: str) -> list[DrawnText]:
        """The text lines drawn in ``role``."""
        return [text for text in self.texts if text.role == role]


class Canvas:
    """An ImageDraw that records each text line and named box in :attr:`drawn`."""

    def __init__(self, draw: ImageDraw.ImageDraw) -> None:
        self.draw = draw
        self.drawn = Drawn()

    def text(self, x: int, baseline: int, text: Text, fill: int, role: str) -> None:
        """Draw ``text`` from ``x`` on ``baseline`` and remember it as ``role``."""
        draw_text(self.draw, x, baseline, text, fill)
        size = text.font.size if isinstance(text.font, ImageFont.FreeTypeFont) else 0
        box = (x, baseline - text.above, x + text.width, baseline + text.below)
        self.drawn.texts.append(DrawnText(text.text, role, int(size), box, text.cut))

    def mark(self, name: str, box: Box) -> None:
        """Remember that ``name`` (the QR card, the tag, the header) covers ``box``."""
        self.drawn.boxes[name] = box


def overlaps(a: Box, b: Box) -> bool:
    """True when boxes ``a`` and ``b`` share a pixel."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
