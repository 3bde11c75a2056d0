"""The header of a screen: the state word as large as fits, its tone's sign, the countdown,
and the mark (TRAINING) as a small inverted tag.

The state word is the first thing a cashier looks for, so it gets the largest size at which
it fits the header on one line, else on two lines broken between words, never below
:data:`~hw.display.text_fit.MIN_TEXT_PX`. ``warn`` and ``error`` headers are inverted (lit
band, dark text); the tone's sign is drawn, not typed, so "!" never reads as "I": a tick
for ``ok``, a warning triangle for ``warn``, a cross for ``error``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hw.display.canvas import Box, Canvas
from hw.display.drawing import DARK, LIT, PAD_PX, load_font
from hw.display.text_fit import MIN_TEXT_PX, Text, fit, fit_lines, ink_box, line_box, make_text
from terminal.views.model import Screen

__all__ = ["Header", "Tag", "plan_header", "draw_header", "plan_tag", "draw_tag", "draw_sign"]

#: Header title sizes per panel height: stages of (sizes, at most this many lines).
_TALL_STAGES = ((range(18, 12, -1), 1), (range(18, 11, -1), 2), (range(12, 9, -1), 2))
_WIDE_STAGES = ((range(13, 9, -1), 1), (range(12, 9, -1), 2))
#: With the mark on the second line: the title on one or two lines, as large as fits (on
#: a 64-pixel panel, small: the header must leave the amount and a hint their room).
_TALL_BESIDE_MARK = ((range(16, 9, -1), 2),)
_WIDE_BESIDE_MARK = ((range(11, 9, -1), 2),)
_CAPS = "TRAINGУЧЕБНЫЙ"
_TAG_PAD = 1  # lit pixels left and right of the tag's text


@dataclass(frozen=True, slots=True)
class Tag:
    """The mark as drawn: its text, the box of the tag, where the text's baseline starts."""

    text: Text
    box: Box
    x: int
    baseline: int


@dataclass(frozen=True, slots=True)
class Header:
    """Where the header's parts go: title lines (x, baseline, text), sign, tag, its height."""

    titles: tuple[tuple[int, int, Text], ...]
    sign: Box | None
    tag: Tag | None
    height: int
    inverted: bool
    first_baseline: int


def _faces(size_px: int) -> tuple[str, ...]:
    # NOTE: DejaVu Sans Bold at 10 px and below fills the counters of "м", "ш"; the
    # condensed cut keeps them open.
    return ("narrow-bold",) if size_px <= 10 else ("bold", "narrow-bold")


def fit_title(
    text: str, max_w: int | Sequence[int], stages: Sequence[tuple[range, int]]
) -> list[Text]:
    """The title at the largest size of the first stage it fits in; cut only if none."""
    for sizes, lines in stages:
        for size_px in sizes:
            fitted = fit_lines(text, max_w, _faces(size_px), [size_px], lines)
            if fitted is not None:
                return fitted
    first = max_w if isinstance(max_w, int) else max_w[0]
    return [fit(text, first, ("narrow-bold",), [MIN_TEXT_PX])]


def plan_tag(mark: str, right: int, baseline: int, size_px: int, face: str = "narrow-bold") -> Tag:
    """The tag for ``mark`` ending at ``right``, its text on ``baseline``."""
    text = make_text(mark, load_font(face, size_px), tight=False)
    caps, _ = ink_box(text.font, _CAPS)
    left = right - text.width - 2 * _TAG_PAD
    box = (left, baseline - caps - 2, right, baseline + 2)
    return Tag(text, box, left + _TAG_PAD, baseline)


def draw_tag(canvas: Canvas, tag: Tag, background: int) -> None:
    """The tag in the colour opposite ``background``, its text in ``background``."""
    left, top, right, bottom = tag.box
    canvas.draw.rectangle((left, top, right - 1, bottom - 1), fill=LIT - background)
    canvas.text(tag.x, tag.baseline, tag.text, background, "mark")
    canvas.mark("mark", tag.box)


