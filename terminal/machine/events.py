"""Events: everything that happens to the terminal, as past-tense frozen values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from terminal.machine.api_events import (
    ApiCancelRequested,
    ApiPaymentRequested,
    ApiRefundRequested,
    PairingAttempted,
    PairingOpened,
)
from terminal.machine.info_events import HostInfoGathered, InfoRequested
from terminal.payment import Payment
from terminal.providers.base import ProviderAnswer

__all__ = [
    "Op",
    "ButtonName",
    "KeyPressed",
    "CodeScanned",
    "ScanBroken",
    "ButtonPressed",
    "BadgeTapped",
    "TimerFired",
    "ProviderAnswered",
    "ProviderFailed",
    "InDoubtFound",
    "ReconcileAnswered",
    "ReconcileFailed",
    "UnsettledFound",
    "LinkRestored",
    "JournalFailed",
    "JournalWritable",
    "RefundRequested",
    "ShiftCloseRequested",
    "ShiftClosed",
    "ShiftCloseFailed",
    "PaymentLookedUp",
    "PrinterReported",
    "PartReported",
    "Event",
]

#: The provider operations the machine asks the runtime to carry out.
Op = Literal["create", "pay", "query", "cancel", "refund"]
ButtonName = Literal["retry", "cancel", "force"]


@dataclass(frozen=True, slots=True)
class KeyPressed:
    """The cashier pressed a keypad key (a name from ``hw.base.KEY_NAMES``)."""

    key: str


@dataclass(frozen=True, slots=True)
class CodeScanned:
    """The scanner read a customer's wallet code."""

    code: str


@dataclass(frozen=True, slots=True)
class ScanBroken:
    """The scanner read a scan that arrived broken: nothing of it is a code (``reason`` why)."""

    reason: str = ""


@dataclass(frozen=True, slots=True)
class ButtonPressed:
    """One of the Retry, Cancel and Force buttons was pressed."""

    button: ButtonName


@dataclass(frozen=True, slots=True)
class BadgeTapped:
    """An NFC badge was tapped on the reader; ``uid`` in lowercase hex."""

    uid: str


@dataclass(frozen=True, slots=True)
class TimerFired:
    """A timer started by a ``StartTimer`` effect ran out."""

    name: str


@dataclass(frozen=True, slots=True)
class ProviderAnswered:
    """A provider call came back with a proper answer."""

    op: Op
    order_id: str
    answer: ProviderAnswer


@dataclass(frozen=True, slots=True)
class ProviderFailed:
    """A provider call got no proper answer (technical error); ``kind`` is the error class."""

    op: Op
    order_id: str
    kind: str
    message: str


@dataclass(frozen=True, slots=True)
class InDoubtFound:
    """At start, the journal held a payment that was interrupted mid-way."""

    payment: Payment


@dataclass(frozen=True, slots=True)
class UnsettledFound:
    """At start, the journal held a forced, cancel-failed or voiding payment to settle."""

    payment: Payment


@dataclass(frozen=True, slots=True)
class ReconcileAnswered:
    """A provider answered a background call (``op``) about an unsettled payment."""

    payment: Payment
    answer: ProviderAnswer
    op: Op = "query"


@dataclass(frozen=True, slots=True)
class ReconcileFailed:
    """A background call (``op``) about an unsettled payment got no proper answer."""

    payment: Payment
    op: Op
    kind: str
    message: str


@dataclass(frozen=True, slots=True)
class LinkRestored:
    """The path to the providers works again; ``source`` says how the terminal learnt it."""

    source: str


@dataclass(frozen=True, slots=True)
class PrinterReported:
    """A slip was printed (``problem`` empty) or could not be: "paper", "offline" or "error"."""

    kind: str
    order_id: str
    problem: str = ""


@dataclass(frozen=True, slots=True)
class PartReported:
    """A hardware part reported a problem (e.g. "scanner disconnected"), or "" once fixed."""

    part: str
    problem: str = ""


@dataclass(frozen=True, slots=True)
class RefundRequested:
    """The cashier pressed the operator key that refunds a paid payment by its slip."""


@dataclass(frozen=True, slots=True)
class ShiftCloseRequested:
    """The Z report was asked for (keypad, ``payterm report z`` or the API): close the shift."""

    source: str = "keypad"


@dataclass(frozen=True, slots=True)
class ShiftClosed:
    """The journal holds shift ``shift`` closed: the next payment takes the next shift."""

    shift: int
    source: str = "keypad"


@dataclass(frozen=True, slots=True)
class ShiftCloseFailed:
    """The journal could not write the close of shift ``shift``: it stays open (``reason`` why)."""

    shift: int
    reason: str
    source: str = "keypad"


@dataclass(frozen=True, slots=True)
class PaymentLookedUp:
    """The journal was searched for ``reference``: the payment found, or None."""

    reference: str
    payment: Payment | None


@dataclass(frozen=True, slots=True)
class JournalFailed:
    """The journal could not be written: the terminal must stop taking payments."""

    reason: str
    disk_full: bool = False  # the disk is full: the journal is tried again until it has room


@dataclass(frozen=True, slots=True)
class JournalWritable:
    """The journal took a write again after the disk was full: the terminal may go on.

    ``next_seq`` is the journal's next through-number, so none is used twice.
    """

    next_seq: int


Event = (
    KeyPressed
    | CodeScanned
    | ScanBroken
    | ButtonPressed
    | BadgeTapped
    | TimerFired
    | ProviderAnswered
    | ProviderFailed
    | InDoubtFound
    | UnsettledFound
    | ReconcileAnswered
    | ReconcileFailed
    | LinkRestored
    | PrinterReported
    | PartReported
    | RefundRequested
    | ShiftCloseRequested
    | ShiftClosed
    | ShiftCloseFailed
    | PaymentLookedUp
    | JournalFailed
    | ApiPaymentRequested
    | ApiCancelRequested
    | ApiRefundRequested
    | PairingOpened
    | PairingAttempted
    | JournalWritable
    | InfoRequested
    | HostInfoGathered
)
