"""The pure payment machine: ``step(state, event, now)`` → new state and effects.

No I/O, no clock reads: time comes in as ``now``, results of provider calls come in as
events, and everything the terminal must do goes out as effects. The transition table
``TABLE`` maps (phase, event type) to the handler that decides; an event it does not
list is rejected with "Can't {event} when in {phase}". The handlers live in one module
per area: ``entry``, ``waiting``, ``cancel``, ``dialog``, ``approval``, ``results``,
``refund``, ``recovery``, ``background`` and ``info``, with what they share in ``common``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from terminal.machine.api import (
    API_FROM,
    api_cancel,
    api_payment,
    api_refund,
    pairing_attempt,
    pairing_button,
    pairing_key,
    pairing_open,
    pairing_timer,
    present_button,
    present_key,
    present_scan,
)
from terminal.machine.api_events import (
    ApiCancelRequested,
    ApiPaymentRequested,
    ApiRefundRequested,
    PairingAttempted,
    PairingOpened,
)
from terminal.machine.approval import (
    approval_answered,
    approval_badge,
    approval_button,
    approval_failed,
    approval_key,
)
from terminal.machine.background import (
    TIMER,
    background_answered,
    background_failed,
    background_timer,
    link_restored,
    track,
    unsettled_found,
)
from terminal.machine.cancel import cancel_answered, cancel_error
from terminal.machine.choice import choose_button, choose_key, choose_scan, ready_key_or_choose
from terminal.machine.common import TICK_S, Step, order_of, reject
from terminal.machine.dialog import dialog_button, waiting_button
from terminal.machine.effects import CallProvider
from terminal.machine.entry import (
    amount_button,
    amount_key,
    amount_scan,
    broken_scan,
    idle_key,
    idle_scan,
    ready_button,
    ready_scan,
)
from terminal.machine.events import (
    BadgeTapped,
    ButtonPressed,
    CodeScanned,
    Event,
    InDoubtFound,
    JournalFailed,
    JournalWritable,
    KeyPressed,
    LinkRestored,
    PartReported,
    PaymentLookedUp,
    PrinterReported,
    ProviderAnswered,
    ProviderFailed,
    ReconcileAnswered,
    ReconcileFailed,
    RefundRequested,
    ScanBroken,
    ShiftClosed,
    ShiftCloseFailed,
    ShiftCloseRequested,
    TimerFired,
    UnsettledFound,
)
from terminal.machine.info import info_close, info_gathered, info_open, info_timer
from terminal.machine.info_events import HostInfoGathered, InfoRequested
from terminal.machine.recovery import enter_fault, fault_timer, leave_fault, queue_in_doubt
from terminal.machine.refund import (
    REFUND_FROM,
    begin_refund,
    refund_amount_key,
    refund_button,
    refund_found,
    refund_key,
    refund_scan,
)
from terminal.machine.results import (
    done_button,
    done_key,
    done_timer,
    void_answered,
    void_button,
    void_error,
    void_key,
)
from terminal.machine.shift import (
    CLOSE_FROM,
    close_failed,
    close_refused,
    close_shift,
    shift_closed,
)
from terminal.machine.states import Now, Phase, State
from terminal.machine.waiting import waiting_answered, waiting_failed, waiting_timer

__all__ = ["Step", "step", "TABLE", "order_of", "TICK_S"]


def step(state: State, event: Event, now: Now) -> Step:
    """Handle ``event`` at time ``now``; the only place the terminal's state changes."""
    state = state.evolve(now=now.mono, wall=now.wall, wall_synced=now.wall_synced)
    if isinstance(event, ProviderAnswered | ProviderFailed) and _is_current(state, event.order_id):
        if not state.calls_out:
            return reject(state, event)  # nothing was asked: a duplicate or stray answer
        state = state.evolve(calls_out=state.calls_out - 1)
    result = track(_dispatch(state, event, now))
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
        return enter_fault(state, event.reason, event.disk_full)
    if state.phase is Phase.FAULT:
        if isinstance(event, TimerFired):
            return fault_timer(state, event)
        if isinstance(event, JournalWritable):
            return leave_fault(state, event)
        return reject(state, event)
    background = _BACKGROUND.get(type(event))
    if background is not None:
        return background(state, event, now)
    if isinstance(event, TimerFired) and event.name == TIMER:
        return background_timer(state, event, now)
    if isinstance(event, InDoubtFound):
        return queue_in_doubt(state, event.payment, now)
    if isinstance(event, PartReported):
        return Step(state.evolve(part_problem=event.problem))
    if isinstance(event, PrinterReported):
        # Printing never holds a payment up; the screen tells the cashier what is wrong.
        return Step(state.evolve(printer_problem=event.problem))
    handler = TABLE.get((state.phase, type(event)))
    if handler is None:
        return reject(state, event)
    return handler(state, event, now)


# --- the transition table ------------------------------------------------------------------

Handler = Callable[[State, Any, Now], Step]

#: Events about payments settled in the background, taken in every phase but the fault.
_BACKGROUND: dict[type, Handler] = {
    ReconcileAnswered: background_answered,
    ReconcileFailed: background_failed,
    LinkRestored: link_restored,
    UnsettledFound: unsettled_found,
}
#: The phases that take a scan (``CodeScanned``); a broken scan is answered in the same ones.
SCAN_PHASES = (
    Phase.IDLE,
    Phase.AMOUNT,
    Phase.READY,
    Phase.CHOOSE,
    Phase.REFUND_SCAN,
    Phase.PRESENT,
)
#: Phases in which the API's cancel may act: the Cancel button's own phases.
_CANCEL_FROM = (Phase.PRESENT, Phase.WAITING, Phase.NO_CONNECTION)

