"""Settling unsettled payments in the background: every order ends paid, closed or refunded.

A payment whose cancel failed stays payable at the provider until it is closed there, so
the terminal keeps sending the same idempotent cancel until the provider says cancelled,
expired or paid. Forced and voiding payments are queried until the provider's word is
final. Each such payment is a :class:`Chase`, kept in step with what the journal is told
(:func:`track`): one appears when a payment is recorded in one of those states, and goes
when it is recorded settled. Calls go out on the ``reconcile`` timer with a back-off
(``BACKOFF_S``, at most a minute apart), at once when the link to the providers is back
(``LinkRestored``), one at a time, and never for the payment the cashier is busy with.
"""

from __future__ import annotations

from dataclasses import replace

from terminal.machine.common import Step, absorb, record, reject, unpaid_state
from terminal.machine.effects import (
    Alert,
    BackgroundCall,
    CancelTimer,
    Effect,
    PrintSlip,
    RecordPayment,
    StartTimer,
)
from terminal.machine.events import (
    LinkRestored,
    Op,
    ReconcileAnswered,
    ReconcileFailed,
    TimerFired,
    UnsettledFound,
)
from terminal.machine.states import Chase, Now, Phase, State
from terminal.payment import Payment, PaymentState
from terminal.providers.base import PaymentStatus
from terminal.views.model import SlipKind

__all__ = [
    "BACKOFF_S",
    "RECONCILED_STATES",
    "TIMER",
    "backoff_s",
    "background_op",
    "background_answered",
    "background_failed",
    "background_timer",
    "chase_of",
    "link_restored",
    "track",
    "unsettled_found",
]

#: The timer that sends the background calls that are due.
TIMER = "reconcile"
#: Seconds before the next call after 1, 2, 3… calls that did not settle the payment; the
#: last one repeats, so an unsettled payment is asked about at least once a minute.
BACKOFF_S = (5.0, 10.0, 20.0, 40.0, 60.0)
#: The payments settled in the background (NEW and PENDING ones are resolved in hand).
RECONCILED_STATES = frozenset(
    {PaymentState.FORCED, PaymentState.CANCEL_FAILED, PaymentState.VOIDING, PaymentState.REFUNDING}
)


def _reconciled(payment: Payment) -> bool:
    """True while ``payment`` is settled in the background (its state, or a refund still open)."""
    return payment.state in RECONCILED_STATES or any(r.is_open for r in payment.refunds)


def backoff_s(attempts: int) -> float:
    """The wait before the next background call after ``attempts`` unsettling ones."""
    return BACKOFF_S[min(max(attempts, 1), len(BACKOFF_S)) - 1]


def background_op(state: State, payment: Payment) -> Op:
    """What the background asks: cancel a cancel-failed payment again, else query."""
    caps = state.settings.capabilities(payment.provider)
    if payment.state is PaymentState.CANCEL_FAILED and caps.supports_cancel:
        return "cancel"
    refund = payment.refund_in_hand
    if refund is not None and refund.is_open:
        return "refund"  # sent again under its own key: settles it without a second refund
    return "query"


def chase_of(state: State, order_id: str) -> Chase | None:
    """The background chase of ``order_id``, or None."""
    return next((c for c in state.chases if c.payment.order_id == order_id), None)


# --- keeping the chases in step with the journal -----------------------------------------


def track(result: Step) -> Step:
    """Start chasing each payment ``result`` records unsettled; stop for each settled one."""
    state = result.state
    chases = list(state.chases)
    for effect in result.effects:
        if not isinstance(effect, RecordPayment):
            continue
        payment = effect.payment
        index = next(
            (i for i, c in enumerate(chases) if c.payment.order_id == payment.order_id), None
        )
        if _reconciled(payment):
            if index is None:
                chases.append(Chase(payment, due=state.now + BACKOFF_S[0]))
            else:
                chases[index] = Chase(payment, chases[index].attempts, chases[index].due)
        elif index is not None:
            del chases[index]
    if tuple(chases) == state.chases:
        return result
    tracked = state.evolve(chases=tuple(chases))
    return Step(tracked, (*result.effects, _schedule(tracked)), result.rejected)


def unsettled_found(state: State, event: UnsettledFound, now: Now) -> Step:
    """A payment to settle was in the journal at start: ask about it now."""
    payment = event.payment
    if not _reconciled(payment):
        return reject(state, event)
    if chase_of(state, payment.order_id) is not None:
        return Step(state)
    return _send_due(state.evolve(chases=(*state.chases, Chase(payment, due=state.now))))


# --- sending the calls -----------------------------------------------------------------------


def background_timer(state: State, event: TimerFired, now: Now) -> Step:
    """The ``reconcile`` timer: send every background call now due."""
    return _send_due(state)


def link_restored(state: State, event: LinkRestored, now: Now) -> Step:
    """The providers can be reached again: every payment to settle is asked about now."""
    chases = tuple(c if c.due is None else Chase(c.payment, 0, state.now) for c in state.chases)
    return _send_due(state.evolve(chases=chases))


