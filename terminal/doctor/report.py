"""The doctor's output: a fixed-width table, JSON, and the commissioning slip."""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from itertools import zip_longest

from terminal.doctor.results import CheckResult, Status
from terminal.system.host_info import HostInfo
from terminal.system.image_info import ImageInfo
from terminal.views.model import Slip, SlipKind, SlipLine
from terminal.views.slips import fit, pair_line

__all__ = [
    "TABLE_WIDTH",
    "format_table",
    "format_json",
    "summary",
    "exit_code",
    "commissioning_slip",
]

TABLE_WIDTH = 100  # fits an SSH terminal; the Pi's console at 1080p is wider still
_STATUS_W = 6  # "RESULT"; the statuses are four letters
_NAME_W = 22
_GAP = "  "
_ASCII = {"→": "->", "…": "...", "—": "-", "×": "x"}  # slips print in a Cyrillic code page


def format_table(results: Sequence[CheckResult], *, width: int = TABLE_WIDTH) -> str:
    """The results as a fixed-width table (RESULT, PART, DETAIL, FIX), long cells wrapped."""
    rest = max(width - _STATUS_W - _NAME_W - 3 * len(_GAP), 20)
    detail_w = rest * 9 // 20  # the fix usually says more than the detail
    widths = (_STATUS_W, _NAME_W, detail_w, rest - detail_w)
    rows = [_row(("RESULT", "PART", "DETAIL", "FIX"), widths)]
    rows.append(_row(tuple("-" * w for w in widths), widths))
    for result in results:
        cells = (str(result.status), result.name, result.detail, result.fix)
        rows.append(_row(cells, widths))
    return "\n".join([*rows, summary(results)]) + "\n"


def format_json(results: Sequence[CheckResult]) -> str:
    """The results as a JSON list of objects: name, status, detail, fix."""
    items = [
        {"name": r.name, "status": str(r.status), "detail": r.detail, "fix": r.fix} for r in results
    ]
    return json.dumps(items, ensure_ascii=False, indent=2) + "\n"


def summary(results: Sequence[CheckResult]) -> str:
    """One line counting each status, e.g. "12 passed, 1 failed, 2 warnings, 3 skipped"."""
    counts = Counter(r.status for r in results)
    words = (
        (Status.PASS, "passed"),
        (Status.FAIL, "failed"),
        (Status.WARN, "warning(s)"),
        (Status.SKIP, "skipped"),
    )
    return ", ".join(f"{counts[status]} {word}" for status, word in words)


def exit_code(results: Sequence[CheckResult]) -> int:
    """1 when any check failed, else 0."""
    return 1 if any(r.status is Status.FAIL for r in results) else 0


def commissioning_slip(
    results: Sequence[CheckResult],
    *,
    terminal_id: str,
    hardware: str,
    wall: datetime,
    columns: int = 32,
    host: HostInfo | None = None,
    image: ImageInfo | None = None,
) -> Slip:
    """The slip a technician leaves with the terminal: every result, with the fix of each.

    With ``host`` its top also says how to reach the terminal: host name, every address
    ("IP" lines, each "interface address"), Wi-Fi, payterm's version and the image's.
    """
    rule = SlipLine("-" * columns)
    lines: list[SlipLine] = [
        SlipLine("COMMISSIONING", align="center", bold=True, large=True),
        SlipLine("payterm doctor", align="center"),
        rule,
        *pair_line("Terminal", terminal_id, columns),
        *pair_line("Hardware", hardware, columns),
        *pair_line("Checked", wall.strftime("%Y-%m-%d %H:%M %Z"), columns),
        *_host_lines(host, image, columns),
        rule,
    ]
    for result in results:
        lines += pair_line(_ascii(result.name), str(result.status), columns)
        if result.status is not Status.PASS:
            lines.append(SlipLine(f"  {_ascii(result.detail)}"))
            if result.fix:
                lines.append(SlipLine(f"  fix: {_ascii(result.fix)}"))
    lines += [rule, SlipLine(summary(results), align="center", bold=True)]
    fitted = tuple(piece for line in lines for piece in fit(line, columns))
    return Slip(SlipKind.X_REPORT, f"doctor-{wall:%Y%m%d%H%M%S}", fitted)


def _host_lines(host: HostInfo | None, image: ImageInfo | None, columns: int) -> list[SlipLine]:
    """Host, IP (one line each), Wi-Fi, Version and Image, as label-value lines."""
    if host is None:
        return []
    lines = pair_line("Host", host.hostname or "?", columns)
    for address in host.addresses() or ["none"]:
        lines += pair_line("IP", address, columns)
    lines += pair_line("Wi-Fi", host.wifi.describe(), columns)
    lines += pair_line("Version", f"payterm {host.version}", columns)
    lines += pair_line("Image", image.describe() if image else "not the payterm image", columns)
    return lines


def _row(cells: tuple[str, ...], widths: tuple[int, ...]) -> str:
    """One table row; cells wrap onto continuation lines within their column."""
    wrapped = [
        textwrap.wrap(cell, w, break_on_hyphens=False) or [""]
        for cell, w in zip(cells, widths, strict=True)
    ]
    lines = []
    for parts in zip_longest(*wrapped, fillvalue=""):
        padded = [f"{part:<{w}}" for part, w in zip(parts, widths, strict=True)]
        lines.append(_GAP.join(padded).rstrip())
    return "\n".join(lines)


def _ascii(text: str) -> str:
    for char, plain in _ASCII.items():
        text = text.replace(char, plain)
    return text
