"""CODE128 for slips: ``GS k`` data with code sets B and C, its width, and the bars for an image."""

from __future__ import annotations

import re

__all__ = ["code128_bars", "code128_data", "code128_modules"]


def code128_data(code: str) -> str | None:
    """``code`` as ESC/POS ``GS k`` CODE128 data: code set B, and set C for digit runs.

    A run of digits switches to set C (two digits per symbol) where that is shorter: the
    whole code, 4 or more digits at either end, 6 or more in the middle. None when ``code``
    is empty, too long or has characters outside printable ASCII (or a brace, which ESC/POS
    reads as a code-set switch).
    """
    if not code or len(code) > 120 or not all(" " <= c <= "~" and c != "{" for c in code):
        return None
    out: list[str] = []
    current = ""
    for code_set, text in _code128_segments(code):
        if code_set != current:
            out.append("{" + code_set)
            current = code_set
        if code_set == "C":
            out.append("".join(chr(int(text[i : i + 2])) for i in range(0, len(text), 2)))
        else:
            out.append(text)
    return "".join(out)


def code128_modules(data: str) -> int:
    """Width in modules of ``GS k`` CODE128 ``data``: start, symbols, check (11 each), stop (13).

    Quiet zones are not included.
    """
    symbols = len(data) - data.count("{") - 1  # the first "{B"/"{C" is the start symbol
    return 11 * (symbols + 2) + 13


def _code128_segments(code: str) -> list[tuple[str, str]]:
    if code.isdigit() and len(code) >= 2:
        even = len(code) - len(code) % 2
        return [("C", code[:even])] + ([("B", code[even:])] if code[even:] else [])
    segments: list[tuple[str, str]] = []
    pos = 0
    for match in re.finditer(r"\d{4,}", code):
        at_edge = match.start() == 0 or match.end() == len(code)
        if not at_edge and len(match.group()) < 6:
            continue
        digits = match.group()
        odd = len(digits) % 2
        start = match.start() + (odd if match.start() > 0 else 0)  # odd digit stays in set B
        segments.append(("B", code[pos:start]))
        segments.append(("C", code[start : start + len(digits) - odd]))
        pos = start + len(digits) - odd
    segments.append(("B", code[pos:]))
    return [(code_set, text) for code_set, text in segments if text]


def code128_bars(code: str) -> str | None:
    """The CODE128 symbol as a string of modules ("1" bar, "0" space), for printing as image."""
    if code128_data(code) is None:
        return None
    from barcode.codex import Code128  # type: ignore[import-untyped]

    return str(Code128(code).build()[0])