TABLE: dict[tuple[Phase, type], Handler] = {
    (Phase.IDLE, KeyPressed): idle_key,
    (Phase.IDLE, CodeScanned): idle_scan,
    (Phase.AMOUNT, KeyPressed): amount_key,
    (Phase.AMOUNT, CodeScanned): amount_scan,
    (Phase.AMOUNT, ButtonPressed): amount_button,
    (Phase.READY, KeyPressed): ready_key_or_choose,
    (Phase.READY, CodeScanned): ready_scan,
    (Phase.READY, ButtonPressed): ready_button,
    (Phase.CHOOSE, KeyPressed): choose_key,
    (Phase.CHOOSE, CodeScanned): choose_scan,
    (Phase.CHOOSE, ButtonPressed): choose_button,
    (Phase.CREATING, ProviderAnswered): waiting_answered,
    (Phase.CREATING, ProviderFailed): waiting_failed,
    (Phase.CREATING, TimerFired): waiting_timer,
    (Phase.PAYING, ProviderAnswered): waiting_answered,
    (Phase.PAYING, ProviderFailed): waiting_failed,
    (Phase.PAYING, TimerFired): waiting_timer,
    (Phase.WAITING, ProviderAnswered): waiting_answered,
    (Phase.WAITING, ProviderFailed): waiting_failed,
    (Phase.WAITING, TimerFired): waiting_timer,
    (Phase.WAITING, ButtonPressed): waiting_button,
    (Phase.RESOLVING, ProviderAnswered): waiting_answered,
    (Phase.RESOLVING, ProviderFailed): waiting_failed,
    (Phase.RESOLVING, TimerFired): waiting_timer,
    (Phase.NO_CONNECTION, ButtonPressed): dialog_button,
    (Phase.CANCELLING, ProviderAnswered): cancel_answered,
    (Phase.CANCELLING, ProviderFailed): cancel_error,
    (Phase.APPROVAL, KeyPressed): approval_key,
    (Phase.APPROVAL, BadgeTapped): approval_badge,
    (Phase.APPROVAL, ButtonPressed): approval_button,
    (Phase.APPROVAL, ProviderAnswered): approval_answered,
    (Phase.APPROVAL, ProviderFailed): approval_failed,
    (Phase.DONE, TimerFired): done_timer,
    (Phase.DONE, KeyPressed): done_key,
    (Phase.DONE, ButtonPressed): done_button,
    (Phase.VOID_CONFIRM, KeyPressed): void_key,
    (Phase.VOID_CONFIRM, ButtonPressed): void_button,
    (Phase.VOIDING, ProviderAnswered): void_answered,
    (Phase.VOIDING, ProviderFailed): void_error,
    **{(phase, RefundRequested): begin_refund for phase in REFUND_FROM},
    (Phase.REFUND_SCAN, CodeScanned): refund_scan,
    (Phase.REFUND_SCAN, KeyPressed): refund_key,
    (Phase.REFUND_SCAN, ButtonPressed): refund_button,
    (Phase.REFUND_SCAN, PaymentLookedUp): refund_found,
    (Phase.REFUND_AMOUNT, KeyPressed): refund_amount_key,
    (Phase.REFUND_AMOUNT, ButtonPressed): refund_button,
    **{(phase, ShiftCloseRequested): close_shift for phase in CLOSE_FROM},
    **{(p, ShiftCloseRequested): close_refused for p in Phase if p not in CLOSE_FROM},
    # the journal's word on a close asked for (it follows the CloseShift at once)
    **{(phase, ShiftClosed): shift_closed for phase in CLOSE_FROM},
    **{(phase, ShiftCloseFailed): close_failed for phase in CLOSE_FROM},
    # A broken scan is told wherever a scan is taken; nothing of it is charged or looked up.
    **{(phase, ScanBroken): broken_scan for phase in SCAN_PHASES},
    # the integrator API: another source of events
    **{(phase, ApiPaymentRequested): api_payment for phase in API_FROM},
    **{(phase, ApiRefundRequested): api_refund for phase in API_FROM},
    **{(phase, PairingOpened): pairing_open for phase in API_FROM},
    **{(phase, ApiCancelRequested): api_cancel for phase in _CANCEL_FROM},
    (Phase.PRESENT, CodeScanned): present_scan,
    (Phase.PRESENT, KeyPressed): present_key,
    (Phase.PRESENT, ButtonPressed): present_button,
    (Phase.PAIRING, PairingAttempted): pairing_attempt,
    (Phase.PAIRING, KeyPressed): pairing_key,
    (Phase.PAIRING, ButtonPressed): pairing_button,
    (Phase.PAIRING, TimerFired): pairing_timer,
    # the info page: from the idle screen only, never mid-payment
    (Phase.IDLE, InfoRequested): info_open,
    (Phase.INFO, InfoRequested): info_close,
    (Phase.INFO, KeyPressed): info_close,
    (Phase.INFO, ButtonPressed): info_close,
    (Phase.INFO, HostInfoGathered): info_gathered,
    (Phase.INFO, TimerFired): info_timer,
}
