"""A refund by the slip in flight: its own record and key, the provider's answer, Force on it.

Each refund is a record of its own (:class:`terminal.payment.Refund`) journaled before the
provider call, with one idempotency key per refund (:func:`terminal.payment.refund_key`):
the payment goes REFUNDING while it is out, then PARTIALLY_REFUNDED or REFUNDED from what
its refunds gave back, or back to where it was when the provider refused. A Retry sends
the same refund again under the same key. When the refund cannot be confirmed, Force
with a supervisor's approval records it as a forced refund, reconciled later in the
background (``background.py``) like a forced payment.
"""

from __future__ import annotations

from dataclasses import replace

from terminal.machine.common import Step, absorb, order_of, record, reject, show_result
from terminal.machine.effects import Alert, CallProvider, CancelTimer, Effect, PrintSlip, StartTimer
from terminal.machine.events import ProviderAnswered
from terminal.machine.states import Now, Phase, State
from terminal.money import Money
from terminal.payment import Payment, PaymentState, Refund, refund_key
from terminal.providers.base import PaymentStatus
from terminal.views.model import SlipKind

__all__ = ["begin_force_refund", "force_refund", "refund_answered", "send_refund"]


def send_refund(state: State, payment: Payment) -> Step:
    """Journal the refund (REFUNDING, its own record), then send it under its own key.

    A refund still requested (sent, not answered) is sent again as it is; otherwise a new
    refund takes the next number: the whole amount left unless the cashier typed less.
    """
    open_refund = payment.refund_in_hand
    if open_refund is None or open_refund.state != "requested":
        n = 1 + max((r.n for r in payment.refunds), default=0)
        left = payment.refundable_minor
        minor = state.refund_minor if 0 < state.refund_minor <= left else left
        open_refund = Refund(
            key=refund_key(payment.order_id, n),
            n=n,
            amount=Money(minor, payment.amount.currency),
            shift=state.shift,
            wall=state.wall,
            wall_synced=state.wall_synced,
        )
    refunding = payment.with_refund(open_refund).with_state(PaymentState.REFUNDING)
    call = CallProvider(
        "refund",
        payment.provider,
        order_of(payment),
        refund_id=open_refund.key,
        refund_amount=open_refund.amount,
    )
    started = state.evolve(phase=Phase.VOIDING, payment=refunding, message="")
    note = f"refund {open_refund.n} requested: {open_refund.amount}"
    return Step(started, (CancelTimer("result"), record(refunding, note), call))


def refund_answered(state: State, event: ProviderAnswered, now: Now) -> Step:
    """The provider answered the refund in hand: done, refused, or still not known."""
    payment = state.payment
    refund = payment.refund_in_hand if payment is not None else None
    if payment is None or refund is None or event.op != "refund":
        return reject(state, event)
    if event.order_id != payment.order_id:
        return reject(state, event)
    answer = event.answer
    if answer.status is PaymentStatus.PENDING:
        # Under way, not done: never "refused" (the cashier might hand back cash twice).
        return _back_to_result(
            state.evolve(payment=absorb(payment, answer), message="refund_failed")
        )
    if answer.status is not PaymentStatus.REFUNDED:
        refused = replace(refund, state="refused", done_wall=now.wall)
        back = absorb(payment, answer).with_refund(refused)
        back = back.with_state(back.state_after_refunds())
        kept = (record(back, f"refund {refund.n} refused"),
                StartTimer("result", state.settings.result_screen_s))  # fmt: skip
        return Step(state.evolve(phase=Phase.DONE, payment=back, message="refund_refused"), kept)
    done = replace(refund, state="refunded", done_wall=now.wall, provider_ref=answer.provider_ref)
    refunded = absorb(payment, answer).with_refund(done)
    refunded = refunded.with_state(refunded.state_after_refunds())
    effects: tuple[Effect, ...] = (record(refunded, f"refund {refund.n} done: {refund.amount}"),
               PrintSlip(SlipKind.REFUND, refunded))  # fmt: skip
    return show_result(state.evolve(paid_at=None), refunded, effects, message="refunded")


def begin_force_refund(state: State) -> Step:
    """Force on a refund that could not be confirmed: ask a supervisor (or force at once)."""
    payment = state.payment
    if payment is None or payment.refund_in_hand is None:
        return Step(state)
    if not state.settings.force_requires_approval:
        return force_refund(state, "force without approval (configured)")
    approval = state.evolve(
        phase=Phase.APPROVAL, return_phase=Phase.DONE, forcing_refund=True, pin="",
        pin_attempts=0, message="",
    )  # fmt: skip
    return Step(approval, (CancelTimer("result"),))


def force_refund(state: State, note: str) -> Step:
    """Record the refund in hand as forced: counted as given back, reconciled later."""
    payment = state.payment
    assert payment is not None
    assert payment.refund_in_hand is not None
    refund = replace(payment.refund_in_hand, state="forced", forced=True, done_wall=state.wall)
    forced = payment.with_refund(refund)
    forced = forced.with_state(forced.state_after_refunds())
    effects: tuple[Effect, ...] = (
        record(forced, f"refund {refund.n} forced: {note}"),
        PrintSlip(SlipKind.REFUND, forced),
        Alert("refund_forced", f"{forced.order_id} refund {refund.n} forced: {note}",
              forced.order_id),
    )  # fmt: skip
    ready = state.evolve(forcing_refund=False, pin="", pin_attempts=0)
    return show_result(ready, forced, effects, message="refund_forced")


def _back_to_result(state: State) -> Step:
    back = state.evolve(phase=Phase.DONE)
    return Step(back, (StartTimer("result", state.settings.result_screen_s),))
