"""The QR code on the display: which symbol gets the biggest modules in a square, and drawing it.

A QR code is drawn dark modules on a lit card, the way phone cameras expect it, with its
quiet zone inside the card.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import segno
from PIL import Image, ImageDraw

from hw.display.drawing import DARK, LIT

__all__ = ["QrPlan", "draw_qr", "qr_plan"]

# Quiet zone, in modules: at least one must fit; more is drawn when the display has room, up to
# the standard's four. A larger module beats a wider quiet zone for a phone camera, but two
# modules of lit margin beat stronger error correction (the card's edge meets dark glass).
_MIN_QUIET_MODULES = 1
_GOOD_QUIET_MODULES = 2
_MAX_QUIET_MODULES = 4
_ERROR_LEVELS = ("h", "q", "m", "l")  # strongest first


@dataclass(frozen=True, slots=True)
class QrPlan:
    """A QR symbol (payload, error level, version) and the scale it gets in ``side`` pixels."""

    payload: str
    error: str  # error correction level, "l" to "h"
    version: int
    scale: int
    side: int

    @property
    def modules(self) -> int:
        """Modules on a side of the symbol, quiet zone excluded."""
        return 17 + 4 * self.version

    @property
    def matrix(self) -> tuple[tuple[int, ...], ...]:
        """The symbol's modules, row by row, 1 for dark."""
        return _matrix(self.payload, self.error, self.version)

    @property
    def quiet(self) -> int:
        """Modules of quiet zone drawn around the symbol: as many as fit, up to four."""
        return min(_MAX_QUIET_MODULES, (self.side // self.scale - self.modules) // 2)

    @property
    def card(self) -> int:
        """Side of the lit card: the symbol plus its quiet zone."""
        return (self.modules + 2 * self.quiet) * self.scale


@functools.lru_cache(maxsize=16)
def qr_plan(payload: str, side: int) -> QrPlan | None:
    """The symbol with the biggest modules in ``side`` pixels, or None if none fits.

    Ties go to a quiet zone of at least two modules, then to the stronger error correction.
    """
    best: tuple[tuple[int, int, int], QrPlan] | None = None
    for rank, (error, version) in enumerate(_versions(payload)):
        scale = side // (17 + 4 * version + 2 * _MIN_QUIET_MODULES)
        if scale < 1:
            continue
        plan = QrPlan(payload, error, version, scale, side)
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


def draw_qr(draw: ImageDraw.ImageDraw, plan: QrPlan, x0: int, y0: int) -> None:
    """Lit card of ``plan.card`` pixels at (x0, y0) with the dark modules centred in it."""
    card, scale = plan.card, plan.scale
    draw.rectangle((x0, y0, x0 + card - 1, y0 + card - 1), fill=LIT)
    offset = (card - plan.modules * scale) // 2
    draw.bitmap((x0 + offset, y0 + offset), _dark_modules(plan), fill=DARK)


@functools.lru_cache(maxsize=8)
def _dark_modules(plan: QrPlan) -> Image.Image:
    """The symbol's dark modules as a mask at the plan's scale, made once per symbol.

    Scaling a one-pixel-per-module image with NEAREST gives the same square modules as
    drawing each one, in C instead of a Python loop per module (every redraw of a QR screen).
    """
    side = plan.modules
    modules = Image.new("L", (side, side), 0)
    modules.putdata([255 if dark else 0 for row in plan.matrix for dark in row])
    return modules.resize((side * plan.scale, side * plan.scale), Image.Resampling.NEAREST)
