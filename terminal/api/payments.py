"""Payments by API: create (idempotent), read, cancel, refund and reprint, through the machine.

Each request that changes anything is fed to the machine as an event; what it decided is
read off its step (a journal record of the API payment means it was accepted). Nothing
here sets state. Idempotency keys are in the journal: the same key with the same body is
answered with the same payment again, whatever its state; with another body it is 422.
Creates are taken one at a time, so concurrent requests with one key make one payment.
"""

from __future__ import annotations

import asyncio
from typing import Any

from terminal.api.bodies import CreatePayment, CreateRefund
from terminal.api.pairing import step_of
from terminal.api.problems import ApiProblem
from terminal.api.resources import payment_resource
from terminal.config.model import Config
from terminal.journal import Journal
from terminal.journal.api_store import ApiStore
from terminal.machine import Phase
from terminal.machine.api_events import (
    ApiCancelRequested,
    ApiPaymentRequested,
    ApiRefundRequested,
    RecordApiOrder,
)
from terminal.payment import Payment, PaymentState
from terminal.runtime.runtime import Runtime

__all__ = ["Payments", "doing", "REPLAYED"]

#: The header that says an answer is a replay of an earlier request with the same key.
REPLAYED = "Idempotent-Replayed"

_DOING = {
    Phase.AMOUNT: "the cashier is entering an amount",
    Phase.READY: "the cashier is entering an amount",
    Phase.CREATING: "a payment is under way",
    Phase.PAYING: "a payment is under way",
    Phase.WAITING: "a payment is under way",
    Phase.NO_CONNECTION: "a payment is under way (no connection to the provider)",
    Phase.CANCELLING: "a payment is being cancelled",
    Phase.RESOLVING: "a payment interrupted by a restart is being resolved",
    Phase.APPROVAL: "a supervisor's approval is awaited",
    Phase.REFUND_SCAN: "a refund is under way",
    Phase.VOID_CONFIRM: "a void is being confirmed",
    Phase.VOIDING: "a refund is under way",
    Phase.PRESENT: "a payment waits for the customer's code",
    Phase.PAIRING: "a pairing code is shown",
    Phase.FAULT: "the terminal is out of service",
}


def doing(phase: Phase) -> str:
    """What the terminal is doing in ``phase``, in words for a 409."""
    return _DOING.get(phase, "ready")


