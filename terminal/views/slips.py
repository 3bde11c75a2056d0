"""What each slip says: pure data built from a payment record."""

from __future__ import annotations

import textwrap
from dataclasses import replace

from terminal.money import Money
from terminal.payment import Payment, PaymentState, Refund
from terminal.views.model import Slip, SlipKind, SlipLine
from terminal.views.screens import RESULT_WORDS
from terminal.views.text import Language, t
from terminal.views.wallets import wallet_word

__all__ = ["build_slip", "pair_line", "fit", "training_slip", "copy_slip", "COPIED_KINDS"]

#: The slips of money that moved, printed ``printer.copies`` times (the customer's and the
#: shop's); every other slip is printed once.
COPIED_KINDS = frozenset(
    {SlipKind.PAYMENT, SlipKind.RECOVERED, SlipKind.FORCED, SlipKind.VOID, SlipKind.REFUND}
)

_HEADINGS: dict[SlipKind, str] = {
    SlipKind.PAYMENT: "slip_payment",
    SlipKind.FAILURE: "slip_payment",
    SlipKind.NOT_CONFIRMED: "slip_not_confirmed",
    SlipKind.CANCEL_FAILED: "cancel_failed",
    SlipKind.FORCED: "forced",
    SlipKind.QR: "slip_scan_to_pay",
    SlipKind.VOID: "voided",
    SlipKind.REFUND: "slip_refund",
    SlipKind.MISMATCH: "slip_mismatch",
    SlipKind.RECOVERED: "slip_recovered",
    SlipKind.X_REPORT: "report_x",
    SlipKind.Z_REPORT: "report_z",
    SlipKind.PERIOD_REPORT: "report_period",
    SlipKind.PAIRING: "slip_pairing",
}


def pair_line(label: str, value: str, columns: int) -> list[SlipLine]:
    """A "label ....... value" line fitted to ``columns``; two or more lines when too long.

    A value in words wraps between words; one long token (an order id) is cut in pieces.
    """
    room = columns - len(value) - 1
    if room >= len(label):
        return [SlipLine(f"{label:<{room}} {value}")]
    parts = textwrap.wrap(value, columns) if " " in value.strip() else _chunks(value, columns)
    return [SlipLine(label), *(SlipLine(part, align="right") for part in parts)]


def training_slip(slip: Slip, language: Language) -> Slip:
    """``slip`` as a training terminal prints it: marked "TRAINING - NOT A PAYMENT"."""
    return replace(slip, mark=t("slip_training", language))


def copy_slip(slip: Slip, language: Language) -> Slip:
    """One more copy of ``slip``: "COPY" under its heading (above the rule), printed once."""
    copy = SlipLine(t("slip_copy", language), align="center", bold=True)
    rule = next((i for i, line in enumerate(slip.lines) if _is_rule(line.text)), 1)
    return replace(slip, lines=(*slip.lines[:rule], copy, *slip.lines[rule:]), copies=1)


def _is_rule(text: str) -> bool:
    return bool(text) and set(text) == {"-"}


def fit(line: SlipLine, columns: int) -> list[SlipLine]:
    """Wrap ``line`` so no piece is wider than the paper (large text takes double width)."""
    width = columns // 2 if line.large else columns
    if len(line.text) <= width:
        return [line]
    pieces = textwrap.wrap(line.text, width, break_long_words=True) or [""]
    return [replace(line, text=piece) for piece in pieces]


def _chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def build_slip(
    kind: SlipKind,
    payment: Payment,
    *,
    terminal_id: str,
    language: Language,
    columns: int = 32,
    copies: int = 1,
) -> Slip:
    """The slip of ``kind`` for ``payment``.

    A REFUND slip is about the payment's newest refund (see :func:`_refund_slip`); a
    payment refunded before refunds were records of their own prints as a payment slip.
    """
    lang = language
    if kind is SlipKind.REFUND and payment.refund_in_hand is not None:
        return _refund_slip(payment, payment.refund_in_hand, terminal_id, lang, columns, copies)
    pairs = [
        ("slip_terminal", terminal_id),
        ("slip_number", f"{payment.seq:06d}"),
        ("slip_shift", str(payment.shift)),
        ("slip_order", payment.order_id),
        ("slip_provider", payment.provider),
        ("slip_wallet", wallet_word(payment.wallet, lang)),
        ("slip_provider_order", payment.provider_ref or ""),
        ("slip_code", payment.code_masked),
        ("slip_time", _wall_text(payment.created_wall)),
    ]
    lines: list[SlipLine] = [
        SlipLine(t(_HEADINGS[kind], lang), align="center", bold=True, large=True),
        SlipLine("-" * columns),
    ]
    for key, value in pairs:
        if value:
            lines.extend(pair_line(t(key, lang), value, columns))
    if not payment.wall_synced:
        lines.append(SlipLine(t("slip_clock_unsynced", lang), align="right"))
    lines.append(SlipLine(str(payment.amount), align="center", bold=True, large=True))
    lines.extend(_body(kind, payment, lang, columns))
    qr = payment.qr_payload if kind is SlipKind.QR else None
    barcode = payment.provider_ref if kind in _WITH_BARCODE and payment.provider_ref else None
    fitted = tuple(piece for line in lines for piece in fit(line, columns))
    return Slip(kind, payment.order_id, fitted, qr=qr, barcode=barcode, copies=copies)


