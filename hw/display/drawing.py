"""What every drawing on the customer display shares: pixel values, the margin, the fonts.

Text is drawn in the DejaVu faces shipped with payterm (Cyrillic, the rouble sign, ✓ and ✗),
or in Debian's copies of them when a bundled face is missing, or at last in Pillow's own.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from PIL import ImageFont

__all__ = ["DARK", "FACES", "FONT_DIR", "LIT", "PAD_PX", "SYSTEM_FONT_DIR", "Font", "load_font"]

log = logging.getLogger(__name__)

#: The DejaVu faces shipped with payterm (Cyrillic, the rouble sign, ✓ and ✗).
FONT_DIR = Path(__file__).parent.parent / "fonts"
#: Where Debian's fonts-dejavu-core/-extra put DejaVu, tried when a bundled face is missing.
SYSTEM_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")

LIT = 1  # a lit (white) OLED pixel
DARK = 0
PAD_PX = 2  # margin kept clear at the display's edges

FACES = {
    "sans": "DejaVuSans.ttf",
    "bold": "DejaVuSans-Bold.ttf",
    "narrow": "DejaVuSansCondensed.ttf",
    "narrow-bold": "DejaVuSansCondensed-Bold.ttf",
    "mono": "DejaVuSansMono.ttf",
}

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@functools.lru_cache(maxsize=64)
def load_font(face: str, size_px: int) -> Font:
    """The DejaVu ``face`` ("sans", "bold", "narrow", "narrow-bold", "mono") at ``size_px``."""
    for folder in (FONT_DIR, SYSTEM_FONT_DIR):
        try:
            return ImageFont.truetype(str(folder / FACES[face]), size_px)
        except OSError:
            continue
    log.warning("display:font %s not found in %s or %s", FACES[face], FONT_DIR, SYSTEM_FONT_DIR)
    return ImageFont.load_default(size_px)
