"""What the display shows in every phase and what every slip says, in English and Russian."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Literal

import pytest
from machine_script import (
    CHOICE_SETTINGS,
    SETTINGS,
    WECHAT_CODE,
    Expect,
    Row,
    Script,
    answer,
    fail,
    fire,
    in_doubt,
    key,
    order_id,
    press,
    run,
    scan,
    typed,
)

import terminal.machine.machine as machine_module
from terminal.machine import (
    JournalFailed,
    PaymentLookedUp,
    Phase,
    PrinterReported,
    RefundRequested,
    Settings,
    State,
)
from terminal.machine.api_events import ApiPaymentRequested, PairingOpened
from terminal.machine.info_events import InfoRequested
from terminal.money import Money
from terminal.payment import Payment, PaymentState
from terminal.providers.base import PaymentStatus
from terminal.views.model import SlipKind
from terminal.views.screens import RESULT_WORDS, screen_for
from terminal.views.slips import build_slip
from terminal.views.text import TEXT, Language

S = PaymentStatus
QR = "https://qr.nspk.ru/AD100004BAL7227F9BNP6KNE007J9B3K"
LANGUAGES: tuple[Language, ...] = ("en", "ru")

MPM_WAITING: list[Row] = [
    *typed(0, "1500"),
    (1, key("enter"), Expect(phase=Phase.CREATING)),
    (2, answer("create", S.PENDING, ref="PM-1", qr=QR), Expect(phase=Phase.WAITING)),
]
DIALOG: list[Row] = [
    *typed(0, "1500"),
    (1, key("enter"), Expect(phase=Phase.CREATING)),
    (31, fail("create"), Expect(phase=Phase.NO_CONNECTION)),
]
PAID: list[Row] = [
    *MPM_WAITING,
    (4, fire("poll"), Expect(calls=("query",))),
    (4.5, answer("query", S.PAID), Expect(phase=Phase.DONE)),
]

#: A terminal whose PayMaster takes partial refunds, and a payment of it to refund in part.
PARTIAL_SETTINGS = replace(SETTINGS, providers={
    **SETTINGS.providers, "paymaster": replace(SETTINGS.providers["paymaster"], partial_refund=True)
})  # fmt: skip
PARTLY_REFUNDABLE = Payment(
    order_id(5),
    5,
    1,
    "mpm",
    "paymaster",
    Money(150_000, "RUB"),
    PaymentState.PAID,
    provider_ref="PM-7705",
)

#: Rows that bring a fresh terminal to each phase.
TO_PHASE: dict[Phase, list[Row]] = {
    Phase.IDLE: [],
    Phase.AMOUNT: typed(0, "1500", enter=False),
    Phase.READY: typed(0, "1500"),
    Phase.CREATING: MPM_WAITING[:-1],
    Phase.PAYING: [*typed(0, "1500"), (1, scan(WECHAT_CODE), Expect(phase=Phase.PAYING))],
    Phase.WAITING: MPM_WAITING,
    Phase.NO_CONNECTION: DIALOG,
    Phase.CANCELLING: [*DIALOG, (40, press("cancel"), Expect(phase=Phase.CANCELLING))],
    Phase.APPROVAL: [*DIALOG, (40, press("force"), Expect(phase=Phase.APPROVAL)),
                     (41, key("2"), Expect(phase=Phase.APPROVAL))],
    Phase.VOID_CONFIRM: [*PAID, (5, press("cancel"), Expect(phase=Phase.VOID_CONFIRM))],
    Phase.VOIDING: [*PAID, (5, press("cancel"), Expect()), (6, key("enter"),
                                                           Expect(phase=Phase.VOIDING))],
    Phase.RESOLVING: [(0, in_doubt(7), Expect(phase=Phase.RESOLVING))],
    Phase.REFUND_SCAN: [(0, RefundRequested(), Expect(phase=Phase.REFUND_SCAN))],
    Phase.REFUND_AMOUNT: [(0, RefundRequested(), Expect(phase=Phase.REFUND_SCAN)),
                          (1, PaymentLookedUp("PM-7705", PARTLY_REFUNDABLE),
                           Expect(phase=Phase.REFUND_AMOUNT))],
    Phase.DONE: PAID,
    Phase.FAULT: [(0, JournalFailed("disk full"), Expect(phase=Phase.FAULT))],
    Phase.PRESENT: [(0, ApiPaymentRequested(1500, "RUB", "POS-1", "code", "", "", "k", "h"),
                     Expect(phase=Phase.PRESENT))],
    Phase.PAIRING: [(0, PairingOpened("123456", "AB:CD"), Expect(phase=Phase.PAIRING))],
    Phase.CHOOSE: [*typed(0, "1500"), (1, key("enter"), Expect(phase=Phase.CHOOSE))],
    Phase.INFO: [(0, InfoRequested(), Expect(phase=Phase.INFO))],
}  # fmt: skip


def reach(phase: Phase, settings: Settings = SETTINGS) -> Script:
    """A terminal brought to ``phase`` (the choice list: on a terminal with several QR types)."""
    if phase is Phase.REFUND_AMOUNT and settings is SETTINGS:
        settings = PARTIAL_SETTINGS
    if phase is Phase.CHOOSE and settings is SETTINGS:
        settings = CHOICE_SETTINGS
    script = run(State(settings), TO_PHASE[phase])
    assert script.state.phase is phase
    return script


def test_every_phase_has_a_way_there() -> None:
    """The table below covers every phase the machine has."""
    assert set(TO_PHASE) == set(Phase)


@pytest.mark.parametrize("phase", list(Phase), ids=lambda p: p.value)
def test_every_phase_has_a_screen_in_both_languages(phase: Phase) -> None:
    """Each phase shows a named screen with a title, translated, with no raw text keys."""
    state = reach(phase).state
    en, ru = (screen_for(state, lang) for lang in LANGUAGES)
    for screen in (en, ru):
        assert screen.name
        assert screen.title.strip()
        assert len(screen.lines) <= 3
        assert not {screen.title, *screen.lines} & set(TEXT), f"untranslated key in {screen}"
    assert en.name == ru.name
    assert en.title != ru.title
    assert en.amount == ru.amount


def test_countdown_decreases_with_time() -> None:
    """The wait's countdown goes down as the seconds tick by."""
    script = reach(Phase.WAITING)
    seen = [screen_for(script.state, "en").countdown_s]
    for second in (3, 4, 5):
        script.feed(second, fire("tick"))
        seen.append(screen_for(script.state, "en").countdown_s)
    assert seen == [119, 118, 117, 116]
    assert screen_for(script.state, "ru").countdown_s == 116


