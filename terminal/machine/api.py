"""The integrator API's requests, decided like the keypad's: payments, cancel, refund, pairing.

A payment asked for by API reserves its through-number and order id at once and journals
the API's record of it (reference, method, idempotency key) before anything else; a QR
payment then goes on exactly as if the cashier had pressed Enter twice. A "code" or
"choose" payment waits in ``present`` for the customer's code (or, for "choose", the
cashier's Enter for a QR). The API is told what the machine decided by the step itself.
"""

from __future__ import annotations

import hmac

from terminal.machine.api_events import (
    MAX_PAIRING_ATTEMPTS,
    PAIRING_S,
    ApiCancelRequested,
    ApiOrder,
    ApiPaymentRequested,
    ApiRefundRequested,
    PairingAttempted,
    PairingOpened,
    PrintPairingSlip,
    RecordApiOrder,
    RecordPairing,
)
from terminal.machine.choice import edit_choice, picked, qr_choices, wallet_for
from terminal.machine.common import Step, reject
from terminal.machine.dialog import dialog_button, waiting_button
from terminal.machine.effects import CancelTimer, StartTimer
from terminal.machine.entry import _begin
from terminal.machine.events import ButtonPressed, CodeScanned, KeyPressed, TimerFired
from terminal.machine.refund import _why_not_refundable
from terminal.machine.results import send_void
from terminal.machine.routing import check_code, route_code, strip_symbology
from terminal.machine.states import Now, Phase, State
from terminal.money import Money
from terminal.payment import Payment, mask_code

__all__ = [
    "API_FROM",
    "api_payment",
    "api_cancel",
    "api_refund",
    "present_scan",
    "present_key",
    "present_button",
    "pairing_open",
    "pairing_attempt",
    "pairing_key",
    "pairing_button",
    "pairing_timer",
]

#: Phases an API payment, refund or pairing may start in: nothing is being paid or typed.
API_FROM = frozenset({Phase.IDLE, Phase.DONE})


def api_payment(state: State, event: ApiPaymentRequested, now: Now) -> Step:
    """Accept a POS's payment: reserve its number, journal the request, then go on."""
    s = state.settings
    if state.queue:
        return Step(state, (), "Can't start a payment while payments in doubt are resolved")
    if event.currency != s.currency:
        return Step(state, (), f"Can't take {event.currency}: this terminal takes {s.currency}")
    if not 0 < event.amount_minor <= s.max_amount_minor:
        return Step(state, (), f"Can't take an amount over {s.max_amount_minor} minor units")
    if event.provider and event.provider not in s.providers:
        return Step(state, (), f"Can't use provider {event.provider!r}: it is not configured")
    qr_provider = event.provider or s.mpm_provider
    if event.method == "qr" and not s.capabilities(qr_provider).supports_mpm:
        return Step(state, (), f"Can't show a QR: provider {qr_provider!r} has none")
    seq = state.next_seq
    order = ApiOrder(
        order_id=f"{s.terminal_id}-{s.epoch}-{seq:06d}",
        seq=seq,
        reference=event.reference,
        method=event.method,
        description=event.description,
        amount=Money(event.amount_minor, s.currency),
        provider=event.provider,
        idempotency_key=event.idempotency_key,
        body_hash=event.body_hash,
    )
    fresh = state.evolve(
        entry=str(event.amount_minor), payment=None, paid_at=None, message="", refunding=False
    )
    if event.method == "qr":
        started = order.with_status("started")
        wallet = wallet_for(s, qr_provider)
        step = _start(fresh, started, "mpm", qr_provider, now, wallet=wallet)
        return Step(step.state, (RecordApiOrder(started), *step.effects), step.rejected)
    presenting = fresh.evolve(phase=Phase.PRESENT, api_order=order, next_seq=seq + 1)
    return Step(presenting, (CancelTimer("result"), RecordApiOrder(order)))


def present_scan(state: State, event: CodeScanned, now: Now) -> Step:
    """The customer's code was scanned: pay the API payment with it."""
    order = state.api_order
    assert order is not None
    code = strip_symbology(event.code)
    problem = check_code(code)
    if problem is not None:
        return Step(state.evolve(message=f"code_{problem}"))
    route = route_code(code, state.settings.routes)
    provider = order.provider or (route.provider if route is not None else "")
    if not provider or not state.settings.capabilities(provider).supports_cpm:
        return Step(state.evolve(message="code_unknown"))
    started = order.with_status("started")
    step = _start(state, started, "cpm", provider, now, code, route.wallet if route else "")
    return Step(step.state, (RecordApiOrder(started), *step.effects), step.rejected)


def present_key(state: State, event: KeyPressed, now: Now) -> Step:
    """When the POS let the cashier choose: the payment types' list (a digit marks one),
    Enter shows the QR of the marked one, or the default; Clear abandons the payment."""
    order = state.api_order
    assert order is not None
    if event.key == "clear":
        return _abandon(state, order)
    if order.method != "choose":
        return reject(state, event)
    choices = qr_choices(state)
    if event.key != "enter":
        edited = edit_choice(state, event.key, choices) if len(choices) > 1 else None
        return edited if edited is not None else reject(state, event)
    if not choices:
        return Step(state.evolve(message="no_mpm"))
    choice = picked(state, choices)
    started = order.with_status("started")
    step = _start(state, started, "mpm", choice.provider, now, wallet=choice.wallet)
    return Step(step.state, (RecordApiOrder(started), *step.effects), step.rejected)


def present_button(state: State, event: ButtonPressed, now: Now) -> Step:
    """Cancel abandons the API payment before the customer presented a code."""
    if event.button != "cancel" or state.api_order is None:
        return reject(state, event)
    return _abandon(state, state.api_order)


