"""What the machine's handlers share: the Step result, rejections and closing a payment."""

from __future__ import annotations

from dataclasses import dataclass

from terminal.machine.effects import CancelTimer, Effect, PrintSlip, RecordPayment, StartTimer
from terminal.machine.events import Event
from terminal.machine.states import Phase, State
from terminal.payment import Payment, PaymentState
from terminal.providers.base import Order, PaymentStatus, ProviderAnswer
from terminal.views.model import SlipKind

#: Countdowns on the screen are redrawn this often.
TICK_S = 1.0
DIGITS = frozenset("0123456789")
PAYMENT_TIMERS = ("poll", "deadline", "tick")


@dataclass(frozen=True, slots=True)
class Step:
    """The outcome of one event: the new state, the effects to carry out, or a rejection."""

    state: State
    effects: tuple[Effect, ...] = ()
    rejected: str = ""


def order_of(payment: Payment) -> Order:
    """The provider-facing order for ``payment``."""
    return Order(
        order_id=payment.order_id,
        amount=payment.amount,
        description=f"Order {payment.seq:06d}",
        provider_ref=payment.provider_ref,
        wallet=payment.wallet,
    )


def reject(state: State, event: Event) -> Step:
    """Refuse ``event`` in the current phase, changing nothing and saying why."""
    return Step(state, (), f"Can't {_event_name(event)} when in {state.phase.value}")


def record(payment: Payment, note: str) -> RecordPayment:
    """The journal write for ``payment`` with a note on why it changed."""
    return RecordPayment(payment, note)


def stop_payment_timers() -> tuple[Effect, ...]:
    """Cancel every timer that runs while a payment is in progress."""
    return tuple(CancelTimer(name) for name in PAYMENT_TIMERS)


def absorb(payment: Payment, answer: ProviderAnswer) -> Payment:
    """Take the provider's reference, QR and wording into the payment record."""
    return payment.with_state(
        payment.state,
        provider_ref=answer.provider_ref or payment.provider_ref,
        qr_payload=answer.qr_payload or payment.qr_payload,
        raw_status=answer.raw_status or payment.raw_status,
        message=answer.message or payment.message,
    )


def unpaid_state(status: PaymentStatus) -> PaymentState:
    """The final payment state for a provider status that is not a payment."""
    return {
        PaymentStatus.DECLINED: PaymentState.DECLINED,
        PaymentStatus.EXPIRED: PaymentState.EXPIRED,
        PaymentStatus.CANCELLED: PaymentState.CANCELLED,
        PaymentStatus.REFUNDED: PaymentState.VOIDED,
        PaymentStatus.NOT_FOUND: PaymentState.FAILED,
    }.get(status, PaymentState.FAILED)


# --- closing a payment -------------------------------------------------------------------


def finish_paid(state: State, payment: Payment, resumed: bool) -> Step:
    """Record ``payment`` as paid, print its slip and show the result."""
    paid = payment.with_state(PaymentState.PAID)
    slip = SlipKind.RECOVERED if resumed else SlipKind.PAYMENT
    effects = (record(paid, "paid"), PrintSlip(slip, paid))
    return show_result(state.evolve(paid_at=state.now), paid, effects, message="")


def finish_unpaid(
    state: State, payment: Payment, final: PaymentState, note: str, resumed: bool
) -> Step:
    """Record ``payment`` in the unpaid state ``final``, print its slip and show the result."""
    done = payment.with_state(final)
    slip = SlipKind.RECOVERED if resumed else SlipKind.FAILURE
    effects = (record(done, note), PrintSlip(slip, done))
    return show_result(state, done, effects, message=state.message)


def show_result(
    state: State, payment: Payment, effects: tuple[Effect, ...], *, message: str
) -> Step:
    """Go to the result screen with ``effects``, stopping the payment's timers."""
    done = state.evolve(
        phase=Phase.DONE, payment=payment, code="", deadline=None, retrying=False, message=message
    )
    closing = (*stop_payment_timers(), StartTimer("result", state.settings.result_screen_s))
    return Step(done, (*effects, *closing))


def _event_name(event: Event) -> str:
    detail = getattr(event, "key", None) or getattr(event, "button", None)
    detail = detail or getattr(event, "name", None) or getattr(event, "op", None)
    return f"{type(event).__name__}({detail})" if detail else type(event).__name__
