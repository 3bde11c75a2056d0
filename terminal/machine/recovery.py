"""Payments in doubt after a restart, resolved one at a time, and the latched fault."""

from __future__ import annotations

from terminal.machine.common import (
    TICK_S,
    Step,
    order_of,
    stop_payment_timers,
)
from terminal.machine.effects import (
    Alert,
    CallProvider,
    CancelTimer,
    CheckJournal,
    Effect,
    StartTimer,
)
from terminal.machine.events import JournalWritable, TimerFired
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

#: How often a full disk is tried again (monotonic seconds) while out of service.
JOURNAL_RETRY_S = 10.0


def enter_fault(state: State, reason: str, disk_full: bool = False) -> Step:
    """Out of service: the journal cannot be written.

    Latched, unless the disk is full: then the journal is tried every
    ``JOURNAL_RETRY_S`` (``CheckJournal``) and the fault ends when a write goes through.
    """
    kind = "disk_full" if disk_full else "journal"
    again = state.phase is Phase.FAULT and state.fault_kind == kind
    faulted = state.evolve(phase=Phase.FAULT, fault=reason, fault_kind=kind, message="")
    effects: list[Effect] = [*stop_payment_timers(), CancelTimer("result")]
    if not again:  # a retry that fails again says nothing new
        effects.append(Alert("journal", f"journal failed, terminal out of service: {reason}"))
    if disk_full:
        effects.append(StartTimer("journal_retry", JOURNAL_RETRY_S))
    return Step(faulted, tuple(effects))


def fault_timer(state: State, event: TimerFired) -> Step:
    """Time to try the full disk again."""
    if event.name != "journal_retry" or state.fault_kind != "disk_full":
        return Step(state, (), f"Can't {event.name} when in fault")
    return Step(state, (CheckJournal(),))


def leave_fault(state: State, event: JournalWritable) -> Step:
    """The disk has room again: back to idle, the payment that was cut off dropped.

    Nothing under way is sent again from memory: what the journal holds of it is read
    back by the runtime as payments in doubt and resolved by asking the provider.
    """
    if state.fault_kind != "disk_full":
        return Step(state, (), "Can't leave a latched fault")
    idle = state.evolve(
        phase=Phase.IDLE, fault="", fault_kind="", message="", entry="", code="", payment=None,
        queue=(), paid_at=None, refunding=False, calls_out=0, deadline=None, retrying=False,
        next_seq=max(state.next_seq, event.next_seq),
    )  # fmt: skip
    return Step(idle, (CancelTimer("journal_retry"),))