def _wall_text(wall: str) -> str:
    """An ISO 8601 wall time as a slip prints it: "YYYY-MM-DD HH:MM:SS"."""
    return wall[:19].replace("T", " ")


def _refund_slip(
    payment: Payment, refund: Refund, terminal_id: str, lang: Language, columns: int, copies: int
) -> Slip:
    """The REFUND slip: the refund's own time, amount, shift and key, then what is left.

    The original payment (its number, order, provider order and time) follows as the
    reference; its provider order is also the barcode, as on the payment's slip.
    """
    lines: list[SlipLine] = [
        SlipLine(t("slip_refund", lang), align="center", bold=True, large=True),
        SlipLine("-" * columns),
    ]
    own = [
        ("slip_terminal", terminal_id),
        ("slip_refund_id", refund.key),
        # the provider's number of the refund, when it is not the payment's own
        (
            "slip_provider_refund",
            "" if refund.provider_ref == payment.provider_ref else refund.provider_ref or "",
        ),
        ("slip_shift", str(refund.shift)),
        ("slip_time", _wall_text(refund.done_wall or refund.wall)),
    ]
    for key, value in own:
        if value:
            lines.extend(pair_line(t(key, lang), value, columns))
    if not refund.wall_synced:
        lines.append(SlipLine(t("slip_clock_unsynced", lang), align="right"))
    lines.append(SlipLine(str(refund.amount), align="center", bold=True, large=True))
    if refund.state == "forced":
        lines.append(SlipLine(t("refund_forced", lang), align="center", bold=True))
        lines.append(SlipLine(t("slip_forced_note", lang), align="center"))
    else:
        lines.append(SlipLine(t("refunded", lang), align="center", bold=True))
        lines.append(SlipLine(t("slip_refund_note", lang), align="center"))
    left = Money(payment.refundable_minor, payment.amount.currency)
    if left.amount_minor > 0:
        lines.extend(pair_line(t("slip_refund_left", lang), str(left), columns))
    lines.append(SlipLine("-" * columns))
    lines.append(SlipLine(t("slip_refund_of", lang), bold=True))
    reference = [
        ("slip_number", f"{payment.seq:06d}"),
        ("slip_order", payment.order_id),
        ("slip_provider", payment.provider),
        ("slip_provider_order", payment.provider_ref or ""),
        ("slip_time", _wall_text(payment.created_wall)),
    ]
    for key, value in reference:
        if value:
            lines.extend(pair_line(t(key, lang), value, columns))
    if not payment.wall_synced:
        lines.append(SlipLine(t("slip_clock_unsynced", lang), align="right"))
    lines.extend(pair_line(t("slip_amount", lang), str(payment.amount), columns))
    fitted = tuple(piece for line in lines for piece in fit(line, columns))
    barcode = payment.provider_ref or None
    return Slip(SlipKind.REFUND, payment.order_id, fitted, barcode=barcode, copies=copies)


_WITH_BARCODE = frozenset(
    {SlipKind.PAYMENT, SlipKind.RECOVERED, SlipKind.FORCED, SlipKind.VOID, SlipKind.REFUND}
)


def _status_word(payment: Payment, lang: Language) -> str:
    word, _ = RESULT_WORDS.get(payment.state, ("slip_not_confirmed", "warn"))
    return t(word, lang)


def _body(kind: SlipKind, payment: Payment, lang: Language, columns: int) -> list[SlipLine]:
    status = SlipLine(_status_word(payment, lang), align="center", bold=True)
    reason = pair_line(t("slip_reason", lang), payment.message, columns) if payment.message else []
    if kind in (SlipKind.PAYMENT, SlipKind.VOID):
        return [status, SlipLine(t("slip_signature", lang), align="center")]
    if kind is SlipKind.REFUND:
        refunded = SlipLine(t("refunded", lang), align="center", bold=True)
        return [refunded, SlipLine(t("slip_refund_note", lang), align="center")]
    if kind is SlipKind.FAILURE:
        return [status, *reason]
    if kind is SlipKind.RECOVERED:
        return [status, *reason, SlipLine(t("slip_keep", lang), align="center")]
    if kind is SlipKind.NOT_CONFIRMED:
        return [
            SlipLine(t("no_connection_long", lang), align="center"),
            SlipLine(t("slip_do_not_charge", lang), align="center", bold=True),
            SlipLine(t("slip_keep", lang), align="center"),
        ]
    if kind is SlipKind.CANCEL_FAILED:
        # Why the cancel failed is technical text (an order id, an exception): it is in
        # the log and the journal; the slip says it in words.
        return [
            SlipLine(t("slip_cancel_not_confirmed", lang), align="center"),
            SlipLine(t("slip_admin", lang), align="center", bold=True),
            SlipLine(t("slip_contact_provider", lang), align="center"),
            SlipLine(t("slip_do_not_charge", lang), align="center"),
        ]
    if kind is SlipKind.FORCED:
        return [status, SlipLine(t("slip_forced_note", lang), align="center")]
    if kind is SlipKind.MISMATCH:
        said = t("forced", lang) if payment.forced else t("cancel_failed", lang)
        return [
            *pair_line(t("slip_terminal_said", lang), said, columns),
            *pair_line(t("slip_provider_says", lang), _status_word(payment, lang), columns),
            SlipLine(t("slip_admin", lang), align="center", bold=True),
        ]
    if payment.state is PaymentState.PENDING or kind is SlipKind.QR:
        return [SlipLine(t("slip_scan_to_pay", lang), align="center")]
    return [status]