@pytest.mark.parametrize(
    ("qr_mode", "name", "hint_en", "hint_ru", "qr"),
    [
        (1, "qr", ("Scan the QR", "or tap NFC"), ("Сканируйте QR", "или NFC"), QR),
        (0, "qr_printed", ("Scan the QR on the slip",), ("QR-код на чеке",), None),
        (
            2,
            "sticker",
            ("Scan the sticker", "or tap NFC"),
            ("Сканируйте наклейку", "или NFC"),
            None,
        ),
    ],
)
def test_qr_modes_on_screen(
    qr_mode: Literal[0, 1, 2],
    name: str,
    hint_en: tuple[str, ...],
    hint_ru: tuple[str, ...],
    qr: str | None,
) -> None:
    """Mode 1 draws the QR; mode 0 points at the slip; mode 2 points at the sticker or NFC."""
    state = run(State(replace(SETTINGS, qr_mode=qr_mode)), MPM_WAITING).state
    en, ru = screen_for(state, "en"), screen_for(state, "ru")
    assert (en.name, en.qr, en.lines) == (name, qr, hint_en)
    assert (ru.name, ru.qr, ru.lines) == (name, qr, hint_ru)


def test_waiting_for_the_customer_to_confirm_in_the_app() -> None:
    """CPM waits show the confirm hint and no QR."""
    state = run(State(SETTINGS), [
        *TO_PHASE[Phase.PAYING], (2, answer("pay", S.PENDING), Expect(phase=Phase.WAITING)),
    ]).state  # fmt: skip
    screen = screen_for(state, "en")
    assert (screen.name, screen.qr, screen.lines) == ("confirm", None, ("Confirm in your app",))


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", ("NO CONNECTION", "Payment not completed")),
        ("ru", ("НЕТ СВЯЗИ", "Оплата не завершена")),
    ],
)
def test_no_connection_dialog_wording(lang: Language, text: tuple[str, str]) -> None:
    """The dialog says what PayMaster's cashiers know, and names the buttons.

    The full sentence does not fit a 128-pixel line: the title carries "no connection",
    the first line "payment not completed"; the NOT CONFIRMED slip prints it whole.
    """
    screen = screen_for(reach(Phase.NO_CONNECTION).state, lang)
    assert (screen.title, screen.lines[0]) == text
    assert len(screen.lines) == 2
    assert screen.tone == "warn"


