"""The cashier chooses the QR payment type: the numbered list, the default, the way back."""

from __future__ import annotations

from dataclasses import replace

import pytest
from machine_script import (
    CHOICE_SETTINGS,
    SETTINGS,
    WECHAT_CODE,
    Expect,
    Row,
    effects_of,
    key,
    press,
    run,
    scan,
    typed,
)

from terminal.machine import CallProvider, Phase, QrChoice, RecordPayment, State
from terminal.machine.api_events import ApiPaymentRequested
from terminal.views.screens import screen_for


def _created(script_step: object) -> CallProvider:
    calls = [e for e in effects_of(script_step, CallProvider)]  # type: ignore[arg-type]
    assert len(calls) == 1
    assert calls[0].op == "create"
    return calls[0]


def _choose(*rows: Row, settings: object = CHOICE_SETTINGS) -> object:
    opening: list[Row] = [*typed(0, "1500"), (1, key("enter"), Expect(phase=Phase.CHOOSE))]
    return run(State(settings), [*opening, *rows])  # type: ignore[arg-type]


def test_one_qr_type_keeps_enter_twice_to_a_qr() -> None:
    """A terminal with one QR provider: Enter, Enter asks for the QR, as before."""
    script = run(
        State(SETTINGS), [*typed(0, "1500"), (1, key("enter"), Expect(phase=Phase.CREATING))]
    )
    call = _created(script.steps[-1])
    assert call.provider == "paymaster"
    assert script.state.payment is not None
    assert script.state.payment.wallet == ""


def test_one_listed_type_goes_straight_to_its_qr_and_records_its_wallet() -> None:
    """One choice is no choice: no list, but the wallet is on the payment and the order."""
    settings = replace(SETTINGS, qr_choices=(QrChoice("paymaster", "sbp"),))
    script = run(
        State(settings), [*typed(0, "1500"), (1, key("enter"), Expect(phase=Phase.CREATING))]
    )
    call = _created(script.steps[-1])
    assert (call.provider, call.order.wallet) == ("paymaster", "sbp")
    recorded = effects_of(script.steps[-1], RecordPayment)
    assert recorded[0].payment.wallet == "sbp"


def test_enter_with_nothing_typed_takes_the_default() -> None:
    script = _choose((2, key("enter"), Expect(phase=Phase.CREATING)))
    call = _created(script.steps[-1])  # type: ignore[attr-defined]
    assert (call.provider, call.order.wallet) == ("wm_wechat", "wechat")


@pytest.mark.parametrize(
    ("digit", "provider"), [("1", "wm_sbp"), ("2", "wm_webmoney"), ("4", "wm_alipay")]
)
def test_a_digit_marks_a_type_and_enter_takes_it(digit: str, provider: str) -> None:
    script = _choose(
        (2, key(digit), Expect(phase=Phase.CHOOSE, state={"choice": digit})),
        (3, key("enter"), Expect(phase=Phase.CREATING)),
    )
    call = _created(script.steps[-1])  # type: ignore[attr-defined]
    assert call.provider == provider
    payment = script.state.payment  # type: ignore[attr-defined]
    assert (payment.provider, payment.wallet) == (provider, call.order.wallet)


def test_a_later_digit_replaces_the_mark_and_backspace_unmarks() -> None:
    script = _choose(
        (2, key("1"), Expect(state={"choice": "1"})),
        (3, key("4"), Expect(state={"choice": "4"})),
        (4, key("backspace"), Expect(phase=Phase.CHOOSE, state={"choice": ""})),
        (5, key("enter"), Expect(phase=Phase.CREATING)),
    )
    assert _created(script.steps[-1]).provider == "wm_wechat"  # type: ignore[attr-defined]


def test_a_number_beyond_the_list_is_told_and_changes_nothing() -> None:
    script = _choose(
        (2, key("7"), Expect(phase=Phase.CHOOSE, message="no_such_type", state={"choice": ""}))
    )
    assert script.state.entry == "1500"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "back", [key("clear"), key("backspace"), press("cancel")], ids=["clear", "backspace", "cancel"]
)
def test_clear_backspace_or_cancel_go_back_to_the_amount(back: object) -> None:
    script = _choose((2, back, Expect(phase=Phase.AMOUNT, calls=())))  # type: ignore[arg-type]
    assert script.state.entry == "1500"  # type: ignore[attr-defined]
    assert script.state.payment is None  # type: ignore[attr-defined]


def test_a_scan_on_the_list_pays_with_the_code_and_records_its_wallet() -> None:
    script = _choose((2, scan(WECHAT_CODE), Expect(phase=Phase.PAYING, calls=("pay",))))
    payment = script.state.payment  # type: ignore[attr-defined]
    assert (payment.provider, payment.wallet) == ("verystar", "wechat")


