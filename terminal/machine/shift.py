"""Closing the shift (the Z report): only while nothing is being paid or refunded."""

from __future__ import annotations

from terminal.machine.common import Step
from terminal.machine.effects import CloseShift
from terminal.machine.events import ShiftCloseRequested
from terminal.machine.states import Now, Phase, State

__all__ = ["CLOSE_FROM", "close_refused", "close_shift"]

#: Phases the shift may be closed in: nothing is being paid, refunded or typed.
CLOSE_FROM = frozenset({Phase.IDLE, Phase.DONE})


def close_shift(state: State, event: ShiftCloseRequested, now: Now) -> Step:
    """Close the shift: the journal closes it, and the next payment takes the next number."""
    held = state.payment
    if state.phase is Phase.DONE and held is not None and held.is_unresolved:
        return close_refused(state, event, now)
    closing = state.evolve(shift=state.shift + 1, message="")
    return Step(closing, (CloseShift(state.shift, event.source),))


def close_refused(state: State, event: ShiftCloseRequested, now: Now) -> Step:
    """A payment or refund is under way: the shift stays open, and the screen says why."""
    text = f"Shift {state.shift} not closed: a payment is under way ({state.phase.value})"
    return Step(state.evolve(message="z_busy"), (), text)
