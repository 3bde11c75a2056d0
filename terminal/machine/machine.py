"""The pure payment machine: ``step(state, event, now)`` → new state and effects.

No I/O, no clock reads: time comes in as ``now``, results of provider calls come in as
events, and everything the terminal must do goes out as effects. The transition table
``TABLE`` maps (phase, event type) to the handler that decides; an event it does not
list is rejected with "Can't {event} when in {phase}".
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from terminal.machine.effects import (
    Alert,
    CallProvider,
    CancelTimer,
    Effect,
    PrintSlip,
    RecordPayment,
    StartTimer,
)
from terminal.machine.events import (
    BadgeTapped,
    ButtonPressed,
    CodeScanned,
    Event,
    InDoubtFound,
    JournalFailed,
    KeyPressed,
    Op,
    PrinterReported,
    ProviderAnswered,
    ProviderFailed,
    ReconcileAnswered,
    TimerFired,
)
from terminal.machine.routing import check_code, route_code
from terminal.machine.states import Now, Phase, State
from terminal.money import Money
from terminal.payment import Flow, Payment, PaymentState, mask_code
from terminal.providers.base import Order, PaymentStatus, ProviderAnswer
from terminal.views.model import SlipKind

__all__ = ["Step", "step", "TABLE", "order_of", "TICK_S"]

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


def step(state: State, event: Event, now: Now) -> Step:
    """Handle ``event`` at time ``now``; the only place the terminal's state changes."""
    state = state.evolve(now=now.mono)
    if isinstance(event, ProviderAnswered | ProviderFailed) and _is_current(state, event.order_id):
        if not state.calls_out:
            return _reject(state, event)  # nothing was asked: a duplicate or stray answer
        state = state.evolve(calls_out=state.calls_out - 1)
    result = _dispatch(state, event, now)
    payment = result.state.payment
    sent = sum(
        isinstance(effect, CallProvider) and payment is not None
        and effect.order.order_id == payment.order_id
        for effect in result.effects
    )  # fmt: skip
    if not sent:
        return result
    counted = result.state.evolve(calls_out=result.state.calls_out + sent)
    return Step(counted, result.effects, result.rejected)


def _is_current(state: State, order_id: str) -> bool:
    return state.payment is not None and state.payment.order_id == order_id


def _dispatch(state: State, event: Event, now: Now) -> Step:
    if isinstance(event, JournalFailed):
        return _enter_fault(state, event.reason)
    if state.phase is Phase.FAULT:
        return _reject(state, event)
    if isinstance(event, ReconcileAnswered):
        return _reconcile(state, event)
    if isinstance(event, InDoubtFound):
        return _queue_in_doubt(state, event.payment, now)
    if isinstance(event, PrinterReported):
        # Printing never holds a payment up; the screen tells the cashier what is wrong.
        return Step(state.evolve(printer_problem=event.problem))
    handler = TABLE.get((state.phase, type(event)))
    if handler is None:
        return _reject(state, event)
    return handler(state, event, now)


def order_of(payment: Payment) -> Order:
    """The provider-facing order for ``payment``."""
    return Order(
        order_id=payment.order_id,
        amount=payment.amount,
        description=f"Order {payment.seq:06d}",
        provider_ref=payment.provider_ref,
    )


# --- helpers -------------------------------------------------------------------------


def _reject(state: State, event: Event) -> Step:
    return Step(state, (), f"Can't {_event_name(event)} when in {state.phase.value}")


def _event_name(event: Event) -> str:
    detail = getattr(event, "key", None) or getattr(event, "button", None)
    detail = detail or getattr(event, "name", None) or getattr(event, "op", None)
    return f"{type(event).__name__}({detail})" if detail else type(event).__name__


def _record(payment: Payment, note: str) -> RecordPayment:
    return RecordPayment(payment, note)


def _stop_payment_timers() -> tuple[Effect, ...]:
    return tuple(CancelTimer(name) for name in PAYMENT_TIMERS)


