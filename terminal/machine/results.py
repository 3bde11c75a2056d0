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
from terminal.machine.refund import leave_refund
from terminal.machine.refunding import begin_force_refund, refund_answered, send_refund
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
        fresh = state.evolve(
            phase=Phase.IDLE, payment=None, paid_at=None, message="", refunding=False
        )
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
    if event.button == "retry" and state.message in ("void_failed", "refund_failed"):
        return send_void(state, payment)
    if event.button == "force" and state.refunding and state.message == "refund_failed":
        return begin_force_refund(state)
    if event.button == "cancel" and _voidable(state, payment):
        return Step(state.evolve(phase=Phase.VOID_CONFIRM, message=""), (CancelTimer("result"),))
    return reject(state, event)


def _to_idle(state: State, *effects: Effect) -> Step:
    idle = state.evolve(
        phase=Phase.IDLE, entry="", payment=None, message="", paid_at=None, refunding=False
    )
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
        return send_void(state, state.payment)
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
    if state.refunding:
        return refund_answered(state, event, now)
    payment = state.payment
    if payment is None or event.order_id != payment.order_id or event.op != "refund":
        return reject(state, event)
    if event.answer.status is PaymentStatus.PENDING:
        # The refund is under way but not done: never "refused" (the cashier might hand
        # back cash twice). It stays VOIDING; Retry asks again with the same refund id and
        # reconciliation settles it if the cashier moves on.
        return _void_done(
            state.evolve(payment=absorb(payment, event.answer), message=_notice(state, "failed"))
        )
    if event.answer.status is not PaymentStatus.REFUNDED:
        # The provider refused: the money stays with the merchant, the payment stays paid.
        paid = absorb(payment, event.answer).with_state(PaymentState.PAID)
        refused = state.evolve(payment=paid, message=_notice(state, "refused"))
        note = "refund refused" if state.refunding else "void refused"
        return Step(refused.evolve(phase=Phase.DONE), (record(paid, note),
                    StartTimer("result", state.settings.result_screen_s)))  # fmt: skip
    voided = absorb(payment, event.answer).with_state(PaymentState.VOIDED)
    if state.refunding:
        effects = (record(voided, "refunded"), PrintSlip(SlipKind.REFUND, voided))
        return show_result(state.evolve(paid_at=None), voided, effects, message="refunded")
    effects = (record(voided, "voided"), PrintSlip(SlipKind.VOID, voided))
    return show_result(state.evolve(paid_at=None), voided, effects, message="voided")


def void_error(state: State, event: ProviderFailed, now: Now) -> Step:
    """The refund call failed: back to the result, where Retry sends it again."""
    if state.payment is None or event.order_id != state.payment.order_id:
        return reject(state, event)
    return _void_done(state.evolve(message=_notice(state, "failed")))


def _notice(state: State, outcome: str) -> str:
    """The notice for a void or refund that ``outcome`` ("failed" or "refused")."""
    if outcome == "failed":
        return "refund_failed" if state.refunding else "void_failed"
    return "refund_refused" if state.refunding else "void_refused"


def _void_abandoned(state: State) -> Step:
    if state.refunding:
        return leave_refund(state)
    back = state.evolve(phase=Phase.DONE, message="")
    return Step(back, (StartTimer("result", state.settings.result_screen_s),))


def send_void(state: State, payment: Payment) -> Step:
    """Journal the void (or refund), then send it: money going back is written ahead too.

    A payment has one refund key, ``<order id>-void``, whether it is voided at once or
    refunded later by its slip: a provider that sees the key twice refunds once.
    """
    if state.refunding:
        return send_refund(state, payment)
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
