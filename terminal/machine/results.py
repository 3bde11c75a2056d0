"""The result screen and voiding a payment right after it was paid."""

from __future__ import annotations

from terminal.machine.common import (
    DIGITS,
    Step,
    absorb,
    order_of,
    record,
    reject,
    show_result,
)
from terminal.machine.effects import CallProvider, CancelTimer, Effect, PrintSlip, StartTimer
from terminal.machine.entry import idle_key
from terminal.machine.events import (
    ButtonPressed,
    KeyPressed,
    ProviderAnswered,
    ProviderFailed,
    TimerFired,
)
from terminal.machine.recovery import resolve_next
from terminal.machine.states import Now, Phase, State
from terminal.payment import Payment, PaymentState
from terminal.providers.base import PaymentStatus
from terminal.views.model import SlipKind

# --- results ---------------------------------------------------------------------------


def done_timer(state: State, event: TimerFired, now: Now) -> Step:
    """The result screen has been shown long enough: back to idle."""
    if event.name != "result":
        return reject(state, event)
    return _to_idle(state)


def done_key(state: State, event: KeyPressed, now: Now) -> Step:
    """A digit starts the next amount; Enter or Clear goes back to idle."""
    if state.queue:
        return _to_idle(state)
    if event.key in DIGITS:
        fresh = state.evolve(phase=Phase.IDLE, payment=None, paid_at=None, message="")
        started = idle_key(fresh, event, now)
        return Step(started.state, (CancelTimer("result"), *started.effects), started.rejected)
    if event.key in ("enter", "clear"):
        return _to_idle(state)
    return reject(state, event)


def done_button(state: State, event: ButtonPressed, now: Now) -> Step:
    """Cancel offers to void a fresh payment; Retry sends a failed void again."""
    payment = state.payment
    if payment is None:
        return reject(state, event)
    if event.button == "retry" and state.message == "void_failed":
        return _send_void(state, payment)
    if event.button == "cancel" and _voidable(state, payment):
        return Step(state.evolve(phase=Phase.VOID_CONFIRM, message=""), (CancelTimer("result"),))
    return reject(state, event)


def _to_idle(state: State, *effects: Effect) -> Step:
    idle = state.evolve(phase=Phase.IDLE, entry="", payment=None, message="", paid_at=None)
    if idle.queue:
        return resolve_next(idle)
    return Step(idle, (*effects, CancelTimer("result")))


def _voidable(state: State, payment: Payment) -> bool:
    caps = state.settings.capabilities(payment.provider)
    in_window = (
        state.paid_at is not None and state.now - state.paid_at <= state.settings.void_window_s
    )
    return payment.state is PaymentState.PAID and caps.supports_refund and in_window


# --- void ------------------------------------------------------------------------------


def void_key(state: State, event: KeyPressed, now: Now) -> Step:
    """Enter confirms the void; Clear keeps the payment."""
    if event.key == "enter" and state.payment is not None:
        return _send_void(state, state.payment)
    if event.key == "clear":
        return _void_abandoned(state)
    return reject(state, event)


def void_button(state: State, event: ButtonPressed, now: Now) -> Step:
    """Cancel keeps the payment."""
    if event.button == "cancel":
        return _void_abandoned(state)
    return reject(state, event)


def void_answered(state: State, event: ProviderAnswered, now: Now) -> Step:
    """The provider answered the refund: voided, or refused and still paid."""
    payment = state.payment
    if payment is None or event.order_id != payment.order_id or event.op != "refund":
        return reject(state, event)
    if event.answer.status is PaymentStatus.PENDING:
        # The refund is under way but not done: never "refused" (the cashier might hand
        # back cash twice). It stays VOIDING; Retry asks again with the same refund id and
        # reconciliation settles it if the cashier moves on.
        return _void_done(
            state.evolve(payment=absorb(payment, event.answer), message="void_failed")
        )
    if event.answer.status is not PaymentStatus.REFUNDED:
        # The provider refused: the money stays with the merchant, the payment stays paid.
        paid = absorb(payment, event.answer).with_state(PaymentState.PAID)
        refused = state.evolve(payment=paid, message="void_refused")
        return Step(refused.evolve(phase=Phase.DONE), (record(paid, "void refused"),
                    StartTimer("result", state.settings.result_screen_s)))  # fmt: skip
    voided = absorb(payment, event.answer).with_state(PaymentState.VOIDED)
    effects = (record(voided, "voided"), PrintSlip(SlipKind.VOID, voided))
    return show_result(state.evolve(paid_at=None), voided, effects, message="voided")


def void_error(state: State, event: ProviderFailed, now: Now) -> Step:
    """The refund call failed: back to the result, where Retry sends it again."""
    if state.payment is None or event.order_id != state.payment.order_id:
        return reject(state, event)
    return _void_done(state.evolve(message="void_failed"))


def _void_abandoned(state: State) -> Step:
    back = state.evolve(phase=Phase.DONE, message="")
    return Step(back, (StartTimer("result", state.settings.result_screen_s),))


def _send_void(state: State, payment: Payment) -> Step:
    """Journal the void, then send the refund: money going back is written ahead too."""
    voiding = payment.with_state(PaymentState.VOIDING)
    note = record(voiding, "void requested")
    call = CallProvider(
        "refund",
        payment.provider,
        order_of(payment),
        refund_id=f"{payment.order_id}-void",
        refund_amount=payment.amount,
    )
    started = state.evolve(phase=Phase.VOIDING, payment=voiding, message="")
    return Step(started, (CancelTimer("result"), note, call))


def _void_done(state: State) -> Step:
    back = state.evolve(phase=Phase.DONE)
    return Step(back, (StartTimer("result", state.settings.result_screen_s),))