def test_no_connection_dialog_keeps_its_wording_after_a_refused_approval() -> None:
    """Back in the dialog after three wrong PINs, the dialog still says why and what to press."""
    wrong = [(40, key(k), Expect()) for k in ("1", "1", "1", "1", "enter")]
    rows = [*DIALOG, (40, press("force"), Expect()), *wrong * 3]
    state = run(State(SETTINGS), rows).state
    assert (state.phase, state.message) == (Phase.NO_CONNECTION, "approval_refused")
    lines = screen_for(state, "en").lines
    assert lines == (
        "Approval refused",
        "Payment not completed",
        "Retry / Cancel / Force",
    )


@pytest.mark.parametrize(
    ("problem", "en", "ru"),
    [
        ("paper", "Printer needs paper", "Нет бумаги в принтере"),
        ("offline", "Printer offline", "Принтер не отвечает"),
        ("error", "Printer offline", "Принтер не отвечает"),
    ],
)
@pytest.mark.parametrize("phase", [Phase.IDLE, Phase.WAITING, Phase.DONE], ids=lambda p: p.value)
def test_printer_trouble_is_on_every_screen(phase: Phase, problem: str, en: str, ru: str) -> None:
    """A printer that fails is named on the screen, under what the screen says anyway."""
    script = reach(phase)
    plain = screen_for(script.state, "en")
    script.feed(50, PrinterReported("payment", "", problem))
    expected: tuple[tuple[Language, str], ...] = (("en", en), ("ru", ru))
    for lang, notice in expected:
        screen = screen_for(script.state, lang)
        assert screen.lines[-1] == notice
        assert len(screen.lines) <= 3
    assert screen_for(script.state, "en").qr == plain.qr
    script.feed(51, PrinterReported("payment", "", ""))
    cleared = screen_for(script.state, "en")
    assert replace(cleared, countdown_s=None) == replace(plain, countdown_s=None)


def test_approval_screen_masks_the_pin() -> None:
    """Typed PIN digits show as discs (stars drawn small read like the letter "ж")."""
    script = reach(Phase.APPROVAL)
    script.feed(42, key("4"))
    assert screen_for(script.state, "en").lines == ("PIN or badge", "●●")


@pytest.mark.parametrize("final", list(RESULT_WORDS), ids=lambda state: str(state.value))
def test_result_screen_for_every_final_state(final: PaymentState) -> None:
    """The result screen names each final state in both languages."""
    state = reach(Phase.DONE).state
    assert state.payment is not None
    shown = state.evolve(payment=state.payment.with_state(final))
    word, tone = RESULT_WORDS[final]
    for lang in LANGUAGES:
        screen = screen_for(shown, lang)
        assert (screen.name, screen.tone) == (word, tone)
        assert screen.title == TEXT[word][LANGUAGES.index(lang)]


def test_result_screen_asks_for_an_administrator_when_needed() -> None:
    """A payment flagged for an administrator says so on the result screen."""
    state = reach(Phase.DONE).state
    assert state.payment is not None
    flagged = state.evolve(
        payment=state.payment.with_state(PaymentState.CANCEL_FAILED, needs_admin=True)
    )
    assert "Call an administrator" in screen_for(flagged, "en").lines


def test_every_notice_the_machine_sets_has_words() -> None:
    """Every notice key in the machine's source is in the text table, in both languages."""
    package = Path(machine_module.__file__).parent
    source = "".join(f.read_text(encoding="utf-8") for f in sorted(package.glob("*.py")))
    notices = set(re.findall(r'message="(\w+)"', source))
    notices |= set(re.findall(r'(?:return |else )"((?:void|refund)_\w+)"', source))
    notices |= {f"code_{problem}" for problem in ("empty", "too_long", "unreadable", "unknown")}
    assert {"too_large", "not_paid_in_time", "void_failed", "refund_not_found"} <= notices
    for notice in notices:
        assert notice in TEXT, notice
        assert all(TEXT[notice]), notice


# --- slips ---------------------------------------------------------------------------------

PAYMENT = Payment(
    order_id="T0042-0007-000123",
    seq=123,
    shift=4,
    flow="cpm",
    provider="verystar",
    amount=Money(1_234_500, "RUB"),
    state=PaymentState.PAID,
    provider_ref="4200001234202603021234567890",
    qr_payload=QR,
    code_masked="1345**********6789",
    message="insufficient funds",
    created_wall="2026-03-02T09:00:01Z",
)
SLIP_CASES = [
    pytest.param(kind, lang, columns, id=f"{kind.value}-{lang}-{columns}")
    for kind in SlipKind
    if kind not in (SlipKind.X_REPORT, SlipKind.Z_REPORT, SlipKind.PERIOD_REPORT,
                    SlipKind.PAIRING)  # test_reports.py, tests/api/
    for lang in LANGUAGES for columns in (32, 48)
]  # fmt: skip


