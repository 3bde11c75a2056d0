"""What the customer display shows for each state: a pure function of the machine's state."""

from __future__ import annotations

import dataclasses
import math

from terminal.machine.choice import picked, qr_choices
from terminal.machine.states import Phase, State
from terminal.money import Money
from terminal.payment import PaymentState
from terminal.views.info import info_screen
from terminal.views.model import Screen, Tone
from terminal.views.text import Language, t
from terminal.views.wallets import choice_labels, choice_pages

__all__ = [
    "screen_for",
    "config_error_screen",
    "journal_refused_screen",
    "RESULT_WORDS",
    "PIN_DOT",
]

#: One typed PIN digit: a disc, which no one reads as a letter (a star reads like "ж").
PIN_DOT = "●"

#: The state word and tone of a finished payment.
RESULT_WORDS: dict[PaymentState, tuple[str, Tone]] = {
    PaymentState.PAID: ("paid", "ok"),
    PaymentState.DECLINED: ("declined", "error"),
    PaymentState.EXPIRED: ("expired", "error"),
    PaymentState.CANCELLED: ("cancelled", "warn"),
    PaymentState.FAILED: ("failed", "error"),
    PaymentState.CANCEL_FAILED: ("cancel_failed", "error"),
    PaymentState.FORCED: ("forced", "warn"),
    PaymentState.VOIDED: ("voided", "warn"),
    PaymentState.VOIDING: ("voiding", "warn"),
    PaymentState.REFUNDING: ("refunding", "warn"),
    PaymentState.PARTIALLY_REFUNDED: ("partially_refunded", "ok"),
    PaymentState.REFUNDED: ("refunded", "ok"),
}


def screen_for(state: State, language: Language) -> Screen:
    """The screen for ``state``, in ``language``."""
    builder = _BUILDERS.get(state.phase, _idle)
    screen = builder(state, language)
    if state.message and state.phase is not Phase.DONE:
        notice = t(state.message, language)
        lines = (notice, *screen.lines)[:3]
        screen = Screen(
            screen.name, screen.title, screen.amount, lines, screen.qr,
            screen.countdown_s, "warn" if screen.tone == "info" else screen.tone,
        )  # fmt: skip
    if state.part_problem:
        screen = Screen(
            screen.name, screen.title, screen.amount, (*screen.lines[:2], state.part_problem),
            screen.qr, screen.countdown_s, screen.tone,
        )  # fmt: skip
    if state.printer_problem:
        notice = t(_PRINTER_NOTICES.get(state.printer_problem, "printer_offline"), language)
        screen = Screen(
            screen.name, screen.title, screen.amount, (*screen.lines[:2], notice), screen.qr,
            screen.countdown_s, screen.tone,
        )  # fmt: skip
    if state.settings.training:
        screen = dataclasses.replace(screen, mark=t("training_mark", language))
    return screen


def config_error_screen() -> Screen:
    """What a terminal without a usable configuration shows (its language is not known)."""
    lines = (t("config_see_card", "en"), t("config_error", "ru"), t("config_see_card", "ru"))
    return Screen("config_error", t("config_error", "en"), "", lines, tone="error")


def journal_refused_screen(lang: Language = "en") -> Screen:
    """What a terminal whose journal is damaged, emptied or gone shows while it refuses."""
    lines = (t("journal_damaged", lang), t("call_admin", lang))
    return Screen("journal_refused", t("out_of_service", lang), "", lines, tone="error")


_PRINTER_NOTICES = {"paper": "printer_paper", "offline": "printer_offline"}


def _amount(state: State) -> str:
    if state.payment is not None:
        return str(state.payment.amount)
    return str(Money(state.amount_minor, state.settings.currency))


def _countdown(state: State) -> int | None:
    if state.deadline is None:
        return None
    return max(0, math.ceil(state.deadline - state.now))


def _idle(state: State, lang: Language) -> Screen:
    return Screen("idle", t("ready", lang), "", (t("enter_amount", lang),))


def _amount_screen(state: State, lang: Language) -> Screen:
    return Screen("amount", t("amount", lang), _amount(state), (t("enter_amount", lang),))


def _ready(state: State, lang: Language) -> Screen:
    hint = (t("scan_code", lang), t("or_enter_for_qr", lang))
    return Screen("ready", t("pay", lang), _amount(state), hint)


def _choose(state: State, lang: Language) -> Screen:
    """The numbered payment types, two lines at a time, and what Enter takes now."""
    choices = qr_choices(state)
    if not choices:
        return _ready(state, lang)
    labels = choice_labels(choices, lang)
    pages = choice_pages(labels)
    lines = pages[state.choice_page % len(pages)]
    enter = f"{t('choose_enter', lang)} {labels[choices.index(picked(state, choices))]}"
    keys = f"{t('choose_more', lang)}  {enter}" if len(pages) > 1 else enter
    return Screen("choose", t("choose_type", lang), "", (*lines, keys))


def _creating(state: State, lang: Language) -> Screen:
    return Screen("wait", t("please_wait", lang), _amount(state), ())


def _paying(state: State, lang: Language) -> Screen:
    return Screen("paying", t("paying", lang), _amount(state), (t("please_wait", lang),))


