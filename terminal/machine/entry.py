"""Typing the amount and starting a payment: the handlers of the idle, amount and ready phases."""

from __future__ import annotations

from terminal.machine.common import DIGITS, Step, order_of, record, reject
from terminal.machine.effects import CallProvider, CancelTimer, Effect
from terminal.machine.events import ButtonPressed, CodeScanned, KeyPressed, Op, ScanBroken
from terminal.machine.routing import check_code, route_code, strip_symbology
from terminal.machine.states import Now, Phase, QrChoice, State
from terminal.money import Money
from terminal.payment import Flow, Payment, mask_code

# --- amount entry ----------------------------------------------------------------------


def idle_key(state: State, event: KeyPressed, now: Now) -> Step:
    """A digit on the idle screen starts a new amount."""
    edited = _edit_amount(state.evolve(entry=""), event.key)
    if edited is None or not edited.entry:
        return reject(state, event) if edited is None else Step(edited)
    return Step(edited.evolve(phase=Phase.AMOUNT, payment=None))


def idle_scan(state: State, event: CodeScanned, now: Now) -> Step:
    """A scan with no amount typed: ask for the amount first."""
    return Step(state.evolve(message="amount_first"))


def amount_key(state: State, event: KeyPressed, now: Now) -> Step:
    """Edit the amount; Enter confirms it, Clear on an empty amount goes back to idle."""
    if event.key == "enter":
        if state.amount_minor <= 0:
            return Step(state.evolve(message="amount_first"))
        return Step(state.evolve(phase=Phase.READY, message=""))
    edited = _edit_amount(state, event.key)
    if edited is None:
        return reject(state, event)
    if not edited.entry and event.key == "clear":
        return Step(edited.evolve(phase=Phase.IDLE))
    return Step(edited)


def amount_scan(state: State, event: CodeScanned, now: Now) -> Step:
    """A scan while typing pays the amount typed so far with the customer's code."""
    if state.amount_minor <= 0:
        return Step(state.evolve(message="amount_first"))
    return _start_cpm(state, strip_symbology(event.code), now)


def broken_scan(state: State, event: ScanBroken, now: Now) -> Step:
    """A scan that arrived broken charges nothing: the cashier is asked to scan again.

    Before an amount is typed the notice is the one any scan gets there.
    """
    if state.phase is Phase.IDLE or (state.phase is Phase.AMOUNT and state.amount_minor <= 0):
        return Step(state.evolve(message="amount_first"))
    return Step(state.evolve(message="scan_again"))


def amount_button(state: State, event: ButtonPressed, now: Now) -> Step:
    """Cancel drops the amount and goes back to idle."""
    if event.button != "cancel":
        return reject(state, event)
    return Step(state.evolve(phase=Phase.IDLE, entry="", message=""))


def ready_key(state: State, event: KeyPressed, now: Now) -> Step:
    """Backspace or Clear edits the amount (Enter is the choice's: ``choice.ready_enter``)."""
    if event.key in ("backspace", "clear"):
        return Step(state.evolve(phase=Phase.AMOUNT, message=""))
    return reject(state, event)


def ready_scan(state: State, event: CodeScanned, now: Now) -> Step:
    """A scan pays the confirmed amount with the customer's code."""
    return _start_cpm(state, strip_symbology(event.code), now)


def ready_button(state: State, event: ButtonPressed, now: Now) -> Step:
    """Cancel goes back to editing the amount."""
    if event.button != "cancel":
        return reject(state, event)
    return Step(state.evolve(phase=Phase.AMOUNT, message=""))


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


# --- starting a payment ------------------------------------------------------------------


def _new_payment(
    state: State, flow: Flow, provider: str, now: Now, code: str = "", wallet: str = ""
) -> Payment:
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
        wallet=wallet,
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
        refunding=False,
        calls_out=0,
        choice="",
        choice_page=0,
    )
    effects: tuple[Effect, ...] = (
        CancelTimer("result"),
        record(payment, "intent"),
        CallProvider(op, payment.provider, order_of(payment), code=code),
    )
    return Step(started, effects)


def _start_mpm(state: State, now: Now, choice: QrChoice) -> Step:
    """Ask ``choice``'s provider for a QR paid with its wallet."""
    if not state.settings.capabilities(choice.provider).supports_mpm:
        return Step(state.evolve(message="no_mpm"))
    payment = _new_payment(state, "mpm", choice.provider, now, wallet=choice.wallet)
    return _begin(state, payment, "create", Phase.CREATING, "", choice.wallet)


def _start_cpm(state: State, code: str, now: Now) -> Step:
    problem = check_code(code)
    if problem is not None:
        return Step(state.evolve(message=f"code_{problem}"))
    route = route_code(code, state.settings.routes)
    if route is None:
        return Step(state.evolve(message="code_unknown"))
    if not state.settings.capabilities(route.provider).supports_cpm:
        return Step(state.evolve(message="code_unknown"))
    payment = _new_payment(state, "cpm", route.provider, now, code, route.wallet)
    return _begin(state, payment, "pay", Phase.PAYING, code, route.wallet)
