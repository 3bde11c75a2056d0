"""Waiting for the provider: polls, deadlines, answers, and lost answers ending in the dialog."""

from __future__ import annotations

from terminal.machine.cancel import send_cancel
from terminal.machine.common import (
    TICK_S,
    Step,
    absorb,
    finish_paid,
    finish_unpaid,
    order_of,
    record,
    reject,
    stop_payment_timers,
    unpaid_state,
)
from terminal.machine.effects import CallProvider, CancelTimer, Effect, PrintSlip, StartTimer
from terminal.machine.events import Op, ProviderAnswered, ProviderFailed, TimerFired
from terminal.machine.lifetime import wait_window_s
from terminal.machine.states import Now, Phase, State
from terminal.payment import Payment, PaymentState
from terminal.providers.base import PaymentStatus
from terminal.views.model import SlipKind


def wait_deadline(state: State, payment: Payment) -> float:
    """When the wait for ``payment`` ends: the invoice lifetime or the confirmation window.

    Counted from ``started_at``: the payment's start on the monotonic clock, or, for one
    resumed after a restart, the start read back from the journal (``lifetime``).
    """
    return state.started_at + wait_window_s(state.settings, payment)


def enter_waiting(
    state: State, payment: Payment, *extra: Effect, first: bool = True, poll: bool = True
) -> Step:
    """Poll ``payment`` until it is final, its deadline passes or the provider stays silent.

    ``poll=False`` when ``extra`` already holds a query: its answer schedules the next one,
    so a slow provider never has two queries for one payment in flight.
    """
    caps = state.settings.capabilities(payment.provider)
    deadline = (
        state.deadline if state.retrying and state.deadline else wait_deadline(state, payment)
    )
    delay = caps.first_poll_delay_s if first else caps.poll_interval_s
    waiting = state.evolve(phase=Phase.WAITING, payment=payment, deadline=deadline)
    effects = (
        *extra,
        StartTimer("poll", delay) if poll else CancelTimer("poll"),
        StartTimer("deadline", max(0.0, deadline - state.now)),
        StartTimer("tick", TICK_S),
    )
    return Step(waiting, effects)


def waiting_timer(state: State, event: TimerFired, now: Now) -> Step:
    """A timer while waiting: redraw the countdown, end the wait, or query the provider."""
    if event.name == "tick":
        return Step(state, (StartTimer("tick", TICK_S),))
    if event.name == "deadline" and state.phase is Phase.WAITING:
        return _deadline_passed(state)
    if event.name != "poll" or state.payment is None:
        return reject(state, event)
    if state.calls_out:
        return Step(state)  # a query is still out; its answer schedules the next poll
    return Step(state, (CallProvider("query", state.payment.provider, order_of(state.payment)),))


def waiting_answered(state: State, event: ProviderAnswered, now: Now) -> Step:
    """The provider answered about the current payment: paid, still pending, unknown or not paid."""
    payment = state.payment
    if payment is None or event.order_id != payment.order_id:
        return reject(state, event)
    answer = event.answer
    state = state.evolve(tech_errors=0, last_answer_at=state.now)
    payment = absorb(payment, answer)
    resumed = state.resumed
    if answer.status is PaymentStatus.PAID:
        return finish_paid(state, payment, resumed)
    if answer.status is PaymentStatus.PENDING:
        return _still_pending(state, payment, event.op)
    if answer.status is PaymentStatus.NOT_FOUND:
        return _not_found(state, payment)
    return finish_unpaid(state, payment, unpaid_state(answer.status), "provider", resumed)


