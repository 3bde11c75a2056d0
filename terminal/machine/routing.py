"""Routing a scanned customer code to the wallet and provider that can charge it."""

from __future__ import annotations

import re
from collections.abc import Iterable

from terminal.config.model import RouteConfig

__all__ = ["MAX_CODE_LENGTH", "check_code", "route_code", "strip_symbology"]

#: Longer scans are not wallet codes (WeChat 18, Alipay 16–24, Alipay+ up to 32 characters).
MAX_CODE_LENGTH = 64

# ISO/IEC 15424 symbology identifier: "]", the symbology's code letter, one modifier character
# ("]Q1" QR Code, "]C0" Code 128, "]E0" EAN-13, "]d2" Data Matrix, "]e0" GS1 DataBar).
_SYMBOLOGY_ID = re.compile(r"\][A-Za-z][0-9A-Za-z]")


def strip_symbology(code: str) -> str:
    """``code`` without the symbology identifier a scanner may be set to send before it.

    No wallet code, payment link or slip number starts with "]", so a leading "]" + letter +
    one character is the scanner's AIM identifier (ISO/IEC 15424), never part of the code.
    """
    if _SYMBOLOGY_ID.match(code):
        return code[3:]
    return code


def check_code(code: str) -> str | None:
    """Return why ``code`` cannot be a wallet code, or None when it looks usable."""
    if not code:
        return "empty"
    if len(code) > MAX_CODE_LENGTH:
        return "too_long"
    if not code.isascii() or not code.isprintable() or any(c.isspace() for c in code):
        return "unreadable"
    return None


def route_code(code: str, routes: Iterable[RouteConfig]) -> RouteConfig | None:
    """Return the first route whose prefix and length lists both accept ``code``."""
    for route in routes:
        prefix_ok = not route.prefixes or any(code.startswith(p) for p in route.prefixes)
        length_ok = not route.lengths or len(code) in route.lengths
        if prefix_ok and length_ok:
            return route
    return None
