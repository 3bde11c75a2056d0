"""Routing a scanned customer code: what counts as a wallet code, and which route takes it."""

from __future__ import annotations

import pytest
from machine_script import ALIPAY_CODE, SETTINGS, WECHAT_CODE, run, scan, typed

from terminal.config.model import RouteConfig
from terminal.machine import CallProvider, FindPayment, Phase, RefundRequested, State
from terminal.machine.routing import MAX_CODE_LENGTH, check_code, route_code, strip_symbology

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


# --- symbology identifiers (ISO/IEC 15424, "AIM IDs") -----------------------------------


@pytest.mark.parametrize(
    ("scanned", "code"),
    [
        ("]Q1" + WECHAT_CODE, WECHAT_CODE),  # QR Code, model 2
        ("]C0" + ALIPAY_CODE, ALIPAY_CODE),  # Code 128
        ("]E0" + ALIPAY_CODE, ALIPAY_CODE),  # EAN/UPC
        ("]d2" + WECHAT_CODE, WECHAT_CODE),  # Data Matrix, GS1
        ("]e0SND123", "SND123"),  # GS1 DataBar
        ("]QA" + WECHAT_CODE, WECHAT_CODE),  # a letter as the modifier
        ("]Q1https://qr.nspk.ru/AS1000670LSS7DN18SJQDNP4B05KLJL2",
         "https://qr.nspk.ru/AS1000670LSS7DN18SJQDNP4B05KLJL2"),
        (WECHAT_CODE, WECHAT_CODE),  # no identifier: unchanged
        ("]Q1", ""),  # an identifier and nothing after it is an empty scan
        ("]1" + WECHAT_CODE, "]1" + WECHAT_CODE),  # "]" + digit is no identifier
        ("]Q", "]Q"),  # too short to be one
        ("]Q]" + WECHAT_CODE, "]Q]" + WECHAT_CODE),  # the modifier is a letter or digit
        ("x]Q1" + WECHAT_CODE, "x]Q1" + WECHAT_CODE),  # only a leading one is stripped
        ("]Q1]C0" + WECHAT_CODE, "]C0" + WECHAT_CODE),  # one identifier per scan
    ],
)  # fmt: skip
def test_strip_symbology(scanned: str, code: str) -> None:
    """A leading "]" + letter + letter-or-digit is the scanner's identifier, not the code."""
    assert strip_symbology(scanned) == code


@pytest.mark.parametrize("prefix", ["]Q1", "]C0", "]E0", "]d2"])
def test_a_code_with_a_symbology_identifier_is_charged_without_it(prefix: str) -> None:
    """The machine pays with the code itself: the identifier never reaches the provider."""
    script = run(State(SETTINGS), typed(0, "1500"))
    result = script.feed(1, scan(prefix + WECHAT_CODE))
    assert result.state.phase is Phase.PAYING
    assert result.state.message == ""
    calls = [e for e in result.effects if isinstance(e, CallProvider)]
    assert [(c.op, c.code) for c in calls] == [("pay", WECHAT_CODE)]


def test_an_identifier_alone_is_an_empty_scan() -> None:
    script = run(State(SETTINGS), typed(0, "1500"))
    result = script.feed(1, scan("]Q1"))
    assert (result.state.phase, result.state.message, result.effects) == (
        Phase.READY, "code_empty", (),
    )  # fmt: skip


def test_a_slip_barcode_with_a_symbology_identifier_is_looked_up_without_it() -> None:
    """Code 128 on the slip comes back as "]C0<number>": the number is what is looked up."""
    script = run(State(SETTINGS), [])
    script.feed(3600, RefundRequested())
    result = script.feed(3601, scan("]C0PM-7705"))
    finds = [e for e in result.effects if isinstance(e, FindPayment)]
    assert finds == [FindPayment("PM-7705")]
    assert result.state.phase is Phase.REFUND_SCAN