def waiting_failed(state: State, event: ProviderFailed, now: Now) -> Step:
    """A call about the current payment failed: count it, then query again or give up waiting."""
    payment = state.payment
    if payment is None or event.order_id != payment.order_id:
        return reject(state, event)
    state = state.evolve(tech_errors=state.tech_errors + 1)
    caps = state.settings.capabilities(payment.provider)
    silent_s = state.now - state.last_answer_at
    exhausted = state.tech_errors >= caps.technical_error_budget
    if not state.retrying and (exhausted or silent_s >= caps.no_answer_timeout_s):
        return _no_connection(state)
    if state.retrying and state.deadline is not None and state.now >= state.deadline:
        return _no_connection(state)
    if state.phase is Phase.RESOLVING:
        return Step(state, (StartTimer("poll", caps.poll_interval_s), StartTimer("tick", TICK_S)))
    # The answer may have been lost after the provider acted: from now on only query.
    return enter_waiting(state, payment, first=False)


def _deadline_passed(state: State) -> Step:
    payment = state.payment
    assert payment is not None
    if state.tech_errors > 0:
        return _no_connection(state)
    # The provider answers, but the customer did not pay in time: cancel so they never can.
    return send_cancel(state.evolve(message="not_paid_in_time"), payment)


def _still_pending(state: State, payment: Payment, op: Op) -> Step:
    if op == "query" and _qr_lost(state, payment):
        # The provider has the invoice but its QR came in the answer that was lost, and a
        # query does not carry it: ask for the same order id again (idempotent) for the QR.
        accepted = payment.with_state(PaymentState.PENDING)
        effects: tuple[Effect, ...] = (
            record(accepted, "accepted by provider; QR asked again"),
            CallProvider("create", payment.provider, order_of(payment)),
        )
        return Step(state.evolve(phase=Phase.CREATING, payment=accepted), effects)
    extra: list[Effect] = []
    first = state.phase in (Phase.CREATING, Phase.PAYING, Phase.RESOLVING)
    had_qr = state.payment is not None and bool(state.payment.qr_payload)
    if payment.state is PaymentState.NEW:
        payment = payment.with_state(PaymentState.PENDING)
        extra.append(record(payment, "accepted by provider"))
    elif payment.qr_payload and not had_qr:
        extra.append(record(payment, "QR received"))
    if state.phase is Phase.RESOLVING and wait_deadline(state, payment) <= state.now:
        # Resumed after its lifetime ran out (by the journal's clock): never shown again,
        # cancelled at once so the customer can no longer pay it.
        expired = send_cancel(state.evolve(payment=payment, message="not_paid_in_time"), payment)
        return Step(expired.state, (*extra, *expired.effects))
    qr = payment.qr_payload
    if payment.flow == "mpm" and qr and state.settings.qr_on_slip(qr) and not had_qr:
        extra.append(PrintSlip(SlipKind.QR, payment))
    return enter_waiting(state, payment, *extra, first=first)


def _qr_lost(state: State, payment: Payment) -> bool:
    """An MPM payment the customer cannot pay yet because its QR never reached the terminal."""
    shown = state.settings.qr_mode in (0, 1)
    return payment.flow == "mpm" and shown and not payment.qr_payload and not state.resumed


def _not_found(state: State, payment: Payment) -> Step:
    """The provider never saw the order: re-send it once more, or give it up as never sent."""
    # After a restart the customer has gone: a payment the provider never saw is given up.
    resendable = payment.state is PaymentState.NEW and not state.resumed
    if resendable and payment.flow == "mpm":
        call = CallProvider("create", payment.provider, order_of(payment))
        return Step(state.evolve(phase=Phase.CREATING, payment=payment), (call,))
    if resendable and state.code:
        call = CallProvider("pay", payment.provider, order_of(payment), code=state.code)
        return Step(state.evolve(phase=Phase.PAYING, payment=payment), (call,))
    never_seen = payment.with_state(PaymentState.FAILED, message="not received by the provider")
    return finish_unpaid(state, never_seen, PaymentState.FAILED, "not found at provider", True)


def _no_connection(state: State) -> Step:
    payment = state.payment
    assert payment is not None
    effects: list[Effect] = list(stop_payment_timers())
    if not state.notice_printed:
        effects.append(PrintSlip(SlipKind.NOT_CONFIRMED, payment))
    dialog = state.evolve(
        phase=Phase.NO_CONNECTION, retrying=False, deadline=None, notice_printed=True
    )
    return Step(dialog, tuple(effects))