def _edit_amount(state: State, key: str) -> State | None:
    """Apply an amount-editing key; None when the key does not edit the amount."""
    entry = state.entry
    if key in DIGITS or key == "00":
        candidate = (entry + key).lstrip("0")
        if candidate and int(candidate) > state.settings.max_amount_minor:
            return state.evolve(message="too_large")
        return state.evolve(entry=candidate, message="")
    if key == "backspace":
        return state.evolve(entry=entry[:-1], message="")
    if key == "clear":
        return state.evolve(entry="", message="")
    return None


# --- amount entry ----------------------------------------------------------------------


def _idle_key(state: State, event: KeyPressed, now: Now) -> Step:
    edited = _edit_amount(state.evolve(entry=""), event.key)
    if edited is None or not edited.entry:
        return _reject(state, event) if edited is None else Step(edited)
    return Step(edited.evolve(phase=Phase.AMOUNT, payment=None))


def _idle_scan(state: State, event: CodeScanned, now: Now) -> Step:
    return Step(state.evolve(message="amount_first"))


def _amount_key(state: State, event: KeyPressed, now: Now) -> Step:
    if event.key == "enter":
        if state.amount_minor <= 0:
            return Step(state.evolve(message="amount_first"))
        return Step(state.evolve(phase=Phase.READY, message=""))
    edited = _edit_amount(state, event.key)
    if edited is None:
        return _reject(state, event)
    if not edited.entry and event.key == "clear":
        return Step(edited.evolve(phase=Phase.IDLE))
    return Step(edited)


def _amount_scan(state: State, event: CodeScanned, now: Now) -> Step:
    if state.amount_minor <= 0:
        return Step(state.evolve(message="amount_first"))
    return _start_cpm(state, event.code, now)


def _amount_button(state: State, event: ButtonPressed, now: Now) -> Step:
    if event.button != "cancel":
        return _reject(state, event)
    return Step(state.evolve(phase=Phase.IDLE, entry="", message=""))


def _ready_key(state: State, event: KeyPressed, now: Now) -> Step:
    if event.key == "enter":
        return _start_mpm(state, now)
    if event.key in ("backspace", "clear"):
        return Step(state.evolve(phase=Phase.AMOUNT, message=""))
    return _reject(state, event)


def _ready_scan(state: State, event: CodeScanned, now: Now) -> Step:
    return _start_cpm(state, event.code, now)


def _ready_button(state: State, event: ButtonPressed, now: Now) -> Step:
    if event.button != "cancel":
        return _reject(state, event)
    return Step(state.evolve(phase=Phase.AMOUNT, message=""))


# --- starting a payment ------------------------------------------------------------------


def _new_payment(state: State, flow: Flow, provider: str, now: Now, code: str = "") -> Payment:
    seq = state.next_seq
    s = state.settings
    return Payment(
        order_id=f"{s.terminal_id}-{s.epoch}-{seq:06d}",
        seq=seq,
        shift=state.shift,
        flow=flow,
        provider=provider,
        amount=Money(state.amount_minor, s.currency),
        code_masked=mask_code(code) if code else "",
        created_wall=now.wall,
        wall_synced=now.wall_synced,
    )


def _begin(state: State, payment: Payment, op: Op, phase: Phase, code: str, wallet: str) -> Step:
    """Journal the intent, then call the provider: the write-ahead rule in one place."""
    started = state.evolve(
        phase=phase,
        payment=payment,
        next_seq=payment.seq + 1,
        code=code,
        wallet=wallet,
        tech_errors=0,
        last_answer_at=state.now,
        started_at=state.now,
        deadline=None,
        retrying=False,
        message="",
        paid_at=None,
        pin="",
        pin_attempts=0,
        notice_printed=False,
        resumed=False,
        calls_out=0,
    )
    effects: tuple[Effect, ...] = (
        CancelTimer("result"),
        _record(payment, "intent"),
        CallProvider(op, payment.provider, order_of(payment), code=code),
    )
    return Step(started, effects)


