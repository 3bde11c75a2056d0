"""The one interface every payment provider driver implements, and the values it returns."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from terminal.money import Money

__all__ = [
    "PaymentStatus",
    "FINAL_STATUSES",
    "Capabilities",
    "Order",
    "ProviderAnswer",
    "Provider",
]


class PaymentStatus(enum.Enum):
    """What a provider says about a payment, mapped to the engine's vocabulary."""

    PENDING = "pending"  # created, waiting for the customer (or still processing)
    PAID = "paid"
    DECLINED = "declined"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    NOT_FOUND = "not_found"  # the provider has no payment under this order id


#: Statuses after which a payment never changes again (except by refund).
FINAL_STATUSES = frozenset(
    {
        PaymentStatus.PAID,
        PaymentStatus.DECLINED,
        PaymentStatus.EXPIRED,
        PaymentStatus.CANCELLED,
        PaymentStatus.REFUNDED,
        PaymentStatus.NOT_FOUND,
    }
)


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a provider can do and the cadence it wants; all times in seconds."""

    supports_mpm: bool = True
    supports_cpm: bool = True
    supports_refund: bool = True
    supports_cancel: bool = True
    #: Refunds of part of a payment, several up to the amount, each under its own key.
    #: Off unless the driver is known to handle them (see docs/providers/).
    partial_refund: bool = False
    poll_interval_s: float = 3.0
    first_poll_delay_s: float = 3.0
    invoice_lifetime_s: float = 300.0  # MPM: how long a shown QR stays payable
    confirm_timeout_s: float = 60.0  # CPM: how long the customer has to confirm in the app
    no_answer_timeout_s: float = 30.0  # how long without a proper answer before the dialog
    technical_error_budget: int = 5  # consecutive technical errors that end the wait
    static_qr: bool = False  # mode 2: the QR is a sticker / NFC plate, not per payment


@dataclass(frozen=True, slots=True)
class Order:
    """What the terminal asks a provider to collect; ``order_id`` is the idempotency key."""

    order_id: str
    amount: Money
    description: str = ""
    provider_ref: str | None = None  # the provider's own id, once known
    #: The payment type chosen for a QR ("sendy", "wechat", …: Sendy's online service);
    #: "" for the provider's configured one.
    wallet: str = ""


@dataclass(frozen=True, slots=True)
class ProviderAnswer:
    """A proper answer from a provider: a business outcome, never a technical failure."""

    status: PaymentStatus
    raw_status: str = ""  # the provider's own word, kept in the journal
    provider_ref: str | None = None
    qr_payload: str | None = None  # MPM: what the customer's phone must scan
    message: str = ""  # human text from the provider, e.g. the decline reason


class Provider(Protocol):
    """A payment provider driver.

    Every method either returns a :class:`ProviderAnswer` (a proper answer, whatever the
    business outcome) or raises :class:`terminal.errors.ProviderTechnicalError` (no proper
    answer; retryable). ``order.order_id`` is sent as the provider's merchant reference
    and idempotency key, so a repeated call never charges twice.
    """

    name: str
    capabilities: Capabilities

    async def create_invoice(self, order: Order) -> ProviderAnswer:
        """MPM: create a payable QR for ``order``; the answer carries ``qr_payload``."""
        ...

    async def pay_with_code(self, order: Order, code: str) -> ProviderAnswer:
        """CPM: charge the customer's wallet ``code`` for ``order``."""
        ...

    async def query(self, order: Order) -> ProviderAnswer:
        """Ask what became of ``order``; NOT_FOUND when the provider never saw it."""
        ...

    async def cancel(self, order: Order) -> ProviderAnswer:
        """Cancel an unpaid ``order`` (or reverse it, where the provider does that)."""
        ...

    async def refund(self, order: Order, refund_id: str, amount: Money) -> ProviderAnswer:
        """Refund ``amount`` of a paid ``order``; ``refund_id`` makes a repeat harmless."""
        ...

    async def aclose(self) -> None:
        """Release connections; idempotent."""
        ...