class Payments:
    """The payment endpoints' logic, on the runtime and the journal."""

    def __init__(self, runtime: Runtime, journal: Journal, config: Config) -> None:
        self._runtime = runtime
        self._journal = journal
        self._store: ApiStore = runtime.api_store
        self._config = config
        self._create = asyncio.Lock()
        #: A training terminal's payments take no money: every resource says so.
        self.training = config.terminal.training

    # --- reading ----------------------------------------------------------------------

    def resource(self, order_id: str) -> dict[str, Any] | None:
        """The payment ``order_id`` as the API shows it, or None."""
        payment = self._journal.get(order_id)
        order = self._store.order(order_id)
        if payment is None and order is None:
            return None
        history = self._journal.history(order_id) if payment is not None else []
        return payment_resource(
            payment, order, history, self._config.routes, training=self.training
        )

    def get(self, order_id: str) -> dict[str, Any]:
        """The payment ``order_id``; 404 when there is none."""
        found = self.resource(order_id)
        if found is None:
            raise ApiProblem(404, "not_found", f"no payment {order_id!r} here", field="id")
        return found

    def by_reference(self, reference: str) -> list[dict[str, Any]]:
        """The payments made with ``reference``, newest first (the lost-answer look-up)."""
        orders = self._store.orders_by_reference(reference)
        return [r for r in (self.resource(o.order_id) for o in orders) if r is not None]

    def recent(self, limit: int) -> list[dict[str, Any]]:
        """The latest ``limit`` payments, newest first (keypad and API alike)."""
        newest = [p.order_id for p in self._journal.recent(limit)]
        order = self._store.last_order()
        if order is not None and order.order_id not in newest:
            newest.append(order.order_id)  # one awaiting the customer's code
        found = [r for r in (self.resource(i) for i in newest) if r is not None]
        return sorted(found, key=lambda r: -int(r["number"]))[:limit]

    def last(self) -> dict[str, Any]:
        """The newest payment; 404 before the first one."""
        found = self.recent(1)
        if not found:
            raise ApiProblem(404, "not_found", "no payment has been made on this terminal yet")
        return found[0]

    # --- creating ---------------------------------------------------------------------

    async def create(self, key: str, body: CreatePayment, hashed: str) -> tuple[int, Any, bool]:
        """Create the payment (201), or answer the one made with ``key`` before (replayed)."""
        async with self._create:
            stored = self._store.request(key)
            if stored is not None:
                if stored.kind != "payment" or stored.body_hash != hashed:
                    raise _key_reused()
                return 201, self.get(stored.order_id), True
            self._check(body)
            event = ApiPaymentRequested(
                amount_minor=body.amount_minor, currency=body.currency, reference=body.reference,
                method=body.method, provider=body.provider or "",
                description=body.description or "", idempotency_key=key, body_hash=hashed,
            )  # fmt: skip
            step = await step_of(self._runtime, event)
            orders = [e.order for e in step.effects if isinstance(e, RecordApiOrder)]
            self._raise_if_fault()
            if not orders:
                raise self._busy(step.rejected)
            return 201, self.get(orders[0].order_id), False

    def _check(self, body: CreatePayment) -> None:
        """What the configuration alone refuses, told with the field at fault."""
        terminal, providers = self._config.terminal, self._runtime.state.settings.providers
        if body.currency != terminal.currency:
            raise ApiProblem(
                422, "invalid_field", f"this terminal takes {terminal.currency} only",
                field="currency",
            )  # fmt: skip
        if body.amount_minor > terminal.max_amount_minor:
            raise ApiProblem(
                422, "invalid_field",
                f"the largest amount this terminal takes is {terminal.max_amount_minor}",
                field="amount_minor",
            )  # fmt: skip
        if body.provider is not None and body.provider not in providers:
            listed = ", ".join(sorted(providers))
            raise ApiProblem(
                422, "invalid_field", f"no provider {body.provider!r} here; configured: {listed}",
                field="provider",
            )  # fmt: skip
        qr_provider = body.provider or self._config.payment.mpm_provider
        caps = providers.get(qr_provider)
        if body.method == "qr" and (caps is None or not caps.supports_mpm):
            raise ApiProblem(
                422, "invalid_field", f"provider {qr_provider!r} makes no QR; use method code",
                field="method",
            )  # fmt: skip
        if body.method == "code" and body.provider is not None:
            if caps is None or not caps.supports_cpm:
                raise ApiProblem(
                    422, "invalid_field", f"provider {body.provider!r} takes no customer code",
                    field="provider",
                )  # fmt: skip

    # --- acting on a payment ----------------------------------------------------------

    async def cancel(self, order_id: str) -> dict[str, Any]:
        """The Cancel button for ``order_id``: sent once; the outcome comes as an event."""
        current = self.get(order_id)
        if current["final"]:
            raise ApiProblem(
                409, "already_final", f"the payment is {current['state']}: nothing to cancel"
            )
        step = await step_of(self._runtime, ApiCancelRequested(order_id))
        self._raise_if_fault()
        if step.rejected:
            phase = self._runtime.state.phase
            why = "a cancel was sent already" if phase is Phase.CANCELLING else doing(phase)
            raise ApiProblem(
                409, "cannot_cancel_now", f"cannot cancel now: {why}; follow its events",
                extra={"phase": phase.value},
            )  # fmt: skip
        return self.get(order_id)

    async def refund(
        self, order_id: str, key: str, body: CreateRefund, hashed: str
    ) -> tuple[dict[str, Any], bool]:
        """Refund ``order_id`` (202; the result comes as an event), or replay.

        All that is left when ``amount_minor`` is left out; a part of it where the
        provider takes partial refunds. Each refund is its own request, with its own key.
        """
        async with self._create:
            stored = self._store.request(key)
            if stored is not None:
                if stored.kind != "refund" or stored.body_hash != hashed:
                    raise _key_reused()
                if stored.order_id != order_id:
                    raise _key_reused()
                return self.get(order_id), True
            payment = self._journal.get(order_id)
            if payment is None:
                self.get(order_id)  # 404, or an API payment that never reached the journal
                raise _not_refundable("it was never paid")
            minor = self._refund_amount(payment, body)
            step = await step_of(self._runtime, ApiRefundRequested(payment, minor))
            self._raise_if_fault()
            if step.rejected:
                raise self._busy(step.rejected)
            wall = self._runtime.clock_wall()
            self._store.record_refund_key(key, hashed, order_id, wall=wall)
            return self.get(order_id), False

    def _refund_amount(self, payment: Payment, body: CreateRefund) -> int:
        """What to refund of ``payment`` (minor units), or the refusal that says why not."""
        if payment.state in (PaymentState.VOIDED, PaymentState.VOIDING, PaymentState.REFUNDED):
            raise _not_refundable("it is refunded already (or voided)")
        if payment.state is PaymentState.REFUNDING:
            raise _not_refundable("a refund of it is under way; follow its events")
        if payment.state not in (PaymentState.PAID, PaymentState.PARTIALLY_REFUNDED):
            raise _not_refundable(f"it is {payment.state.value}, not paid")
        caps = self._runtime.state.settings.providers.get(payment.provider)
        if caps is None or not caps.supports_refund:
            raise _not_refundable(f"provider {payment.provider!r} does not refund")
        left = payment.refundable_minor
        minor = left if body.amount_minor is None else body.amount_minor
        if minor > left:
            raise ApiProblem(
                422, "refund_exceeds", f"only {left} is left to refund of this payment",
                field="amount_minor", extra={"refundable_minor": left},
            )  # fmt: skip
        if minor < left and not caps.partial_refund:
            raise ApiProblem(
                422, "partial_refund_unsupported",
                f"provider {payment.provider!r} refunds only all that is left: leave "
                f"amount_minor out (or send {left})",
                field="amount_minor", extra={"refundable_minor": left},
            )  # fmt: skip
        return minor

    def receipt(self, order_id: str) -> dict[str, Any]:
        """Print the payment's slip again; 202, the printer's trouble is on ``GET /v1/terminal``."""
        payment = self._journal.get(order_id)
        if payment is None:
            self.get(order_id)
            raise ApiProblem(409, "no_slip", "the payment has not started: it has no slip yet")
        self._runtime.reprint(payment)
        return {"printing": True, "payment": self.get(order_id)}

    # --- helpers ----------------------------------------------------------------------

    def _raise_if_fault(self) -> None:
        if self._runtime.state.phase is Phase.FAULT:
            raise ApiProblem(
                503, "out_of_service", "the terminal is out of service: its journal cannot be "
                "written; call the administrator", extra={"phase": "fault"},
            )  # fmt: skip

    def _busy(self, rejected: str) -> ApiProblem:
        phase = self._runtime.state.phase
        state = self._runtime.state
        in_hand = state.payment.order_id if state.payment is not None else None
        if state.api_order is not None:
            in_hand = state.api_order.order_id
        return ApiProblem(
            409, "busy", f"the terminal is busy: {doing(phase)}",
            extra={"phase": phase.value, "doing": doing(phase), "payment_in_hand": in_hand,
                   "detail": rejected},
        )  # fmt: skip


def _key_reused() -> ApiProblem:
    return ApiProblem(
        422, "idempotency_key_reused",
        "this Idempotency-Key was used for another request; use a new key for a new request",
        field="Idempotency-Key",
    )  # fmt: skip


def _not_refundable(why: str) -> ApiProblem:
    return ApiProblem(409, "not_refundable", f"the payment cannot be refunded: {why}")
