"""What the integrator API brings to the machine and asks of the runtime.

A POS request becomes one of these events exactly as a key press becomes ``KeyPressed``:
the machine decides, and what it decides comes out as effects (journal writes of the
API's own records, a pairing slip). The API never changes state itself.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from terminal.money import Money
from terminal.payment import Payment

__all__ = [
    "ApiMethod",
    "ApiOrderStatus",
    "PAIRING_S",
    "MAX_PAIRING_ATTEMPTS",
    "ApiOrder",
    "ApiPaymentRequested",
    "ApiCancelRequested",
    "ApiRefundRequested",
    "PairingOpened",
    "PairingAttempted",
    "RecordApiOrder",
    "RecordPairing",
    "PrintPairingSlip",
]

#: How the customer pays an API payment: a QR, their wallet's code, or the cashier chooses.
ApiMethod = Literal["qr", "code", "choose"]
#: presenting: waiting for the customer's code (or the cashier's choice); started: the
#: payment is in the journal; abandoned: cancelled before the customer presented a code.
ApiOrderStatus = Literal["presenting", "started", "abandoned"]
#: How long a pairing code is shown and valid.
PAIRING_S = 300.0
#: Wrong codes after which the code shown is void.
MAX_PAIRING_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class ApiOrder:
    """A payment a POS asked for, with its through-number and order id reserved at once."""

    order_id: str
    seq: int
    reference: str
    method: ApiMethod
    description: str
    amount: Money
    provider: str  # "" = routed by the code's prefix, or the configured QR provider
    idempotency_key: str
    body_hash: str
    status: ApiOrderStatus = "presenting"

    def with_status(self, status: ApiOrderStatus) -> ApiOrder:
        """A copy in ``status``."""
        return replace(self, status=status)


@dataclass(frozen=True, slots=True)
class ApiPaymentRequested:
    """A POS asked for a payment (``POST /v1/payments``)."""

    amount_minor: int
    currency: str
    reference: str
    method: ApiMethod
    provider: str
    description: str
    idempotency_key: str
    body_hash: str


@dataclass(frozen=True, slots=True)
class ApiCancelRequested:
    """A POS asked to cancel the payment in hand (the Cancel button's semantics)."""

    order_id: str


@dataclass(frozen=True, slots=True)
class ApiRefundRequested:
    """A POS asked to refund ``payment`` (the journal's record of it, just read).

    ``amount_minor`` is how much to give back; 0 means all that is left.
    """

    payment: Payment
    amount_minor: int = 0


@dataclass(frozen=True, slots=True)
class PairingOpened:
    """The operator asked to pair a POS: ``code`` (6 random digits) is to be shown."""

    code: str
    fingerprint: str  # SHA-256 of the API's certificate, "AB:CD:…"


@dataclass(frozen=True, slots=True)
class PairingAttempted:
    """A POS sent a pairing code; on success ``name`` is paired with the key of ``key_hash``."""

    code: str
    name: str
    key_hash: str


@dataclass(frozen=True, slots=True)
class RecordApiOrder:
    """Write the API's record of ``order`` (and its idempotency key) before anything else."""

    order: ApiOrder


@dataclass(frozen=True, slots=True)
class RecordPairing:
    """Keep the pairing of ``name``: the hash of its API key, never the key."""

    name: str
    key_hash: str


@dataclass(frozen=True, slots=True)
class PrintPairingSlip:
    """Print the certificate's fingerprint, for the POS to pin (never the code)."""

    fingerprint: str