def _start_mpm(state: State, now: Now) -> Step:
    provider = state.settings.mpm_provider
    if not state.settings.capabilities(provider).supports_mpm:
        return Step(state.evolve(message="no_mpm"))
    payment = _new_payment(state, "mpm", provider, now)
    return _begin(state, payment, "create", Phase.CREATING, "", "")


def _start_cpm(state: State, code: str, now: Now) -> Step:
    problem = check_code(code)
    if problem is not None:
        return Step(state.evolve(message=f"code_{problem}"))
    route = route_code(code, state.settings.routes)
    if route is None:
        return Step(state.evolve(message="code_unknown"))
    if not state.settings.capabilities(route.provider).supports_cpm:
        return Step(state.evolve(message="code_unknown"))
    payment = _new_payment(state, "cpm", route.provider, now, code)
    return _begin(state, payment, "pay", Phase.PAYING, code, route.wallet)


# --- waiting for the provider --------------------------------------------------------------


def _wait_deadline(state: State, payment: Payment) -> float:
    caps = state.settings.capabilities(payment.provider)
    window = caps.invoice_lifetime_s if payment.flow == "mpm" else caps.confirm_timeout_s
    return state.started_at + window


def _enter_waiting(
    state: State, payment: Payment, *extra: Effect, first: bool = True, poll: bool = True
) -> Step:
    """Poll ``payment`` until it is final, its deadline passes or the provider stays silent.

    ``poll=False`` when ``extra`` already holds a query: its answer schedules the next one,
    so a slow provider never has two queries for one payment in flight.
    """
    caps = state.settings.capabilities(payment.provider)
    deadline = (
        state.deadline if state.retrying and state.deadline else _wait_deadline(state, payment)
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


def _poll(state: State, event: TimerFired, now: Now) -> Step:
    if event.name == "tick":
        return Step(state, (StartTimer("tick", TICK_S),))
    if event.name == "deadline" and state.phase is Phase.WAITING:
        return _deadline_passed(state)
    if event.name != "poll" or state.payment is None:
        return _reject(state, event)
    if state.calls_out:
        return Step(state)  # a query is still out; its answer schedules the next poll
    return Step(state, (CallProvider("query", state.payment.provider, order_of(state.payment)),))


def _deadline_passed(state: State) -> Step:
    payment = state.payment
    assert payment is not None
    if state.tech_errors > 0:
        return _no_connection(state)
    # The provider answers, but the customer did not pay in time: cancel so they never can.
    return _send_cancel(state.evolve(message="not_paid_in_time"), payment)


def _answered(state: State, event: ProviderAnswered, now: Now) -> Step:
    payment = state.payment
    if payment is None or event.order_id != payment.order_id:
        return _reject(state, event)
    answer = event.answer
    state = state.evolve(tech_errors=0, last_answer_at=state.now)
    payment = _absorb(payment, answer)
    resumed = state.resumed
    if answer.status is PaymentStatus.PAID:
        return _finish_paid(state, payment, resumed)
    if answer.status is PaymentStatus.PENDING:
        return _still_pending(state, payment, event.op)
    if answer.status is PaymentStatus.NOT_FOUND:
        return _not_found(state, payment)
    return _finish_unpaid(state, payment, _unpaid_state(answer.status), "provider", resumed)


def _absorb(payment: Payment, answer: ProviderAnswer) -> Payment:
    """Take the provider's reference, QR and wording into the payment record."""
    return payment.with_state(
        payment.state,
        provider_ref=answer.provider_ref or payment.provider_ref,
        qr_payload=answer.qr_payload or payment.qr_payload,
        raw_status=answer.raw_status or payment.raw_status,
        message=answer.message or payment.message,
    )


def _unpaid_state(status: PaymentStatus) -> PaymentState:
    return {
        PaymentStatus.DECLINED: PaymentState.DECLINED,
        PaymentStatus.EXPIRED: PaymentState.EXPIRED,
        PaymentStatus.CANCELLED: PaymentState.CANCELLED,
        PaymentStatus.REFUNDED: PaymentState.VOIDED,
        PaymentStatus.NOT_FOUND: PaymentState.FAILED,
    }.get(status, PaymentState.FAILED)


def _still_pending(state: State, payment: Payment, op: Op) -> Step:
    extra: list[Effect] = []
    first = state.phase in (Phase.CREATING, Phase.PAYING, Phase.RESOLVING)
    if payment.state is PaymentState.NEW:
        payment = payment.with_state(PaymentState.PENDING)
        extra.append(_record(payment, "accepted by provider"))
        if payment.flow == "mpm" and state.settings.qr_mode == 0 and payment.qr_payload:
            extra.append(PrintSlip(SlipKind.QR, payment))
    if state.phase is Phase.RESOLVING:
        # After a restart the original deadline is gone: give the customer a full window.
        state = state.evolve(started_at=state.now)
    return _enter_waiting(state, payment, *extra, first=first)


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
    failed = payment.with_state(PaymentState.FAILED, message="not received by the provider")
    return _finish_unpaid(state, failed, PaymentState.FAILED, "not found at provider", True)


def _failed(state: State, event: ProviderFailed, now: Now) -> Step:
    payment = state.payment
    if payment is None or event.order_id != payment.order_id:
        return _reject(state, event)
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
    return _enter_waiting(state, payment, first=False)


def _no_connection(state: State) -> Step:
    payment = state.payment
    assert payment is not None
    effects: list[Effect] = list(_stop_payment_timers())
    if not state.notice_printed:
        effects.append(PrintSlip(SlipKind.NOT_CONFIRMED, payment))
    dialog = state.evolve(
        phase=Phase.NO_CONNECTION, retrying=False, deadline=None, notice_printed=True
    )
    return Step(dialog, tuple(effects))


# --- the "no connection" dialog ------------------------------------------------------------


def _dialog_button(state: State, event: ButtonPressed, now: Now) -> Step:
    payment = state.payment
    assert payment is not None
    if event.button == "retry":
        lifetime_end = _wait_deadline(state, payment)
        caps = state.settings.capabilities(payment.provider)
        deadline = max(lifetime_end, state.now + caps.no_answer_timeout_s)
        retrying = state.evolve(retrying=True, tech_errors=0, deadline=deadline, message="")
        query = CallProvider("query", payment.provider, order_of(payment))
        return _enter_waiting(retrying, payment, query, first=False, poll=False)
    if event.button == "cancel":
        return _send_cancel(state, payment)
    return _begin_approval(state, Phase.NO_CONNECTION)


def _send_cancel(state: State, payment: Payment) -> Step:
    """Send cancel once; its answer or failure decides the payment."""
    call = CallProvider("cancel", payment.provider, order_of(payment))
    cancelling = state.evolve(phase=Phase.CANCELLING, deadline=None)
    return Step(cancelling, (*_stop_payment_timers(), call))


def _waiting_button(state: State, event: ButtonPressed, now: Now) -> Step:
    payment = state.payment
    assert payment is not None
    if event.button == "cancel":
        return _send_cancel(state.evolve(message="cancelled_by_cashier"), payment)
    if event.button == "force":
        return _begin_approval(state, Phase.WAITING)
    # Retry while waiting: ask now (unless a query is out); the answer schedules the next poll.
    if state.calls_out:
        return Step(state)
    query = CallProvider("query", payment.provider, order_of(payment))
    return Step(state, (CancelTimer("poll"), query))


def _cancel_answered(state: State, event: ProviderAnswered, now: Now) -> Step:
    payment = state.payment
    if payment is None or event.order_id != payment.order_id or event.op != "cancel":
        return _reject(state, event)
    payment = _absorb(payment, event.answer)
    status = event.answer.status
    if status is PaymentStatus.PAID:
        return _finish_paid(state, payment, False)
    if status is PaymentStatus.PENDING:
        return _cancel_failed(state, payment, "provider kept the payment open")
    timed_out = state.message == "not_paid_in_time"
    final = PaymentState.EXPIRED if timed_out else _unpaid_state(status)
    if final in (PaymentState.FAILED, PaymentState.VOIDED):
        final = PaymentState.CANCELLED
    return _finish_unpaid(state, payment, final, "cancelled", False)


def _cancel_error(state: State, event: ProviderFailed, now: Now) -> Step:
    payment = state.payment
    if payment is None or event.order_id != payment.order_id:
        return _reject(state, event)
    return _cancel_failed(state, payment, event.message)


def _cancel_failed(state: State, payment: Payment, reason: str) -> Step:
    flagged = payment.with_state(PaymentState.CANCEL_FAILED, needs_admin=True, message=reason)
    effects: tuple[Effect, ...] = (
        _record(flagged, f"cancel failed: {reason}"),
        PrintSlip(SlipKind.CANCEL_FAILED, flagged),
        Alert("cancel_failed", f"cancel of {flagged.order_id} failed: {reason}", flagged.order_id),
    )
    return _show_result(state, flagged, effects, message="cancel_failed")


# --- force with approval -------------------------------------------------------------------


def _begin_approval(state: State, back_to: Phase) -> Step:
    if not state.settings.force_requires_approval:
        return _finish_forced(state, "force without approval (configured)")
    approval = state.evolve(
        phase=Phase.APPROVAL, return_phase=back_to, pin="", pin_attempts=0, message=""
    )
    return Step(approval, (CancelTimer("poll"), CancelTimer("deadline")))


def _approval_key(state: State, event: KeyPressed, now: Now) -> Step:
    key = event.key
    if key in DIGITS and len(state.pin) < state.settings.pin_length:
        return Step(state.evolve(pin=state.pin + key, message=""))
    if key == "backspace":
        return Step(state.evolve(pin=state.pin[:-1]))
    if key == "clear":
        return Step(state.evolve(pin=""))
    if key != "enter":
        return _reject(state, event)
    if any(hmac.compare_digest(state.pin, pin) for pin in state.settings.supervisor_pins):
        return _finish_forced(state, "force approved by supervisor PIN")
    return _approval_refused(state)


def _approval_badge(state: State, event: BadgeTapped, now: Now) -> Step:
    uid = event.uid.lower()
    if any(hmac.compare_digest(uid, badge) for badge in state.settings.supervisor_badges):
        return _finish_forced(state, "force approved by supervisor badge")
    return _approval_refused(state)


def _approval_answered(state: State, event: ProviderAnswered, now: Now) -> Step:
    """A poll sent before Force was pressed came back: a final answer ends the approval."""
    if state.payment is None or event.order_id != state.payment.order_id:
        return _reject(state, event)
    if event.answer.status is PaymentStatus.PENDING:
        return Step(state.evolve(payment=_absorb(state.payment, event.answer), tech_errors=0))
    return _answered(state, event, now)


def _approval_failed(state: State, event: ProviderFailed, now: Now) -> Step:
    """A poll sent before Force was pressed failed: the supervisor decides; nothing to do."""
    if state.payment is None or event.order_id != state.payment.order_id:
        return _reject(state, event)
    return Step(state.evolve(tech_errors=state.tech_errors + 1))


def _approval_refused(state: State) -> Step:
    attempts = state.pin_attempts + 1
    if attempts >= state.settings.max_pin_attempts:
        return _leave_approval(state.evolve(message="approval_refused"))
    return Step(state.evolve(pin="", pin_attempts=attempts, message="wrong_pin"))


def _approval_button(state: State, event: ButtonPressed, now: Now) -> Step:
    if event.button != "cancel":
        return _reject(state, event)
    return _leave_approval(state.evolve(message=""))


def _leave_approval(state: State) -> Step:
    back = state.evolve(phase=state.return_phase, pin="", pin_attempts=0)
    if state.return_phase is Phase.WAITING and state.payment is not None:
        return _enter_waiting(back, state.payment, first=False)
    return Step(back)


def _finish_forced(state: State, note: str) -> Step:
    payment = state.payment
    assert payment is not None
    forced = payment.with_state(PaymentState.FORCED, forced=True)
    effects: tuple[Effect, ...] = (
        _record(forced, note),
        PrintSlip(SlipKind.FORCED, forced),
        Alert("forced", f"{forced.order_id} completed by force: {note}", forced.order_id),
    )
    return _show_result(state, forced, effects, message="forced")


# --- results ---------------------------------------------------------------------------


def _finish_paid(state: State, payment: Payment, resumed: bool) -> Step:
    paid = payment.with_state(PaymentState.PAID)
    slip = SlipKind.RECOVERED if resumed else SlipKind.PAYMENT
    effects = (_record(paid, "paid"), PrintSlip(slip, paid))
    return _show_result(state.evolve(paid_at=state.now), paid, effects, message="")


def _finish_unpaid(
    state: State, payment: Payment, final: PaymentState, note: str, resumed: bool
) -> Step:
    done = payment.with_state(final)
    slip = SlipKind.RECOVERED if resumed else SlipKind.FAILURE
    effects = (_record(done, note), PrintSlip(slip, done))
    return _show_result(state, done, effects, message=state.message)


def _show_result(
    state: State, payment: Payment, effects: tuple[Effect, ...], *, message: str
) -> Step:
    done = state.evolve(
        phase=Phase.DONE, payment=payment, code="", deadline=None, retrying=False, message=message
    )
    closing = (*_stop_payment_timers(), StartTimer("result", state.settings.result_screen_s))
    return Step(done, (*effects, *closing))


def _done_timer(state: State, event: TimerFired, now: Now) -> Step:
    if event.name != "result":
        return _reject(state, event)
    return _to_idle(state)


def _to_idle(state: State, *effects: Effect) -> Step:
    idle = state.evolve(phase=Phase.IDLE, entry="", payment=None, message="", paid_at=None)
    if idle.queue:
        return _resolve_next(idle)
    return Step(idle, (*effects, CancelTimer("result")))


def _done_key(state: State, event: KeyPressed, now: Now) -> Step:
    if state.queue:
        return _to_idle(state)
    if event.key in DIGITS:
        fresh = state.evolve(phase=Phase.IDLE, payment=None, paid_at=None, message="")
        started = _idle_key(fresh, event, now)
        return Step(started.state, (CancelTimer("result"), *started.effects), started.rejected)
    if event.key in ("enter", "clear"):
        return _to_idle(state)
    return _reject(state, event)


def _done_button(state: State, event: ButtonPressed, now: Now) -> Step:
    payment = state.payment
    if payment is None:
        return _reject(state, event)
    if event.button == "retry" and state.message == "void_failed":
        return _send_void(state, payment)
    if event.button == "cancel" and _voidable(state, payment):
        return Step(state.evolve(phase=Phase.VOID_CONFIRM, message=""), (CancelTimer("result"),))
    return _reject(state, event)


def _voidable(state: State, payment: Payment) -> bool:
    caps = state.settings.capabilities(payment.provider)
    in_window = (
        state.paid_at is not None and state.now - state.paid_at <= state.settings.void_window_s
    )
    return payment.state is PaymentState.PAID and caps.supports_refund and in_window


# --- void ------------------------------------------------------------------------------


def _void_key(state: State, event: KeyPressed, now: Now) -> Step:
    if event.key == "enter" and state.payment is not None:
        return _send_void(state, state.payment)
    if event.key == "clear":
        return _void_abandoned(state)
    return _reject(state, event)


def _void_button(state: State, event: ButtonPressed, now: Now) -> Step:
    if event.button == "cancel":
        return _void_abandoned(state)
    return _reject(state, event)


def _void_abandoned(state: State) -> Step:
    back = state.evolve(phase=Phase.DONE, message="")
    return Step(back, (StartTimer("result", state.settings.result_screen_s),))


def _send_void(state: State, payment: Payment) -> Step:
    """Journal the void, then send the refund: money going back is written ahead too."""
    voiding = payment.with_state(PaymentState.VOIDING)
    record = _record(voiding, "void requested")
    call = CallProvider(
        "refund",
        payment.provider,
        order_of(payment),
        refund_id=f"{payment.order_id}-void",
        refund_amount=payment.amount,
    )
    started = state.evolve(phase=Phase.VOIDING, payment=voiding, message="")
    return Step(started, (CancelTimer("result"), record, call))


def _void_answered(state: State, event: ProviderAnswered, now: Now) -> Step:
    payment = state.payment
    if payment is None or event.order_id != payment.order_id or event.op != "refund":
        return _reject(state, event)
    if event.answer.status is not PaymentStatus.REFUNDED:
        # The provider refused: the money stays with the merchant, the payment stays paid.
        paid = _absorb(payment, event.answer).with_state(PaymentState.PAID)
        refused = state.evolve(payment=paid, message="void_refused")
        return Step(refused.evolve(phase=Phase.DONE), (_record(paid, "void refused"),
                    StartTimer("result", state.settings.result_screen_s)))  # fmt: skip
    voided = _absorb(payment, event.answer).with_state(PaymentState.VOIDED)
    effects = (_record(voided, "voided"), PrintSlip(SlipKind.VOID, voided))
    return _show_result(state.evolve(paid_at=None), voided, effects, message="voided")


def _void_error(state: State, event: ProviderFailed, now: Now) -> Step:
    if state.payment is None or event.order_id != state.payment.order_id:
        return _reject(state, event)
    return _void_done(state.evolve(message="void_failed"))


def _void_done(state: State) -> Step:
    back = state.evolve(phase=Phase.DONE)
    return Step(back, (StartTimer("result", state.settings.result_screen_s),))


# --- payments in doubt and reconciliation --------------------------------------------------


def _queue_in_doubt(state: State, payment: Payment, now: Now) -> Step:
    if payment.state not in (PaymentState.NEW, PaymentState.PENDING):
        # Forced, cancel-failed and voiding payments are settled by reconciliation, whose
        # answers can raise a mismatch; resuming them here would lose that.
        return Step(state, (), f"Can't resume a {payment.state.value} payment")
    queued = state.evolve(
        queue=(*state.queue, payment), next_seq=max(state.next_seq, payment.seq + 1)
    )
    if state.phase is Phase.IDLE:
        return _resolve_next(queued)
    return Step(queued)


def _resolve_next(state: State) -> Step:
    payment, rest = state.queue[0], state.queue[1:]
    resolving = state.evolve(
        phase=Phase.RESOLVING,
        queue=rest,
        payment=payment,
        entry=str(payment.amount.amount_minor),
        code="",
        tech_errors=0,
        last_answer_at=state.now,
        started_at=state.now,
        retrying=False,
        deadline=None,
        message="",
        notice_printed=False,
        resumed=True,
        calls_out=0,
    )
    query = CallProvider("query", payment.provider, order_of(payment))
    return Step(resolving, (CancelTimer("result"), query, StartTimer("tick", TICK_S)))


def _reconcile(state: State, event: ReconcileAnswered) -> Step:
    """Decide what a late provider answer means for a forced, cancel-failed or voiding payment."""
    payment, status = event.payment, event.answer.status
    if status is PaymentStatus.PENDING or not payment.is_unresolved:
        return Step(state)
    payment = _absorb(payment, event.answer)
    settled = _settle(payment, status)
    effects: list[Effect] = [_record(settled, f"reconciled: provider says {status.value}")]
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
    """The final record of an unresolved payment, given the provider's final word."""
    paid = status is PaymentStatus.PAID
    if payment.state is PaymentState.FORCED:
        final = PaymentState.PAID if paid else _unpaid_state(status)
        return payment.with_state(final, mismatch=not paid)
    if payment.state is PaymentState.VOIDING:
        if status is PaymentStatus.REFUNDED:
            return payment.with_state(PaymentState.VOIDED)
        return payment.with_state(PaymentState.PAID, needs_admin=True, message="void not done")
    # CANCEL_FAILED: cancelled means all is well; paid means the customer was charged.
    final = PaymentState.PAID if paid else PaymentState.CANCELLED
    return payment.with_state(final, mismatch=paid, needs_admin=paid)


def _enter_fault(state: State, reason: str) -> Step:
    faulted = state.evolve(phase=Phase.FAULT, fault=reason, message="")
    effects = (
        *_stop_payment_timers(),
        CancelTimer("result"),
        Alert("journal", f"journal failed, terminal out of service: {reason}"),
    )
    return Step(faulted, effects)


# --- the transition table ------------------------------------------------------------------

Handler = Callable[[State, Any, Now], Step]

TABLE: dict[tuple[Phase, type], Handler] = {
    (Phase.IDLE, KeyPressed): _idle_key,
    (Phase.IDLE, CodeScanned): _idle_scan,
    (Phase.AMOUNT, KeyPressed): _amount_key,
    (Phase.AMOUNT, CodeScanned): _amount_scan,
    (Phase.AMOUNT, ButtonPressed): _amount_button,
    (Phase.READY, KeyPressed): _ready_key,
    (Phase.READY, CodeScanned): _ready_scan,
    (Phase.READY, ButtonPressed): _ready_button,
    (Phase.CREATING, ProviderAnswered): _answered,
    (Phase.CREATING, ProviderFailed): _failed,
    (Phase.CREATING, TimerFired): _poll,
    (Phase.PAYING, ProviderAnswered): _answered,
    (Phase.PAYING, ProviderFailed): _failed,
    (Phase.PAYING, TimerFired): _poll,
    (Phase.WAITING, ProviderAnswered): _answered,
    (Phase.WAITING, ProviderFailed): _failed,
    (Phase.WAITING, TimerFired): _poll,
    (Phase.WAITING, ButtonPressed): _waiting_button,
    (Phase.RESOLVING, ProviderAnswered): _answered,
    (Phase.RESOLVING, ProviderFailed): _failed,
    (Phase.RESOLVING, TimerFired): _poll,
    (Phase.NO_CONNECTION, ButtonPressed): _dialog_button,
    (Phase.CANCELLING, ProviderAnswered): _cancel_answered,
    (Phase.CANCELLING, ProviderFailed): _cancel_error,
    (Phase.APPROVAL, KeyPressed): _approval_key,
    (Phase.APPROVAL, BadgeTapped): _approval_badge,
    (Phase.APPROVAL, ButtonPressed): _approval_button,
    (Phase.APPROVAL, ProviderAnswered): _approval_answered,
    (Phase.APPROVAL, ProviderFailed): _approval_failed,
    (Phase.DONE, TimerFired): _done_timer,
    (Phase.DONE, KeyPressed): _done_key,
    (Phase.DONE, ButtonPressed): _done_button,
    (Phase.VOID_CONFIRM, KeyPressed): _void_key,
    (Phase.VOID_CONFIRM, ButtonPressed): _void_button,
    (Phase.VOIDING, ProviderAnswered): _void_answered,
    (Phase.VOIDING, ProviderFailed): _void_error,
}
