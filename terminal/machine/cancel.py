"""Cancelling a payment at the provider: the one cancel call and what its outcome means."""

from __future__ import annotations

from terminal.machine.common import (
    Step,
    absorb,
    finish_paid,
    finish_unpaid,
    order_of,
    record,
    reject,
    show_result,
    stop_payment_timers,
    unpaid_state,
)
from terminal.machine.effects import Alert, CallProvider, Effect, PrintSlip
from terminal.machine.events import ProviderAnswered, ProviderFailed
from terminal.machine.states import Now, Phase, State
from terminal.payment import Payment, PaymentState
from terminal.providers.base import PaymentStatus
from terminal.views.model import SlipKind


def send_cancel(state: State, payment: Payment) -> Step:
    """Send cancel once; its answer or failure decides the payment."""
    call = CallProvider("cancel", payment.provider, order_of(payment))
    cancelling = state.evolve(phase=Phase.CANCELLING, deadline=None)
    return Step(cancelling, (*stop_payment_timers(), call))


def cancel_answered(state: State, event: ProviderAnswered, now: Now) -> Step:
    """The provider answered the cancel: cancelled, expired, or paid after all."""
    payment = state.payment
    if payment is None or event.order_id != payment.order_id or event.op != "cancel":
        return reject(state, event)
    payment = absorb(payment, event.answer)
    status = event.answer.status
    if status is PaymentStatus.PAID:
        return finish_paid(state, payment, False)
    if status is PaymentStatus.PENDING:
        return _cancel_failed(state, payment, "provider kept the payment open")
    timed_out = state.message == "not_paid_in_time"
    final = PaymentState.EXPIRED if timed_out else unpaid_state(status)
    if final in (PaymentState.FAILED, PaymentState.VOIDED):
        final = PaymentState.CANCELLED
    return finish_unpaid(state, payment, final, "cancelled", False)


def cancel_error(state: State, event: ProviderFailed, now: Now) -> Step:
    """The cancel call failed: the payment is flagged for an administrator."""
    payment = state.payment
    if payment is None or event.order_id != payment.order_id:
        return reject(state, event)
    return _cancel_failed(state, payment, event.message)


def _cancel_failed(state: State, payment: Payment, reason: str) -> Step:
    flagged = payment.with_state(PaymentState.CANCEL_FAILED, needs_admin=True, message=reason)
    effects: tuple[Effect, ...] = (
        record(flagged, f"cancel failed: {reason}"),
        PrintSlip(SlipKind.CANCEL_FAILED, flagged),
        Alert("cancel_failed", f"cancel of {flagged.order_id} failed: {reason}", flagged.order_id),
    )
    return show_result(state, flagged, effects, message="cancel_failed")
