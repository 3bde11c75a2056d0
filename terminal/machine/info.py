"""The info page: host name, addresses, Wi-Fi and version, for a technician at the terminal.

Opened by the ``info`` operator key on the idle screen only (never mid-payment), shown
until any key or button, the ``info`` key again, or :data:`INFO_SHOWN_S` untouched; while
it is shown the facts are gathered again every :data:`INFO_REFRESH_S`.
"""

from __future__ import annotations

from terminal.machine.common import Step, reject
from terminal.machine.effects import CancelTimer, StartTimer
from terminal.machine.events import ButtonPressed, KeyPressed, TimerFired
from terminal.machine.info_events import (
    INFO_REFRESH_S,
    INFO_SHOWN_S,
    GatherHostInfo,
    HostInfoGathered,
    InfoRequested,
)
from terminal.machine.recovery import resolve_next
from terminal.machine.states import Now, Phase, State

__all__ = ["info_open", "info_close", "info_gathered", "info_timer"]

_TIMERS = ("info", "info_refresh")


def info_open(state: State, event: InfoRequested, now: Now) -> Step:
    """Show the info page (facts to come) and ask for the facts."""
    shown = state.evolve(phase=Phase.INFO, host_info=None, message="")
    effects = (
        GatherHostInfo(),
        StartTimer("info", INFO_SHOWN_S),
        StartTimer("info_refresh", INFO_REFRESH_S),
    )
    return Step(shown, effects)


def info_close(state: State, event: InfoRequested | KeyPressed | ButtonPressed, now: Now) -> Step:
    """Any key, any button or the ``info`` key again: back to the idle screen."""
    return _close(state)


def info_gathered(state: State, event: HostInfoGathered, now: Now) -> Step:
    """The facts arrived: the page shows them."""
    return Step(state.evolve(host_info=event.info))


def info_timer(state: State, event: TimerFired, now: Now) -> Step:
    """Refresh the facts; or, left untouched long enough, go back to the idle screen."""
    if event.name == "info_refresh":
        return Step(state, (GatherHostInfo(), StartTimer("info_refresh", INFO_REFRESH_S)))
    if event.name == "info":
        return _close(state)
    return reject(state, event)


def _close(state: State) -> Step:
    """Back to the idle screen; a payment in doubt queued meanwhile is resolved at once."""
    idle = state.evolve(phase=Phase.IDLE, host_info=None, message="")
    stop = tuple(CancelTimer(name) for name in _TIMERS)
    if not idle.queue:
        return Step(idle, stop)
    resolving = resolve_next(idle)
    return Step(resolving.state, (*stop, *resolving.effects))
