"""Routing a scanned customer code: what counts as a wallet code, and which route takes it."""

from __future__ import annotations

import pytest

from terminal.config.model import RouteConfig
from terminal.machine.routing import MAX_CODE_LENGTH, check_code, route_code

#: Verystar-style lists (000): Alipay 16–24 characters from 25–30, WeChat 18 from 10–15.
ALIPAY = RouteConfig("alipay", "verystar", ("25", "26", "27", "28", "29", "30"),
                     tuple(range(16, 25)))  # fmt: skip
WECHAT = RouteConfig("wechat", "verystar", ("10", "11", "12", "13", "14", "15"), (18,))
SENDY = RouteConfig("sendy", "sendy", ("SND",), ())  # any length
POCKYT = RouteConfig("pockyt", "pockyt", (), (20,))  # any prefix, exactly 20 long
ROUTES = (ALIPAY, WECHAT, SENDY, POCKYT)


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("134567890123456789", None),
        ("SND-0f3a9c", None),
        ("x" * MAX_CODE_LENGTH, None),
        ("", "empty"),
        ("x" * (MAX_CODE_LENGTH + 1), "too_long"),
        ("1345\t67890123456789", "unreadable"),
        ("1345 6789", "unreadable"),
        ("13456789\n", "unreadable"),
        ("\x00\x01\x02", "unreadable"),
        ("\x1b[0m1345678", "unreadable"),
        ("кошелёк", "unreadable"),
        ("1345\u00a06789", "unreadable"),  # no-break space
        ("١٢٣٤٥٦", "unreadable"),  # Arabic-Indic digits: not ASCII
    ],
)
def test_check_code(code: str, problem: str | None) -> None:
    """Only non-empty printable ASCII without spaces, up to the length limit, is a code."""
    assert check_code(code) == problem


@pytest.mark.parametrize(
    ("code", "wallet"),
    [
        ("2812345678901234", "alipay"),  # 16, prefix 28
        ("301234567890123456789012", "alipay"),  # 24, prefix 30
        ("25123456789012345", "alipay"),  # 17
        ("134567890123456789", "wechat"),  # 18, prefix 13
        ("101234567890123456", "wechat"),
        ("SND123", "sendy"),
        ("SND" + "9" * 60, "sendy"),
        ("99999999999999999999", "pockyt"),  # 20, no prefix rule
        ("281234567890123", None),  # 15: too short for Alipay
        ("2812345678901234567890123", None),  # 25: too long for Alipay
        ("16123456789012345678", "pockyt"),  # 20 with prefix 16: only Pockyt's rule fits
        ("161234567890123456", None),  # 18 but prefix 16: not WeChat
        ("snd123", None),  # prefixes are case-sensitive
        ("9999", None),
    ],
)
def test_route_by_prefix_and_length(code: str, wallet: str | None) -> None:
    """A code goes to the route whose prefix list and length list both accept it."""
    route = route_code(code, ROUTES)
    assert (route.wallet if route else None) == wallet


def test_first_matching_route_wins() -> None:
    """When two routes accept a code, the one listed first takes it."""
    code = "28123456789012345678"  # 20 long, prefix 28: Alipay and Pockyt both accept it
    assert route_code(code, (ALIPAY, POCKYT)) == ALIPAY
    assert route_code(code, (POCKYT, ALIPAY)) == POCKYT


def test_route_with_empty_lists_takes_everything() -> None:
    """A route with neither prefixes nor lengths accepts any code."""
    catch_all = RouteConfig("sandbox", "sandbox")
    assert route_code("anything", (catch_all,)) == catch_all


def test_no_routes_no_match() -> None:
    """Without routes nothing is routed."""
    assert route_code("2812345678901234", ()) is None


def test_routes_may_be_any_iterable() -> None:
    """Routes can come as a generator (read once)."""
    assert route_code("134567890123456789", (r for r in ROUTES)) == WECHAT
