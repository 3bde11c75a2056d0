"""Refund by the slip: scan (or type) a paid payment's reference, approve, send the refund.

The cashier presses the refund operator key, scans the barcode on the customer's slip (the
provider's order number) or types the slip's number, the journal finds the payment, a
supervisor approves with PIN or badge, and the refund goes out through the void path:
journaled as VOIDING first, sent with the payment's one refund key, then VOIDED and a
REFUND slip. Only a PAID payment of a configured provider that refunds can be refunded, so
a payment is never refunded twice by the terminal.
"""

from __future__ import annotations

from terminal.machine.common import DIGITS, Step, reject
from terminal.machine.effects import CancelTimer, FindPayment
from terminal.machine.events import (
    ButtonPressed,
    CodeScanned,
    KeyPressed,
    PaymentLookedUp,
    RefundRequested,
)
from terminal.machine.recovery import resolve_next
from terminal.machine.routing import check_code, strip_symbology
from terminal.machine.states import Now, Phase, State
from terminal.payment import Payment, PaymentState

__all__ = [
    "REFUND_FROM",
    "MAX_TYPED_NUMBER",
    "begin_refund",
    "refund_scan",
    "refund_key",
    "refund_button",
    "refund_found",
    "refund_amount_key",
    "leave_refund",
]

#: Phases the refund key works in: nothing is being paid.
REFUND_FROM = frozenset({Phase.IDLE, Phase.AMOUNT, Phase.READY, Phase.DONE})
#: The longest slip number the cashier can type.
MAX_TYPED_NUMBER = 12


def begin_refund(state: State, event: RefundRequested, now: Now) -> Step:
    """The refund key: drop any amount typed and ask for the slip's barcode."""
    scanning = state.evolve(
        phase=Phase.REFUND_SCAN,
        entry="",
        payment=None,
        paid_at=None,
        message="",
        refunding=True,
        pin="",
        pin_attempts=0,
    )
    return Step(scanning, (CancelTimer("result"),))


def refund_scan(state: State, event: CodeScanned, now: Now) -> Step:
    """The slip's barcode was scanned: look the payment up."""
    reference = strip_symbology(event.code.strip())
    problem = check_code(reference)
    if problem is not None:
        notice = "code_too_long" if problem == "too_long" else "code_unreadable"
        return Step(state.evolve(message=notice))
    return Step(state.evolve(entry="", message="refund_looking"), (FindPayment(reference),))


def refund_key(state: State, event: KeyPressed, now: Now) -> Step:
    """Type the slip's number when its barcode will not scan; Enter looks it up."""
    key = event.key
    if key in DIGITS and len(state.entry) < MAX_TYPED_NUMBER:
        return Step(state.evolve(entry=state.entry + key, message=""))
    if key == "backspace":
        return Step(state.evolve(entry=state.entry[:-1], message=""))
    if key == "clear":
        return leave_refund(state) if not state.entry else Step(state.evolve(entry=""))
    if key == "enter" and state.entry:
        return Step(state.evolve(message="refund_looking"), (FindPayment(state.entry),))
    return reject(state, event)


def refund_button(state: State, event: ButtonPressed, now: Now) -> Step:
    """Cancel leaves the refund."""
    if event.button != "cancel":
        return reject(state, event)
    return leave_refund(state)


def refund_found(state: State, event: PaymentLookedUp, now: Now) -> Step:
    """The journal answered: ask a supervisor to approve the refund, or say why not."""
    payment = event.payment
    if payment is None:
        return Step(state.evolve(entry="", message="refund_not_found"))
    problem = _why_not_refundable(state, payment)
    if problem:
        return Step(state.evolve(entry="", message=problem))
    found = state.evolve(
        entry="", payment=payment, message="", pin="", pin_attempts=0, refund_minor=0
    )
    if state.settings.capabilities(payment.provider).partial_refund:
        return Step(found.evolve(phase=Phase.REFUND_AMOUNT))
    return _to_approval(found)


def refund_amount_key(state: State, event: KeyPressed, now: Now) -> Step:
    """Type the amount to refund (minor units); Enter alone refunds all that is left.

    More than is left is refused with the amount left on the screen; Clear with nothing
    typed goes back to scanning a slip.
    """
    key, payment = event.key, state.payment
    assert payment is not None
    if key in DIGITS and len(state.entry) < MAX_TYPED_NUMBER:
        return Step(state.evolve(entry=(state.entry + key).lstrip("0"), message=""))
    if key == "backspace":
        return Step(state.evolve(entry=state.entry[:-1], message=""))
    if key == "clear":
        if state.entry:
            return Step(state.evolve(entry="", message=""))
        return Step(state.evolve(phase=Phase.REFUND_SCAN, payment=None, message=""))
    if key != "enter":
        return reject(state, event)
    left = payment.refundable_minor
    minor = int(state.entry) if state.entry else left
    if minor > left:
        return Step(state.evolve(message="refund_exceeds"))
    return _to_approval(state.evolve(entry="", refund_minor=minor, message=""))


def _to_approval(found: State) -> Step:
    """The refund in hand is found (and its amount known): approval, or confirm at once."""
    if found.settings.refund_requires_approval:
        return Step(found.evolve(phase=Phase.APPROVAL, return_phase=Phase.REFUND_SCAN))
    return Step(found.evolve(phase=Phase.VOID_CONFIRM))


def leave_refund(state: State) -> Step:
    """Back to the idle screen with nothing in hand (payments in doubt are resolved first)."""
    idle = state.evolve(
        phase=Phase.IDLE, entry="", payment=None, refunding=False, pin="", message="",
        refund_minor=0, forcing_refund=False,
    )  # fmt: skip
    if idle.queue:
        return resolve_next(idle)
    return Step(idle)


def _why_not_refundable(state: State, payment: Payment) -> str:
    """The notice that says why ``payment`` cannot be refunded here, or "" when it can."""
    if payment.state in (PaymentState.VOIDED, PaymentState.VOIDING, PaymentState.REFUNDED):
        return "refund_already"
    if payment.state is PaymentState.REFUNDING:
        return "refund_under_way"
    if payment.state not in (PaymentState.PAID, PaymentState.PARTIALLY_REFUNDED):
        return "refund_not_paid"
    known = payment.provider in state.settings.providers
    if not known or not state.settings.capabilities(payment.provider).supports_refund:
        return "refund_unsupported"
    return ""
