"""The cashier's Retry, Cancel and Force while waiting and in the "no connection" dialog."""

from __future__ import annotations

from terminal.machine.approval import begin_approval
from terminal.machine.cancel import send_cancel
from terminal.machine.common import Step, order_of
from terminal.machine.effects import CallProvider, CancelTimer
from terminal.machine.events import ButtonPressed
from terminal.machine.states import Now, Phase, State
from terminal.machine.waiting import enter_waiting, wait_deadline


def dialog_button(state: State, event: ButtonPressed, now: Now) -> Step:
    """Retry keeps asking for the invoice's whole lifetime; Cancel sends cancel; Force forces."""
    payment = state.payment
    assert payment is not None
    if event.button == "retry":
        lifetime_end = wait_deadline(state, payment)
        caps = state.settings.capabilities(payment.provider)
        deadline = max(lifetime_end, state.now + caps.no_answer_timeout_s)
        retrying = state.evolve(retrying=True, tech_errors=0, deadline=deadline, message="")
        query = CallProvider("query", payment.provider, order_of(payment))
        return enter_waiting(retrying, payment, query, first=False, poll=False)
    if event.button == "cancel":
        return send_cancel(state, payment)
    return begin_approval(state, Phase.NO_CONNECTION)


def waiting_button(state: State, event: ButtonPressed, now: Now) -> Step:
    """Cancel sends cancel; Force asks for approval; Retry queries the provider now."""
    payment = state.payment
    assert payment is not None
    if event.button == "cancel":
        return send_cancel(state.evolve(message="cancelled_by_cashier"), payment)
    if event.button == "force":
        return begin_approval(state, Phase.WAITING)
    # Retry while waiting: ask now (unless a query is out); the answer schedules the next poll.
    if state.calls_out:
        return Step(state)
    query = CallProvider("query", payment.provider, order_of(payment))
    return Step(state, (CancelTimer("poll"), query))
