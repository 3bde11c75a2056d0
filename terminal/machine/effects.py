"""Effects: what the machine asks the runtime to do, as imperative frozen values."""

from __future__ import annotations

from dataclasses import dataclass

from terminal.machine.api_events import PrintPairingSlip, RecordApiOrder, RecordPairing
from terminal.machine.events import Op
from terminal.machine.info_events import GatherHostInfo
from terminal.money import Money
from terminal.payment import Payment
from terminal.providers.base import Order
from terminal.views.model import SlipKind

__all__ = [
    "RecordPayment",
    "CallProvider",
    "BackgroundCall",
    "StartTimer",
    "CancelTimer",
    "PrintSlip",
    "Alert",
    "FindPayment",
    "CheckJournal",
    "CloseShift",
    "Effect",
]


@dataclass(frozen=True, slots=True)
class RecordPayment:
    """Write ``payment`` to the journal, durably, before any later effect runs."""

    payment: Payment
    note: str


@dataclass(frozen=True, slots=True)
class CallProvider:
    """Call ``provider``'s ``op`` for ``order``; the result comes back as an event."""

    op: Op
    provider: str
    order: Order
    code: str = ""  # pay: the customer's code
    refund_id: str = ""  # refund: the idempotency key
    refund_amount: Money | None = None


@dataclass(frozen=True, slots=True)
class BackgroundCall:
    """Call ``op`` about an unsettled ``payment`` in the background, one call at a time.

    The answer comes back as ``ReconcileAnswered``, a failure as ``ReconcileFailed``; the
    payment in hand is never held up by it.
    """

    op: Op
    payment: Payment


@dataclass(frozen=True, slots=True)
class StartTimer:
    """Fire ``TimerFired(name)`` after ``delay_s``; restarts a running timer of that name."""

    name: str
    delay_s: float


@dataclass(frozen=True, slots=True)
class CancelTimer:
    """Stop the timer ``name`` if it runs."""

    name: str


@dataclass(frozen=True, slots=True)
class PrintSlip:
    """Print a slip of ``kind`` about ``payment``."""

    kind: SlipKind
    payment: Payment


@dataclass(frozen=True, slots=True)
class CheckJournal:
    """Try a small journal write: ``JournalWritable`` if it goes through, else ``JournalFailed``."""


@dataclass(frozen=True, slots=True)
class Alert:
    """Something an administrator must know about: logged loudly and sent to integrators."""

    code: str
    message: str
    order_id: str = ""


@dataclass(frozen=True, slots=True)
class FindPayment:
    """Look ``reference`` up in the journal (provider order, order id or through-number).

    The answer comes back as a ``PaymentLookedUp`` event.
    """

    reference: str


@dataclass(frozen=True, slots=True)
class CloseShift:
    """Close shift ``shift`` in the journal (one write, awaited), then print its Z report.

    Write-ahead, as a payment's record: the machine moves to the next shift number only on
    the ``ShiftClosed`` that follows the write; a ``ShiftCloseFailed`` leaves it open. No
    other event is handled in between, so no payment can take the closing shift's number.
    """

    shift: int
    source: str = "keypad"


Effect = (
    RecordPayment
    | CloseShift
    | CallProvider
    | BackgroundCall
    | StartTimer
    | CancelTimer
    | PrintSlip
    | Alert
    | FindPayment
    | RecordApiOrder
    | RecordPairing
    | PrintPairingSlip
    | CheckJournal
    | GatherHostInfo
)
