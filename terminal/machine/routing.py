"""Routing a scanned customer code to the wallet and provider that can charge it."""

from __future__ import annotations

from collections.abc import Iterable

from terminal.config.model import RouteConfig

__all__ = ["MAX_CODE_LENGTH", "check_code", "route_code"]

#: Longer scans are not wallet codes (WeChat 18, Alipay 16–24, Alipay+ up to 32 characters).
MAX_CODE_LENGTH = 64


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