def api_cancel(state: State, event: ApiCancelRequested, now: Now) -> Step:
    """The POS pressed Cancel for the payment in hand: the button's own semantics."""
    order = state.api_order
    if state.phase is Phase.PRESENT and order is not None and order.order_id == event.order_id:
        return _abandon(state, order)
    payment = state.payment
    if payment is None or payment.order_id != event.order_id:
        return Step(state, (), f"Can't cancel {event.order_id}: it is not the payment in hand")
    if state.phase is Phase.WAITING:
        return waiting_button(state, ButtonPressed("cancel"), now)
    if state.phase is Phase.NO_CONNECTION:
        return dialog_button(state, ButtonPressed("cancel"), now)
    return reject(state, event)


def api_refund(state: State, event: ApiRefundRequested, now: Now) -> Step:
    """Refund a paid payment by the refund-by-slip path (approval when configured).

    All that is left unless the POS asked for less, which the provider must take in part;
    more than is left is refused, as on the keypad.
    """
    payment = event.payment
    problem = _why_not_refundable(state, payment)
    left = payment.refundable_minor
    minor = event.amount_minor or left
    if not problem and minor > left:
        problem = f"{minor} is more than is left to refund ({left})"
    partial = state.settings.capabilities(payment.provider).partial_refund
    if not problem and minor < left and not partial:
        problem = f"{payment.provider} refunds only all that is left ({left})"
    if problem:
        return Step(state, (), f"Can't refund {payment.order_id}: {problem}")
    found = state.evolve(
        payment=payment, refunding=True, entry="", message="", pin="", pin_attempts=0,
        paid_at=None, refund_minor=minor,
    )  # fmt: skip
    if state.settings.refund_requires_approval:
        approval = found.evolve(phase=Phase.APPROVAL, return_phase=Phase.REFUND_SCAN)
        return Step(approval, (CancelTimer("result"),))
    return send_void(found, payment)


# --- pairing -------------------------------------------------------------------------------


def pairing_open(state: State, event: PairingOpened, now: Now) -> Step:
    """Show the pairing code and the certificate's fingerprint; print the fingerprint."""
    pairing = state.evolve(
        phase=Phase.PAIRING, payment=None, entry="", message="", paid_at=None, refunding=False,
        pairing_code=event.code, pairing_fingerprint=event.fingerprint, pairing_attempts=0,
    )  # fmt: skip
    effects = (
        CancelTimer("result"),
        StartTimer("pairing", PAIRING_S),
        PrintPairingSlip(event.fingerprint),
    )
    return Step(pairing, effects)


def pairing_attempt(state: State, event: PairingAttempted, now: Now) -> Step:
    """A POS sent a code: the right one pairs it; five wrong ones void the code."""
    if hmac.compare_digest(event.code.encode(), state.pairing_code.encode()):
        done = _end_pairing(state, "paired")
        return Step(
            done.state,
            (RecordPairing(event.name, event.key_hash), *done.effects),
        )
    attempts = state.pairing_attempts + 1
    if attempts >= MAX_PAIRING_ATTEMPTS:
        void = _end_pairing(state, "pairing_void")
        return Step(void.state, void.effects, "Wrong pairing code: the code is void")
    return Step(state.evolve(pairing_attempts=attempts), (), "Wrong pairing code")


def pairing_key(state: State, event: KeyPressed, now: Now) -> Step:
    """Clear (or Enter) takes the pairing code off the screen; it is void from then on."""
    if event.key in ("clear", "enter"):
        return _end_pairing(state, "")
    return reject(state, event)


def pairing_button(state: State, event: ButtonPressed, now: Now) -> Step:
    """Cancel takes the pairing code off the screen."""
    if event.button != "cancel":
        return reject(state, event)
    return _end_pairing(state, "")


def pairing_timer(state: State, event: TimerFired, now: Now) -> Step:
    """The five minutes are up: the code is void."""
    if event.name != "pairing":
        return reject(state, event)
    return _end_pairing(state, "")


def _end_pairing(state: State, message: str) -> Step:
    idle = state.evolve(
        phase=Phase.IDLE, pairing_code="", pairing_fingerprint="", pairing_attempts=0,
        message=message,
    )  # fmt: skip
    return Step(idle, (CancelTimer("pairing"),))


# --- helpers -------------------------------------------------------------------------------


def _start(
    state: State,
    order: ApiOrder,
    flow: str,
    provider: str,
    now: Now,
    code: str = "",
    wallet: str = "",
) -> Step:
    """Begin the payment ``order`` reserved, with its own number: journal, then call."""
    payment = Payment(
        order_id=order.order_id,
        seq=order.seq,
        shift=state.shift,
        flow="cpm" if flow == "cpm" else "mpm",
        provider=provider,
        amount=order.amount,
        code_masked=mask_code(code) if code else "",
        wallet=wallet,
        created_wall=now.wall,
        wall_synced=now.wall_synced,
    )
    begun = state.evolve(api_order=None, entry=str(order.amount.amount_minor))
    if flow == "cpm":
        return _begin(begun, payment, "pay", Phase.PAYING, code, wallet)
    return _begin(begun, payment, "create", Phase.CREATING, code, wallet)


def _abandon(state: State, order: ApiOrder) -> Step:
    """Back to idle; the API payment is recorded as abandoned (its number stays accounted)."""
    idle = state.evolve(phase=Phase.IDLE, api_order=None, entry="", message="")
    return Step(idle, (RecordApiOrder(order.with_status("abandoned")),))