def plan_header(screen: Screen, width: int, tall: bool, reserved: int) -> Header:
    """The header of ``screen`` on a panel ``width`` wide; ``reserved`` pixels on the right
    of the first line are kept for the countdown.

    The mark goes beside the title when both fit on one line; else on the second line,
    beside the rest of the title, or alone there.
    """
    stages = _TALL_STAGES if tall else _WIDE_STAGES
    tag_px = 12 if tall else MIN_TEXT_PX
    tag_w = 0
    if screen.mark:
        tag_w = make_text(screen.mark, load_font("narrow-bold", tag_px), tight=False).width
        tag_w += 2 * _TAG_PAD + PAD_PX
    signed = screen.tone != "info"
    size_px = stages[0][0][0]
    for _ in range(2):  # the sign is as large as the title: fit, then fit again at its size
        sign_w = _sign_side(size_px) + PAD_PX if signed else 0
        room = width - 2 * PAD_PX - sign_w
        titles = fit_title(screen.title, room - reserved - tag_w, stages[:1])
        tag_line = 0
        if screen.mark and (len(titles) > 1 or titles[0].cut):
            beside = _TALL_BESIDE_MARK if tall else _WIDE_BESIDE_MARK
            titles = fit_title(screen.title, [room - reserved, room - tag_w], beside)
            tag_line = 1
        if not screen.mark or titles[0].cut:  # the title alone; the tag on a line below it
            titles = fit_title(screen.title, [room - reserved], stages)
            tag_line = len(titles) if screen.mark else 0
        size_px = int(getattr(titles[0].font, "size", size_px))
    above, below = line_box(titles[0].font)
    baselines = [1 + above + index * (above + below) for index in range(3)]
    placed = tuple((PAD_PX + sign_w, baselines[index], text) for index, text in enumerate(titles))
    height = 2 + max(len(titles), tag_line + 1) * (above + below)
    sign = None
    if signed:
        side = _sign_side(size_px)
        sign = (PAD_PX, baselines[0] - side, PAD_PX + side, baselines[0])
    tag = None
    if screen.mark:
        right = width - PAD_PX - (reserved if tag_line == 0 else 0)
        caps, _ = ink_box(load_font("narrow-bold", tag_px), _CAPS)
        # On the first line the tag keeps inside the band; on the second, under the first
        # line's descenders (and the countdown's).
        first_row = max(baselines[0], caps + 2)
        tag_baseline = (
            first_row
            if tag_line == 0
            else max(baselines[tag_line], baselines[tag_line - 1] + below + caps + 3)
        )
        tag = plan_tag(screen.mark, right, tag_baseline, tag_px)
        height = max(height, tag.box[3] + 1)
    inverted = screen.tone in ("warn", "error")
    return Header(placed, sign, tag, height, inverted, baselines[0])


def draw_header(canvas: Canvas, header: Header, screen: Screen, width: int) -> None:
    """The band (lit when inverted, else a rule under it), sign, title lines and tag."""
    fill = DARK if header.inverted else LIT
    if header.inverted:
        canvas.draw.rectangle((0, 0, width - 1, header.height - 1), fill=LIT)
    else:
        canvas.draw.line((0, header.height - 1, width - 1, header.height - 1), fill=LIT)
    canvas.mark("header", (0, 0, width, header.height))
    if header.sign is not None:
        draw_sign(canvas, screen.tone, header.sign, fill)
    for x, baseline, text in header.titles:
        canvas.text(x, baseline, text, fill, "title")
    if header.tag is not None:
        draw_tag(canvas, header.tag, LIT - fill)


def _sign_side(size_px: int) -> int:
    return max(7, round(size_px * 0.75))


def draw_sign(canvas: Canvas, tone: str, box: Box, fill: int) -> None:
    """The sign of ``tone`` in ``box``: a tick (ok), a warning triangle (warn), a cross."""
    left, top, right, bottom = box
    side = right - left
    draw, back = canvas.draw, LIT - fill
    canvas.mark("sign", box)
    if tone == "ok":
        knee = (left + side * 2 // 5, bottom - 2)
        draw.line((left, top + side // 2, *knee), fill=fill, width=2)
        draw.line((*knee, right - 1, top), fill=fill, width=2)
    elif tone == "warn":
        mid = left + (side - 1) // 2
        draw.polygon(((mid, top), (right - 1, bottom - 1), (left, bottom - 1)), fill=fill)
        bar = 2 if side >= 9 else 1
        x0 = mid - (bar - 1) // 2
        draw.rectangle((x0, top + side // 3, x0 + bar - 1, bottom - 5), fill=back)
        draw.rectangle((x0, bottom - 3, x0 + bar - 1, bottom - 2), fill=back)
    elif tone == "error":
        draw.line((left, top, right - 1, bottom - 1), fill=fill, width=2)
        draw.line((left, bottom - 1, right - 1, top), fill=fill, width=2)
