"""The data types a display draws and a printer prints; no rendering here."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

__all__ = ["Tone", "Screen", "SlipKind", "SlipLine", "Slip"]

Tone = Literal["info", "ok", "warn", "error"]


@dataclass(frozen=True, slots=True)
class Screen:
    """One frame of the customer display (128×64 or 128×128 monochrome).

    ``amount`` is drawn large, ``title`` is the state word, ``lines`` are small hint
    lines (at most three fit), ``qr`` is a payload to draw as a QR code,
    ``countdown_s`` the seconds left, when a wait has a deadline, and ``mark`` a word
    drawn as an inverted tag in the header ("TRAINING" on a training terminal).
    """

    name: str  # stable identifier of the screen kind, e.g. "qr", "paid"
    title: str
    amount: str = ""
    lines: tuple[str, ...] = ()
    qr: str | None = None
    countdown_s: int | None = None
    tone: Tone = "info"
    mark: str = ""
    sync_late: bool = False  # a small mark: the oldest record not yet synced is overdue


class SlipKind(enum.Enum):
    """The kinds of slip the terminal prints."""

    PAYMENT = "payment"  # paid
    FAILURE = "failure"  # declined, expired, cancelled
    NOT_CONFIRMED = "not_confirmed"  # result unknown: do not charge again
    CANCEL_FAILED = "cancel_failed"  # cancel could not be sent: administrator needed
    FORCED = "forced"  # completed by a supervisor, awaiting the provider's word
    QR = "qr"  # mode 0: the QR to pay, printed
    VOID = "void"  # paid then refunded at once
    REFUND = "refund"  # refunded later, by scanning the payment's slip
    MISMATCH = "mismatch"  # a reconcile disagreed with what the terminal did
    RECOVERED = "recovered"  # a payment in doubt resolved after a restart
    X_REPORT = "x_report"  # the shift so far, without closing it
    Z_REPORT = "z_report"  # the shift closed (day close), or a closed shift's reprint
    PERIOD_REPORT = "period_report"  # a shift by number, or a date and time range
    PAIRING = "pairing"  # the API certificate's fingerprint, for a POS to pin


@dataclass(frozen=True, slots=True)
class SlipLine:
    """One line of a slip: ``text`` with its alignment and emphasis."""

    text: str
    align: Literal["left", "center", "right"] = "left"
    bold: bool = False
    large: bool = False


@dataclass(frozen=True, slots=True)
class Slip:
    """A slip to print: lines, optional QR and barcode (the provider order number).

    ``mark`` is printed first and last, inverted, on every copy: "TRAINING - NOT A
    PAYMENT" on a training terminal (see :func:`terminal.views.slips.training_slip`).
    """

    kind: SlipKind
    order_id: str
    lines: tuple[SlipLine, ...]
    qr: str | None = None
    barcode: str | None = None
    copies: int = 1
    mark: str = ""
