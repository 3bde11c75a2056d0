"""Payments in doubt after a restart, resolved one at a time, and the latched fault."""

from __future__ import annotations

from terminal.machine.common import TICK_S, Step, order_of, stop_payment_timers
from terminal.machine.effects import Alert, CallProvider, CancelTimer, StartTimer
from terminal.machine.lifetime import resumed_start
from terminal.machine.states import Now, Phase, Resumable, State
from terminal.payment import Payment, PaymentState

# --- payments in doubt ---------------------------------------------------------------------


def queue_in_doubt(state: State, payment: Payment, now: Now) -> Step:
    """Queue a new or pending payment found after a restart; resolve it at once when idle."""
    if payment.state not in (PaymentState.NEW, PaymentState.PENDING):
        # Forced, cancel-failed and voiding payments are settled in the background, whose
        # answers can raise a mismatch; resuming them here would lose that.
        return Step(state, (), f"Can't resume a {payment.state.value} payment")
    resumable = Resumable(payment, resumed_start(state.settings, payment, now))
    queued = state.evolve(
        queue=(*state.queue, resumable), next_seq=max(state.next_seq, payment.seq + 1)
    )
    if state.phase is Phase.IDLE:
        return resolve_next(queued)
    return Step(queued)


def resolve_next(state: State) -> Step:
    """Ask the provider about the first queued payment in doubt.

    Its wait keeps the start read back from the journal, so a restart never lengthens it.
    """
    first, rest = state.queue[0], state.queue[1:]
    payment = first.payment
    resolving = state.evolve(
        phase=Phase.RESOLVING,
        queue=rest,
        payment=payment,
        entry=str(payment.amount.amount_minor),
        code="",
        tech_errors=0,
        last_answer_at=state.now,
        started_at=first.started_at,
        retrying=False,
        deadline=None,
        message="",
        notice_printed=False,
        resumed=True,
        refunding=False,
        calls_out=0,
    )
    query = CallProvider("query", payment.provider, order_of(payment))
    return Step(resolving, (CancelTimer("result"), query, StartTimer("tick", TICK_S)))


# --- the fault -----------------------------------------------------------------------------


def enter_fault(state: State, reason: str) -> Step:
    """Latch the out-of-service state: the journal cannot be written."""
    faulted = state.evolve(phase=Phase.FAULT, fault=reason, message="")
    effects = (
        *stop_payment_timers(),
        CancelTimer("result"),
        Alert("journal", f"journal failed, terminal out of service: {reason}"),
    )
    return Step(faulted, effects)