def _send_due(state: State) -> Step:
    effects: list[Effect] = []
    chases: list[Chase] = []
    for chase in state.chases:
        if chase.due is None or chase.due > state.now:
            chases.append(chase)
        elif _in_hand(state, chase.payment):
            chases.append(Chase(chase.payment, chase.attempts, state.now + BACKOFF_S[0]))
        else:
            effects.append(BackgroundCall(background_op(state, chase.payment), chase.payment))
            chases.append(Chase(chase.payment, chase.attempts, None))
    sent = state.evolve(chases=tuple(chases))
    return Step(sent, (*effects, _schedule(sent)))


def _in_hand(state: State, payment: Payment) -> bool:
    """True while the cashier's flow owns ``payment`` (a void or refund under way)."""
    held = state.payment
    return held is not None and held.order_id == payment.order_id and state.phase is not Phase.DONE


def _schedule(state: State) -> Effect:
    """(Re)start the ``reconcile`` timer for the earliest call due, or stop it."""
    due = [c.due for c in state.chases if c.due is not None]
    if not due:
        return CancelTimer(TIMER)
    return StartTimer(TIMER, max(0.0, min(due) - state.now))


def _back_off(state: State, chase: Chase) -> Step:
    attempts = chase.attempts + 1
    later = Chase(chase.payment, attempts, state.now + backoff_s(attempts))
    chases = tuple(later if c is chase else c for c in state.chases)
    backed = state.evolve(chases=chases)
    return Step(backed, (_schedule(backed),))


# --- what the answers mean -------------------------------------------------------------------


def background_failed(state: State, event: ReconcileFailed, now: Now) -> Step:
    """No proper answer to a background call: try again after the back-off."""
    chase = chase_of(state, event.payment.order_id)
    if chase is None:
        return Step(state)
    return _back_off(state, chase)


def background_answered(state: State, event: ReconcileAnswered, now: Now) -> Step:
    """A provider answered a background call: settle the payment, or keep trying."""
    chase = chase_of(state, event.payment.order_id)
    if chase is None:
        return Step(state)  # settled meanwhile: a late answer changes nothing
    payment, status = chase.payment, event.answer.status
    if status is PaymentStatus.PENDING or _in_hand(state, payment):
        # Still open at the provider (a cancel it has not carried out yet), or the cashier
        # is busy with this very payment: ask again later.
        return _back_off(state, chase)
    payment = absorb(payment, event.answer)
    if event.op == "refund":
        return _refund_settled(state, payment, status)
    settled = _settle(payment, status)
    how = "closed in the background" if event.op == "cancel" else "reconciled"
    effects: list[Effect] = [record(settled, f"{how}: provider says {status.value}")]
    if settled.needs_admin and payment.state is PaymentState.VOIDING:
        text = f"{settled.order_id}: void not done, provider says {status.value}"
        effects.append(Alert("void_not_done", text, settled.order_id))
    if settled.mismatch:
        effects.append(PrintSlip(SlipKind.MISMATCH, settled))
        text = (
            f"{settled.order_id}: terminal said {payment.state.value}, provider says {status.value}"
        )
        effects.append(Alert("reconcile_mismatch", text, settled.order_id))
    if state.payment is not None and state.payment.order_id == settled.order_id:
        state = state.evolve(payment=settled)
    return Step(state, tuple(effects))


def _settle(payment: Payment, status: PaymentStatus) -> Payment:
    """The final record of an unsettled payment, given the provider's final word."""
    paid = status is PaymentStatus.PAID
    if payment.state is PaymentState.FORCED:
        final = PaymentState.PAID if paid else unpaid_state(status)
        return payment.with_state(final, mismatch=not paid)
    if payment.state is PaymentState.VOIDING:
        if status is PaymentStatus.REFUNDED:
            return payment.with_state(PaymentState.VOIDED)
        return payment.with_state(PaymentState.PAID, needs_admin=True, message="void not done")
    # CANCEL_FAILED: closed means all is well; paid means the customer was charged.
    final = PaymentState.PAID if paid else PaymentState.CANCELLED
    return payment.with_state(final, mismatch=paid, needs_admin=paid)


def _refund_settled(state: State, payment: Payment, status: PaymentStatus) -> Step:
    """The provider's word on a refund sent again: done, or (a forced one) a loud mismatch."""
    refund = payment.refund_in_hand
    assert refund is not None
    done = status is PaymentStatus.REFUNDED
    if refund.forced:
        settled_refund = replace(refund, reconciled=True, mismatch=not done)
    else:
        settled_refund = replace(
            refund, state="refunded" if done else "refused", done_wall=state.wall
        )
    settled = payment.with_refund(settled_refund)
    settled = settled.with_state(
        settled.state_after_refunds(), mismatch=settled.mismatch or settled_refund.mismatch
    )
    effects: list[Effect] = [
        record(settled, f"refund {refund.n} reconciled: provider says {status.value}")
    ]
    if settled_refund.mismatch:
        effects.append(PrintSlip(SlipKind.MISMATCH, settled))
        text = f"{settled.order_id}: refund {refund.n} forced, provider says {status.value}"
        effects.append(Alert("refund_mismatch", text, settled.order_id))
    if state.payment is not None and state.payment.order_id == settled.order_id:
        state = state.evolve(payment=settled)
    return Step(state, tuple(effects))
