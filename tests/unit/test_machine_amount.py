"""Amount entry on the keypad, as a table: keys in, phase, digits, notice and screen out."""

from __future__ import annotations

from dataclasses import replace

import pytest
from machine_script import (
    SETTINGS,
    WECHAT_CODE,
    Expect,
    Row,
    answer,
    effects_of,
    key,
    now_at,
    press,
    run,
    scan,
    typed,
    unchanged_but_time,
)

from terminal.machine import CallProvider, Event, Phase, RecordPayment, Settings, State, step
from terminal.money import Money
from terminal.providers.base import Capabilities, PaymentStatus
from terminal.views.screens import screen_for

SMALL = replace(SETTINGS, max_amount_minor=10_000)  # at most 100.00

#: (name, settings, events typed one after the other, phase, digits kept, notice)
AMOUNT_TABLE: list[tuple[str, Settings, list[Event], Phase, str, str]] = [
    ("digits", SETTINGS, [key("1"), key("2"), key("3")], Phase.AMOUNT, "123", ""),
    ("double_zero", SETTINGS, [key("5"), key("00")], Phase.AMOUNT, "500", ""),
    ("zero_first_is_ignored", SETTINGS, [key("0")], Phase.IDLE, "", ""),
    ("double_zero_first_is_ignored", SETTINGS, [key("00"), key("7")], Phase.AMOUNT, "7", ""),
    ("zero_after_digit", SETTINGS, [key("4"), key("0")], Phase.AMOUNT, "40", ""),
    ("backspace", SETTINGS, [key("1"), key("2"), key("backspace")], Phase.AMOUNT, "1", ""),
    ("backspace_to_empty", SETTINGS, [key("1"), key("backspace")], Phase.AMOUNT, "", ""),
    ("clear", SETTINGS, [key("1"), key("2"), key("clear")], Phase.IDLE, "", ""),
    ("enter_with_nothing", SETTINGS, [key("1"), key("backspace"), key("enter")],
     Phase.AMOUNT, "", "amount_first"),
    ("enter", SETTINGS, [key("1"), key("5"), key("enter")], Phase.READY, "15", ""),
    ("max_amount_taken", SMALL, [key("1"), *[key("0")] * 4], Phase.AMOUNT, "10000", ""),
    ("over_max_digit_refused", SMALL, [key("1"), *[key("0")] * 4, key("1")],
     Phase.AMOUNT, "10000", "too_large"),
    ("over_max_double_zero_refused", SMALL, [key("1"), key("0"), key("0"), key("0"), key("00")],
     Phase.AMOUNT, "1000", "too_large"),
    ("notice_cleared_by_backspace", SMALL, [key("9"), *[key("9")] * 4, key("backspace")],
     Phase.AMOUNT, "999", ""),
    ("over_max_at_first_digit", replace(SETTINGS, max_amount_minor=5), [key("7")],
     Phase.IDLE, "", "too_large"),
    ("cancel_while_typing", SETTINGS, [key("1"), key("2"), press("cancel")], Phase.IDLE, "", ""),
    ("cancel_when_ready_goes_back", SETTINGS, [key("8"), key("enter"), press("cancel")],
     Phase.AMOUNT, "8", ""),
    ("backspace_when_ready_goes_back", SETTINGS, [key("8"), key("enter"), key("backspace")],
     Phase.AMOUNT, "8", ""),
    ("scan_before_amount", SETTINGS, [scan(WECHAT_CODE)], Phase.IDLE, "", "amount_first"),
    ("scan_with_empty_amount", SETTINGS, [key("3"), key("backspace"), scan(WECHAT_CODE)],
     Phase.AMOUNT, "", "amount_first"),
    ("qr_when_provider_has_none", replace(SETTINGS, providers={
        **SETTINGS.providers, "paymaster": Capabilities(supports_mpm=False)}),
     [key("8"), key("enter"), key("enter")], Phase.READY, "8", "no_mpm"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("settings", "events", "phase", "entry", "message"),
    [row[1:] for row in AMOUNT_TABLE],
    ids=[row[0] for row in AMOUNT_TABLE],
)
def test_amount_entry(
    settings: Settings, events: list[Event], phase: Phase, entry: str, message: str
) -> None:
    """Keys and buttons typed one after the other leave the amount as the table says."""
    rows: list[Row] = [(float(i), event, Expect()) for i, event in enumerate(events)]
    state = run(State(settings), rows).state
    assert (state.phase, state.entry, state.message) == (phase, entry, message)
    assert state.payment is None
    assert state.next_seq == 1


#: (name, events to get there, the event refused)
REFUSED_KEYS: list[tuple[str, list[Event], Event]] = [
    ("operator_key_idle", [], key("f1")),
    ("operator_key_amount", [key("1")], key("f2")),
    ("retry_amount", [key("1")], press("retry")),
    ("force_ready", [key("1"), key("enter")], press("force")),
    ("digit_ready", [key("1"), key("enter")], key("2")),
]


@pytest.mark.parametrize(
    ("events", "refused"), [r[1:] for r in REFUSED_KEYS], ids=[r[0] for r in REFUSED_KEYS]
)
def test_keys_that_do_not_edit_are_refused(events: list[Event], refused: Event) -> None:
    """Keys and buttons that mean nothing while typing are refused and change nothing."""
    rows: list[Row] = [(0.0, event, Expect()) for event in events]
    before = run(State(SETTINGS), rows).state
    result = step(before, refused, now_at(1))
    assert result.rejected.startswith("Can't ")
    assert unchanged_but_time(before, result.state)


@pytest.mark.parametrize(
    ("currency", "digits", "shown"),
    [("RUB", "1500", "15.00 RUB"), ("USD", "1234", "12.34 USD"), ("JPY", "1234", "1234 JPY")],
)
def test_currency_comes_from_settings(currency: str, digits: str, shown: str) -> None:
    """The typed amount is in the configured currency, on the screen and in the payment."""
    settings = replace(SETTINGS, currency=currency)
    script = run(State(settings), typed(0, digits))
    assert screen_for(script.state, "en").amount == shown
    assert screen_for(script.state, "ru").amount == shown
    started = script.feed(1, key("enter"))
    expected = Money(int(digits), currency)
    assert started.state.payment is not None
    assert started.state.payment.amount == expected
    assert effects_of(started, CallProvider)[0].order.amount == expected
    assert effects_of(started, RecordPayment)[0].payment.amount == expected


def test_screen_follows_the_digits() -> None:
    """Each digit shows at once on the amount screen."""
    script = run(State(SETTINGS), typed(0, "12", enter=False))
    assert screen_for(script.state, "en").amount == "0.12 RUB"
    script.feed(0, key("00"))
    assert screen_for(script.state, "en").amount == "12.00 RUB"


def test_notice_is_shown_on_the_amount_screen() -> None:
    """The "too large" notice is on the screen, in the cashier's language."""
    script = run(State(SMALL), [(0, key(d), Expect()) for d in "100001"])
    assert screen_for(script.state, "en").lines[0] == "Amount too large"
    assert screen_for(script.state, "ru").lines[0] == "Сумма слишком велика"


def test_typing_after_a_result_starts_the_next_amount() -> None:
    """A digit on the result screen begins the next customer's amount."""
    script = run(State(SETTINGS), [
        *typed(0, "1500"),
        (1, key("enter"), Expect(phase=Phase.CREATING)),
        (2, answer("create", PaymentStatus.DECLINED), Expect(phase=Phase.DONE)),
        (3, key("4"), Expect(phase=Phase.AMOUNT, state={"entry": "4", "payment": None})),
    ])  # fmt: skip
    assert script.state.next_seq == 2