def _waiting(state: State, lang: Language) -> Screen:
    payment = state.payment
    assert payment is not None
    countdown = _countdown(state)
    hint: tuple[str, ...]
    if payment.flow == "cpm":
        hint = (t("confirm_in_app", lang),)
        return Screen("confirm", t("pay", lang), _amount(state), hint, None, countdown)
    if payment.qr_payload is None:
        return Screen("wait", t("please_wait", lang), _amount(state), (), None, countdown)
    mode = state.settings.qr_mode
    if state.settings.qr_on_slip(payment.qr_payload):
        hint = (t("qr_printed", lang),)
        return Screen("qr_printed", t("pay", lang), _amount(state), hint, None, countdown)
    if mode == 2:
        hint = (t("scan_sticker", lang), t("or_tap_nfc", lang))
        return Screen("sticker", t("pay", lang), _amount(state), hint, None, countdown)
    hint = (t("scan_qr", lang), t("or_tap_nfc", lang))
    return Screen("qr", t("pay", lang), _amount(state), hint, payment.qr_payload, countdown)


def _resolving(state: State, lang: Language) -> Screen:
    payment = state.payment
    number = f"#{payment.seq:06d}" if payment else ""
    hint = (f"{t('checking', lang)} {number}",)
    return Screen("resolving", t("please_wait", lang), _amount(state), hint)


def _no_connection(state: State, lang: Language) -> Screen:
    lines = (t("no_connection", lang), t("dialog_buttons", lang))
    return Screen(
        "no_connection", t("no_connection_title", lang), _amount(state), lines, tone="warn"
    )


def _cancelling(state: State, lang: Language) -> Screen:
    return Screen("cancelling", t("cancelling", lang), _amount(state), (t("please_wait", lang),))


def _approval(state: State, lang: Language) -> Screen:
    pin = PIN_DOT * len(state.pin)
    lines = (t("enter_pin", lang), pin) if pin else (t("enter_pin", lang),)
    if state.refunding and state.payment is not None:
        what = f"{t('refund', lang)} #{state.payment.seq:06d}"
        return Screen("approval_refund", t("approval", lang), _amount(state), (what, *lines),
                      tone="warn")  # fmt: skip
    return Screen("approval", t("approval", lang), _amount(state), lines, tone="warn")


def _refund_scan(state: State, lang: Language) -> Screen:
    typed = state.entry or t("refund_or_type", lang)
    return Screen("refund_scan", t("refund", lang), "", (t("refund_scan", lang), typed))


def _refund_amount(state: State, lang: Language) -> Screen:
    payment = state.payment
    assert payment is not None
    left = Money(payment.refundable_minor, payment.amount.currency)
    typed = str(Money(int(state.entry), left.currency)) if state.entry else str(left)
    lines = (f"{t('refund_left', lang)} {left}", t("refund_enter_all", lang))
    return Screen("refund_amount", t("refund_amount", lang), typed, lines)


def _void_confirm(state: State, lang: Language) -> Screen:
    return Screen("void_confirm", t("void_confirm", lang), _amount(state), (t("void_hint", lang),))


def _voiding(state: State, lang: Language) -> Screen:
    if state.refunding:
        return Screen("refunding", t("refunding", lang), _amount(state), (t("please_wait", lang),))
    return Screen("voiding", t("voiding", lang), _amount(state), (t("please_wait", lang),))


def _done(state: State, lang: Language) -> Screen:
    payment = state.payment
    assert payment is not None
    word, tone = RESULT_WORDS.get(payment.state, ("failed", "error"))
    if state.refunding and payment.state is PaymentState.VOIDED:
        word = "refunded"
    lines: list[str] = []
    if state.message and state.message != word:
        lines.append(t(state.message, lang))
    if payment.needs_admin:
        lines.append(t("call_admin", lang))
    if payment.state is PaymentState.PAID and state.paid_at is not None:
        lines.append(t("void_hint_done", lang))
    return Screen(word, t(word, lang), _amount(state), tuple(lines[:3]), tone=tone)


def _present(state: State, lang: Language) -> Screen:
    order = state.api_order
    if order is not None and order.method == "choose":
        return _choose(state, lang) if len(qr_choices(state)) > 1 else _ready(state, lang)
    hint = (t("show_your_code", lang), t("to_the_scanner", lang))
    return Screen("present", t("pay", lang), _amount(state), hint)


def _pairing(state: State, lang: Language) -> Screen:
    code = state.pairing_code
    shown = f"{code[:3]} {code[3:]}" if len(code) == 6 else code
    fingerprint = state.pairing_fingerprint.replace(":", "")
    # The whole fingerprint is on the slip; the screen has room for its start.
    lines = (t("pairing_enter_code", lang), f"{t('pairing_fingerprint', lang)} {fingerprint[:8]}")
    return Screen("pairing", t("pairing", lang), shown, lines)


def _fault(state: State, lang: Language) -> Screen:
    # Words only: the file and the error are in the log and the status line.
    what = "disk_full" if state.fault_kind == "disk_full" else "journal_failed"
    return Screen("fault", t("out_of_service", lang), "", (t(what, lang), t("call_admin", lang)))


_BUILDERS = {
    Phase.IDLE: _idle,
    Phase.AMOUNT: _amount_screen,
    Phase.READY: _ready,
    Phase.CHOOSE: _choose,
    Phase.CREATING: _creating,
    Phase.PAYING: _paying,
    Phase.WAITING: _waiting,
    Phase.RESOLVING: _resolving,
    Phase.NO_CONNECTION: _no_connection,
    Phase.CANCELLING: _cancelling,
    Phase.APPROVAL: _approval,
    Phase.VOID_CONFIRM: _void_confirm,
    Phase.VOIDING: _voiding,
    Phase.REFUND_SCAN: _refund_scan,
    Phase.REFUND_AMOUNT: _refund_amount,
    Phase.DONE: _done,
    Phase.FAULT: _fault,
    Phase.PRESENT: _present,
    Phase.PAIRING: _pairing,
    Phase.INFO: info_screen,
}