@pytest.mark.parametrize(("kind", "lang", "columns"), SLIP_CASES)
def test_every_slip_builds_and_fits_the_paper(kind: SlipKind, lang: Language, columns: int) -> None:
    """Each kind of slip builds in each language, and no line is wider than the paper.

    Large text is printed double width, so it may take half the columns only.
    """
    slip = build_slip(kind, PAYMENT, terminal_id="T0042", language=lang, columns=columns)
    assert slip.kind is kind
    assert slip.order_id == PAYMENT.order_id
    heading = [line.text for line in slip.lines[:3] if line.large]
    expected = TEXT[_heading(kind)][LANGUAGES.index(lang)]
    assert "".join(heading).replace(" ", "") == expected.replace(" ", "")
    too_wide = [
        line.text for line in slip.lines if len(line.text) * (2 if line.large else 1) > columns
    ]
    assert too_wide == []
    texts = [line.text for line in slip.lines]
    assert any(PAYMENT.order_id in text for text in texts)
    assert any(str(PAYMENT.amount) == text for text in texts)


def _heading(kind: SlipKind) -> str:
    return {
        SlipKind.PAYMENT: "slip_payment",
        SlipKind.FAILURE: "slip_payment",
        SlipKind.NOT_CONFIRMED: "slip_not_confirmed",
        SlipKind.CANCEL_FAILED: "cancel_failed",
        SlipKind.FORCED: "forced",
        SlipKind.REFUND: "slip_refund",
        SlipKind.QR: "slip_scan_to_pay",
        SlipKind.VOID: "voided",
        SlipKind.MISMATCH: "slip_mismatch",
        SlipKind.RECOVERED: "slip_recovered",
    }[kind]


def test_payment_slip_carries_the_provider_order_as_text_and_barcode() -> None:
    """The refund later needs the provider's order number: printed and as a barcode."""
    slip = build_slip(SlipKind.PAYMENT, PAYMENT, terminal_id="T0042", language="en")
    assert slip.barcode == PAYMENT.provider_ref
    assert any(line.text.endswith(PAYMENT.provider_ref or "?") for line in slip.lines)
    assert slip.qr is None


@pytest.mark.parametrize(
    "kind", [SlipKind.PAYMENT, SlipKind.RECOVERED, SlipKind.FORCED, SlipKind.VOID]
)
def test_slips_of_money_taken_carry_the_barcode(kind: SlipKind) -> None:
    """Slips a refund may start from carry the provider order as a barcode."""
    slip = build_slip(kind, PAYMENT, terminal_id="T0042", language="ru")
    assert slip.barcode == PAYMENT.provider_ref


def test_no_barcode_without_a_provider_order() -> None:
    """A payment the provider never numbered gets no barcode."""
    unnumbered = replace(PAYMENT, provider_ref=None)
    slip = build_slip(SlipKind.PAYMENT, unnumbered, terminal_id="T0042", language="en")
    assert slip.barcode is None


@pytest.mark.parametrize(
    ("lang", "warning", "keep"),
    [
        ("en", "Do not charge again", "Keep this slip"),
        ("ru", "Не проводите оплату повторно", "Сохраните этот чек"),
    ],
)
def test_not_confirmed_slip_warns_against_charging_again(
    lang: Language, warning: str, keep: str
) -> None:
    """The "not confirmed" slip tells the cashier not to take the money a second time."""
    pending = PAYMENT.with_state(PaymentState.PENDING)
    slip = build_slip(SlipKind.NOT_CONFIRMED, pending, terminal_id="T0042", language=lang)
    texts = [line.text for line in slip.lines]
    assert warning in texts
    assert keep in texts
    assert slip.barcode is None


def test_cancel_failed_slip_asks_for_an_administrator() -> None:
    """A failed cancel's slip says an administrator and the payment system are needed."""
    flagged = PAYMENT.with_state(PaymentState.CANCEL_FAILED, needs_admin=True, message="timeout")
    slip = build_slip(SlipKind.CANCEL_FAILED, flagged, terminal_id="T0042", language="en")
    texts = [line.text for line in slip.lines]
    assert "Administrator must check" in texts
    assert "Do not charge again" in texts
    # Why it failed is technical text: it goes to the log, the slip says it in words.
    assert "The provider did not confirm the cancel" in " ".join(texts)
    assert not any("timeout" in text for text in texts)