def test_zero_pages_a_long_list_and_is_refused_on_a_short_one() -> None:
    many = tuple(
        QrChoice(f"p{i}", w) for i, w in enumerate(("sbp", "webmoney", "wechat", "alipay", "sendy"))
    )
    webmoney = CHOICE_SETTINGS.providers["wm_sbp"]
    providers = {**CHOICE_SETTINGS.providers, **{c.provider: webmoney for c in many}}
    settings = replace(CHOICE_SETTINGS, qr_choices=many, qr_default=0, providers=providers)
    script = _choose((2, key("0"), Expect(state={"choice_page": 1})), settings=settings)
    first = screen_for(replace(script.state, choice_page=0), "en")  # type: ignore[type-var]
    second = screen_for(script.state, "en")  # type: ignore[arg-type]
    assert first.lines[:-1] != second.lines[:-1]
    shown = " ".join((*first.lines, *second.lines))
    for number in "12345":
        assert f"{number} " in shown
    assert second.lines[-1] == "0 more  ENTER: SBP"
    two = replace(CHOICE_SETTINGS, qr_choices=CHOICE_SETTINGS.qr_choices[:2], qr_default=0)
    _choose((2, key("0"), Expect(rejected=True)), settings=two)


def test_the_list_screen_names_the_keys_and_the_default() -> None:
    script = _choose()
    screen = screen_for(script.state, "en")  # type: ignore[arg-type]
    assert screen.name == "choose"
    assert screen.lines == ("1 SBP  2 WebMoney", "3 WeChat  4 Alipay", "ENTER: WeChat")
    marked = screen_for(replace(script.state, choice="2"), "ru")  # type: ignore[type-var]
    assert marked.lines == ("1 СБП  2 WebMoney", "3 WeChat  4 Alipay", "ВВОД: WebMoney")


def _api_choose(provider: str = "") -> ApiPaymentRequested:
    return ApiPaymentRequested(1500, "RUB", "POS-1", "choose", provider, "", "k", "h")


def test_the_api_choose_payment_offers_the_same_list() -> None:
    script = run(State(CHOICE_SETTINGS), [
        (0, _api_choose(), Expect(phase=Phase.PRESENT)),
        (1, key("1"), Expect(phase=Phase.PRESENT, state={"choice": "1"})),
        (2, key("enter"), Expect(phase=Phase.CREATING)),
    ])  # fmt: skip
    first = run(State(CHOICE_SETTINGS), [(0, _api_choose(), Expect(phase=Phase.PRESENT))])
    assert screen_for(first.state, "en").name == "choose"
    call = _created(script.steps[-1])
    assert (call.provider, call.order.wallet) == ("wm_sbp", "sbp")


def test_an_api_payment_naming_its_provider_is_offered_that_provider_alone() -> None:
    script = run(State(CHOICE_SETTINGS), [
        (0, _api_choose("wm_alipay"), Expect(phase=Phase.PRESENT)),
        (1, key("2"), Expect(rejected=True)),
        (2, key("enter"), Expect(phase=Phase.CREATING)),
    ])  # fmt: skip
    assert _created(script.steps[-1]).order.wallet == "alipay"


def test_an_api_qr_payment_records_the_default_wallet_of_its_provider() -> None:
    qr = ApiPaymentRequested(1500, "RUB", "POS-1", "qr", "wm_webmoney", "", "k", "h")
    script = run(State(CHOICE_SETTINGS), [(0, qr, Expect(phase=Phase.CREATING))])
    assert _created(script.steps[-1]).order.wallet == "webmoney"


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.parametrize("size", [(128, 64), (128, 128)], ids=["128x64", "128x128"])
@pytest.mark.parametrize("count", [2, 3, 4, 9])
def test_every_line_of_the_list_is_drawn_whole(
    lang: str, size: tuple[int, int], count: int
) -> None:
    """Each page of the list, and the keys' line, fits the display: nothing dropped or cut."""
    from hw.display.render import screen_layout

    kinds = ("sbp", "webmoney", "wechat", "alipay", "sendy", "wechat", "alipay", "sbp", "")
    choices = tuple(QrChoice(f"prov{i}", kinds[i]) for i in range(count))
    state = replace(
        _choose().state, settings=replace(CHOICE_SETTINGS, qr_choices=choices, qr_default=0)
    )  # type: ignore[attr-defined]
    for page in range(count):
        screen = screen_for(replace(state, choice_page=page), lang)  # type: ignore[arg-type]
        drawn = screen_layout(screen, size).of("hint")
        assert [d.text for d in drawn] == [" ".join(line.split()) for line in screen.lines]
        assert not any(d.cut for d in drawn)
