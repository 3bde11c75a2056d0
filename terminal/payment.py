"""A payment as the terminal records it: the one record the machine, journal and views share."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Literal

from terminal.money import Money

__all__ = ["PaymentState", "Payment", "Flow", "UNRESOLVED_STATES", "mask_code"]

Flow = Literal["mpm", "cpm"]


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
    VOIDED = "voided"  # paid, then refunded right away
    VOIDING = "voiding"  # paid; a void (refund) was sent and its outcome is not known yet


#: States in which the provider's final word is still owed: resolved on reconnect/restart.
UNRESOLVED_STATES = frozenset(
    {
        PaymentState.NEW,
        PaymentState.PENDING,
        PaymentState.CANCEL_FAILED,
        PaymentState.FORCED,
        PaymentState.VOIDING,
    }
)


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

    @property
    def is_unresolved(self) -> bool:
        """True while the provider's final word on this payment is still owed."""
        return self.state in UNRESOLVED_STATES

    def with_state(self, state: PaymentState, **changes: object) -> Payment:
        """Return a copy in ``state`` with other fields changed."""
        return replace(self, state=state, **changes)  # type: ignore[arg-type]


def mask_code(code: str) -> str:
    """Mask a customer's wallet code for logs and slips: keep 4 first and 4 last characters."""
    if len(code) <= 8:
        return "*" * len(code)
    return f"{code[:4]}{'*' * (len(code) - 8)}{code[-4:]}"
