"""A supervisor's approval by PIN or badge: to force a payment, or to refund one by its slip."""

from __future__ import annotations

import hashlib
import hmac

from terminal.machine.common import DIGITS, Step, absorb, record, reject, show_result
from terminal.machine.effects import Alert, CancelTimer, Effect, PrintSlip, StartTimer
from terminal.machine.events import (
    BadgeTapped,
    ButtonPressed,
    KeyPressed,
    ProviderAnswered,
    ProviderFailed,
)
from terminal.machine.refunding import force_refund
from terminal.machine.results import send_void
from terminal.machine.states import Now, Phase, State
from terminal.machine.waiting import enter_waiting, waiting_answered
from terminal.payment import PaymentState
from terminal.providers.base import PaymentStatus
from terminal.views.model import SlipKind


def begin_approval(state: State, back_to: Phase) -> Step:
    """Force pressed: ask for a supervisor, or force at once when no approval is configured."""
    if not state.settings.force_requires_approval:
        return _finish_forced(state, "force without approval (configured)")
    approval = state.evolve(
        phase=Phase.APPROVAL, return_phase=back_to, pin="", pin_attempts=0, message=""
    )
    return Step(approval, (CancelTimer("poll"), CancelTimer("deadline")))


def approval_key(state: State, event: KeyPressed, now: Now) -> Step:
    """Type the supervisor PIN; Enter checks it."""
    key = event.key
    if key in DIGITS and len(state.pin) < state.settings.pin_length:
        return Step(state.evolve(pin=state.pin + key, message=""))
    if key == "backspace":
        return Step(state.evolve(pin=state.pin[:-1]))
    if key == "clear":
        return Step(state.evolve(pin=""))
    if key != "enter":
        return reject(state, event)
    if any(hmac.compare_digest(state.pin, pin) for pin in state.settings.supervisor_pins):
        return _approved(state, "supervisor PIN")
    return _approval_refused(state)


def approval_badge(state: State, event: BadgeTapped, now: Now) -> Step:
    """A badge tapped: a supervisor's badge approves."""
    if _known_badge(event.uid, state.settings.supervisor_badges):
        return _approved(state, "supervisor badge")
    return _approval_refused(state)


def _approved(state: State, by: str) -> Step:
    """Carry out what the supervisor approved: the refund in hand, or forcing the payment."""
    if state.forcing_refund:
        return force_refund(state, f"refund forced, approved by {by}")
    if state.refunding:
        assert state.payment is not None
        return send_void(state.evolve(pin="", pin_attempts=0), state.payment)
    return _finish_forced(state, f"force approved by {by}")


def _known_badge(uid: str, badges: frozenset[str]) -> bool:
    """A badge is listed by its UID or by the sha256 of the UID's bytes (64 hex digits)."""
    uid = uid.lower()
    try:
        digest = hashlib.sha256(bytes.fromhex(uid)).hexdigest()
    except ValueError:
        digest = ""
    return any(
        hmac.compare_digest(uid, badge) or (digest and hmac.compare_digest(digest, badge))
        for badge in badges
    )


def approval_answered(state: State, event: ProviderAnswered, now: Now) -> Step:
    """A poll sent before Force was pressed came back: a final answer ends the approval."""
    if state.refunding or state.payment is None or event.order_id != state.payment.order_id:
        return reject(state, event)
    if event.answer.status is PaymentStatus.PENDING:
        return Step(state.evolve(payment=absorb(state.payment, event.answer), tech_errors=0))
    return waiting_answered(state, event, now)


def approval_failed(state: State, event: ProviderFailed, now: Now) -> Step:
    """A poll sent before Force was pressed failed: the supervisor decides; nothing to do."""
    if state.refunding or state.payment is None or event.order_id != state.payment.order_id:
        return reject(state, event)
    return Step(state.evolve(tech_errors=state.tech_errors + 1))


def approval_button(state: State, event: ButtonPressed, now: Now) -> Step:
    """Cancel leaves the approval and goes back to where Force was pressed."""
    if event.button != "cancel":
        return reject(state, event)
    return _leave_approval(state.evolve(message=""))


def _approval_refused(state: State) -> Step:
    attempts = state.pin_attempts + 1
    if attempts >= state.settings.max_pin_attempts:
        return _leave_approval(state.evolve(message="approval_refused"))
    return Step(state.evolve(pin="", pin_attempts=attempts, message="wrong_pin"))


def _leave_approval(state: State) -> Step:
    if state.forcing_refund:
        # Back to the unconfirmed refund: Retry asks again, Force asks for approval again.
        back = state.evolve(phase=Phase.DONE, forcing_refund=False, pin="", pin_attempts=0)
        return Step(back, (StartTimer("result", state.settings.result_screen_s),))
    if state.refunding:
        # Back to scanning: the cashier may scan another slip or press Cancel.
        back = state.evolve(phase=Phase.REFUND_SCAN, payment=None, pin="", pin_attempts=0)
        return Step(back)
    back = state.evolve(phase=state.return_phase, pin="", pin_attempts=0)
    if state.return_phase is Phase.WAITING and state.payment is not None:
        return enter_waiting(back, state.payment, first=False)
    return Step(back)


def _finish_forced(state: State, note: str) -> Step:
    payment = state.payment
    assert payment is not None
    forced = payment.with_state(PaymentState.FORCED, forced=True)
    effects: tuple[Effect, ...] = (
        record(forced, note),
        PrintSlip(SlipKind.FORCED, forced),
        Alert("forced", f"{forced.order_id} completed by force: {note}", forced.order_id),
    )
    return show_result(state, forced, effects, message="forced")
