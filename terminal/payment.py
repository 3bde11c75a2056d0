"""A payment as the terminal records it: the one record the machine, journal and views share."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Literal

from terminal.money import Money

__all__ = [
    "PaymentState",
    "Payment",
    "Flow",
    "Refund",
    "RefundState",
    "REFUND_COUNTED",
    "UNRESOLVED_STATES",
    "mask_code",
    "refund_key",
]

Flow = Literal["mpm", "cpm"]
#: Where one refund stands: sent and not yet answered, done, refused by the provider, or
#: recorded by a supervisor's Force without the provider's word (reconciled later).
RefundState = Literal["requested", "refunded", "refused", "forced"]
#: The refund states whose amount has gone back to the customer as far as the terminal knows.
REFUND_COUNTED: frozenset[str] = frozenset({"refunded", "forced"})


class PaymentState(enum.Enum):
    """Where a payment stands from the terminal's point of view."""

    NEW = "new"  # intent journaled; the provider may not have seen it yet
    PENDING = "pending"  # the provider has it; waiting for the customer
    PAID = "paid"
    DECLINED = "declined"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    FAILED = "failed"  # never reached the provider (it does not know the order)
    CANCEL_FAILED = "cancel_failed"  # cancel could not be sent: an administrator must check
    FORCED = "forced"  # completed by a supervisor without the provider's word
    VOIDED = "voided"  # paid, then refunded right away (in the void window)
    VOIDING = "voiding"  # paid; a void (refund) was sent and its outcome is not known yet
    REFUNDING = "refunding"  # paid; a refund by the slip was sent, its outcome not known yet
    PARTIALLY_REFUNDED = "partially_refunded"  # paid; part of it refunded by the slip
    REFUNDED = "refunded"  # paid; all of it refunded by the slip (in one or more refunds)


#: States in which the provider's final word is still owed: resolved on reconnect/restart.
UNRESOLVED_STATES = frozenset(
    {
        PaymentState.NEW,
        PaymentState.PENDING,
        PaymentState.CANCEL_FAILED,
        PaymentState.FORCED,
        PaymentState.VOIDING,
        PaymentState.REFUNDING,
    }
)


def refund_key(order_id: str, n: int) -> str:
    """The idempotency key of a payment's ``n``-th refund (1-based).

    The first (or whole) refund keeps the key a void has always had, ``<order id>-void``,
    so a payment refunded before refunds had numbers is never refunded twice; later
    partial refunds are ``<order id>-r<n>``.
    """
    return f"{order_id}-void" if n <= 1 else f"{order_id}-r{n}"


@dataclass(frozen=True, slots=True)
class Refund:
    """One refund of a paid payment, a record of its own with its own key, time and shift.

    A refund belongs to the shift in which it was made, not to its payment's. ``wall`` is
    when it was asked for (``wall_synced`` False while the clock was not synchronised) and
    ``done_wall`` when the provider confirmed it (or a supervisor forced it).
    """

    key: str
    n: int  # 1 for a payment's first refund, 2 for the next...
    amount: Money
    shift: int
    state: RefundState = "requested"
    forced: bool = False  # recorded by Force; stays True once reconciled
    reconciled: bool = False  # a forced refund the provider has since confirmed
    mismatch: bool = False  # the provider's later word disagreed with the forced refund
    provider_ref: str | None = None
    wall: str = ""
    wall_synced: bool = True
    done_wall: str = ""

    @property
    def counted(self) -> bool:
        """True when the amount has gone back to the customer as far as the terminal knows."""
        return self.state in REFUND_COUNTED

    @property
    def is_open(self) -> bool:
        """True while the provider's word on this refund is still owed (sent, or forced)."""
        return self.state == "requested" or (self.forced and not self.reconciled)


@dataclass(frozen=True, slots=True)
class Payment:
    """One payment attempt; ``order_id`` is made by the terminal before any provider call."""

    order_id: str
    seq: int  # through-number: every attempt takes the next one, failed ones too
    shift: int
    flow: Flow
    provider: str
    amount: Money
    state: PaymentState = PaymentState.NEW
    provider_ref: str | None = None
    qr_payload: str | None = None
    code_masked: str = ""  # CPM: the customer's code, masked
    #: The wallet or payment type paid with: the route's wallet for a code, the type the
    #: cashier chose for a QR ("sbp", "wechat", …); "" when not known (older records).
    wallet: str = ""
    raw_status: str = ""
    message: str = ""
    forced: bool = False
    needs_admin: bool = False
    mismatch: bool = False  # a later provider answer disagreed with what the terminal did
    created_wall: str = ""  # ISO 8601 UTC, as read when the payment began
    wall_synced: bool = True
    history: tuple[str, ...] = field(default=(), compare=False)
    #: Refunds by the slip as the journal holds them, oldest first; the refund being
    #: recorded now, when there is one, is the last (its key already among them or new).
    refunds: tuple[Refund, ...] = field(default=(), compare=False)

    @property
    def is_unresolved(self) -> bool:
        """True while the provider's final word on this payment (or a refund of it) is owed."""
        return self.state in UNRESOLVED_STATES or any(r.is_open for r in self.refunds)

    @property
    def refunded_minor(self) -> int:
        """How much of the payment has gone back by refunds (done or forced), minor units."""
        return sum(r.amount.amount_minor for r in self.refunds if r.counted)

    @property
    def refundable_minor(self) -> int:
        """What is left to refund, in minor units."""
        return max(0, self.amount.amount_minor - self.refunded_minor)

    @property
    def refund_in_hand(self) -> Refund | None:
        """The newest refund, when one has been recorded."""
        return self.refunds[-1] if self.refunds else None

    def with_refund(self, refund: Refund) -> Payment:
        """A copy with ``refund`` added, or replacing the refund with its key."""
        kept = tuple(r for r in self.refunds if r.key != refund.key)
        return replace(self, refunds=(*kept, refund))

    def state_after_refunds(self) -> PaymentState:
        """PAID, PARTIALLY_REFUNDED or REFUNDED, from what the refunds gave back."""
        if self.refunded_minor <= 0:
            return PaymentState.PAID
        if self.refunded_minor >= self.amount.amount_minor:
            return PaymentState.REFUNDED
        return PaymentState.PARTIALLY_REFUNDED

    def with_state(self, state: PaymentState, **changes: object) -> Payment:
        """Return a copy in ``state`` with other fields changed."""
        return replace(self, state=state, **changes)  # type: ignore[arg-type]


def mask_code(code: str) -> str:
    """Mask a customer's wallet code for logs and slips: keep 4 first and 4 last characters."""
    if len(code) <= 8:
        return "*" * len(code)
    return f"{code[:4]}{'*' * (len(code) - 8)}{code[-4:]}"