def test_qr_slip_carries_the_payload() -> None:
    """Mode 0 prints the QR to pay."""
    pending = PAYMENT.with_state(PaymentState.PENDING)
    slip = build_slip(SlipKind.QR, pending, terminal_id="T0042", language="ru")
    assert slip.qr == QR
    assert "Отсканируйте для оплаты" in [line.text for line in slip.lines]


def test_mismatch_slip_says_what_each_side_said() -> None:
    """A reconcile mismatch prints the terminal's word and the provider's."""
    settled = PAYMENT.with_state(PaymentState.DECLINED, forced=True, mismatch=True)
    slip = build_slip(SlipKind.MISMATCH, settled, terminal_id="T0042", language="en", columns=48)
    texts = [line.text for line in slip.lines]
    assert any(t.startswith("Terminal said") and t.endswith("FORCED") for t in texts)
    assert any(t.startswith("Provider says") and t.endswith("DECLINED") for t in texts)


def test_unsynced_clock_is_marked_and_copies_pass_through() -> None:
    """A time read before NTP sync is flagged on the slip; the copies count is kept."""
    early = replace(PAYMENT, wall_synced=False)
    slip = build_slip(SlipKind.PAYMENT, early, terminal_id="T0042", language="en", copies=2)
    assert "(clock not synced)" in [line.text for line in slip.lines]
    assert slip.copies == 2


@pytest.mark.parametrize("columns", [32, 48])
def test_long_provider_order_is_printed_whole(columns: int) -> None:
    """A 32-character provider order number (Alipay out_trade_no size) is printed in full.

    Refunds are made by this number, read off the slip: it must never lose its tail.
    """
    ref = "2026030222001412345678901234ABCD"
    assert len(ref) == 32
    long_ref = replace(PAYMENT, provider_ref=ref)
    slip = build_slip(
        SlipKind.PAYMENT, long_ref, terminal_id="T0042", language="en", columns=columns
    )
    assert any(line.text.endswith(ref) for line in slip.lines)
    assert all(len(line.text) <= columns for line in slip.lines)


# --- refund by the slip -----------------------------------------------------------------------


def _refunding(phase: Phase, payment_state: PaymentState, **changes: object) -> State:
    paid = replace(PAYMENT, state=payment_state)
    return replace(State(SETTINGS, phase=phase, payment=paid, refunding=True), **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_refund_screens_say_refund_not_void(lang: Language) -> None:
    """The approval names the slip's number; the wait and the result say "refund"."""
    approval = screen_for(_refunding(Phase.APPROVAL, PaymentState.PAID, pin="24"), lang)
    assert approval.name == "approval_refund"
    assert approval.lines == (f"{TEXT['refund'][LANGUAGES.index(lang)]} #000123",
                              TEXT["enter_pin"][LANGUAGES.index(lang)], "●●")  # fmt: skip
    assert approval.amount == str(PAYMENT.amount)
    assert screen_for(_refunding(Phase.VOIDING, PaymentState.VOIDING), lang).name == "refunding"
    done = screen_for(_refunding(Phase.DONE, PaymentState.VOIDED, message="refunded"), lang)
    assert (done.name, done.lines) == ("refunded", ())
    voided = screen_for(replace(_refunding(Phase.DONE, PaymentState.VOIDED), refunding=False), lang)
    assert voided.name == "voided"


def test_refund_scan_screen_shows_the_typed_number() -> None:
    """While the cashier types the slip's number it is shown instead of the hint."""
    blank = screen_for(State(SETTINGS, phase=Phase.REFUND_SCAN, refunding=True), "en")
    assert blank.lines == ("Scan the slip's barcode", "or type its No., ENTER")
    typed_in = screen_for(State(SETTINGS, phase=Phase.REFUND_SCAN, entry="0042"), "en")
    assert typed_in.lines == ("Scan the slip's barcode", "0042")


def test_refund_slip_says_refunded_and_carries_the_barcode() -> None:
    """The refund slip names the provider order (text and barcode) and says the money went back."""
    slip = build_slip(SlipKind.REFUND, replace(PAYMENT, state=PaymentState.VOIDED),
                      terminal_id="T0042", language="en")  # fmt: skip
    texts = [line.text for line in slip.lines]
    assert texts[0] == "REFUND"
    assert "REFUNDED" in texts
    assert "Money returned to the wallet" in texts
    assert slip.barcode == PAYMENT.provider_ref
