"""Closing the shift (the Z report): only while nothing is being paid or refunded.

The close is written ahead: the machine asks the journal to close the shift and moves to
the next shift number only once the journal says it did (``ShiftClosed``); when the write
fails (``ShiftCloseFailed``) the shift stays open and the screen says so.
"""

from __future__ import annotations

from terminal.machine.common import Step, reject
from terminal.machine.effects import Alert, CloseShift
from terminal.machine.events import ShiftClosed, ShiftCloseFailed, ShiftCloseRequested
from terminal.machine.states import Now, Phase, State

__all__ = ["CLOSE_FROM", "close_failed", "close_refused", "close_shift", "shift_closed"]

#: Phases the shift may be closed in: nothing is being paid, refunded or typed.
CLOSE_FROM = frozenset({Phase.IDLE, Phase.DONE})


def close_shift(state: State, event: ShiftCloseRequested, now: Now) -> Step:
    """Ask the journal to close the shift; it stays the current one until the journal did."""
    held = state.payment
    if state.phase is Phase.DONE and held is not None and held.is_unresolved:
        return close_refused(state, event, now)
    return Step(state.evolve(message=""), (CloseShift(state.shift, event.source),))


def close_refused(state: State, event: ShiftCloseRequested, now: Now) -> Step:
    """A payment or refund is under way: the shift stays open, and the screen says why."""
    text = f"Shift {state.shift} not closed: a payment is under way ({state.phase.value})"
    return Step(state.evolve(message="z_busy"), (), text)


def shift_closed(state: State, event: ShiftClosed, now: Now) -> Step:
    """The journal closed the shift: the next payment takes the next shift number."""
    if event.shift != state.shift:
        return reject(state, event)
    return Step(state.evolve(shift=state.shift + 1, message=""))


def close_failed(state: State, event: ShiftCloseFailed, now: Now) -> Step:
    """The close could not be written: the shift stays open, the screen and an alert say so."""
    text = f"shift {event.shift} not closed: {event.reason}"
    return Step(state.evolve(message="z_failed"), (Alert("z_failed", text),))
