"""What the customer sees and hears: the machine's screen on the display, and the signals."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from hw.base import Display, Signals
from hw.errors import HardwareError
from terminal.machine import Phase, State
from terminal.payment import PaymentState
from terminal.runtime.observers import Emit
from terminal.views.model import Screen
from terminal.views.screens import screen_for
from terminal.views.text import Language

__all__ = ["ScreenUpdater", "signal_change"]

log = logging.getLogger("payterm.runtime")


class ScreenUpdater:
    """Draws the screen a state calls for, only when it differs from the one shown."""

    def __init__(self, display: Display, *, language: Language, emit: Emit) -> None:
        self._display = display
        self._language = language
        self._emit = emit
        self.current: Screen | None = None
        self.sync_late = False  # the small mark: the oldest unsynced record is overdue

    def show(self, state: State) -> None:
        """Show the screen for ``state`` (a display failure is logged: payments go on)."""
        screen = screen_for(state, self._language)
        if self.sync_late:
            screen = dataclasses.replace(screen, sync_late=True)
        if screen == self.current:
            return
        self.current = screen
        try:
            self._display.show(screen)
        except HardwareError as exc:
            log.warning("display: %s", exc)
        self._emit("display:screen", **_screen_dict(screen))


def signal_change(signals: Signals | None, old: Phase, state: State) -> None:
    """Signal waiting while the machine waits, and OK or failure when a payment ends."""
    if signals is None:
        return
    if Phase.WAITING in (old, state.phase):
        signals.waiting(state.phase is Phase.WAITING)
    if state.phase is Phase.DONE and state.payment is not None:
        if state.payment.state in (PaymentState.PAID, PaymentState.VOIDED):
            signals.ok()
        elif state.payment.state is not PaymentState.FORCED:
            signals.fail()


def _screen_dict(screen: Screen) -> dict[str, Any]:
    return {
        "name": screen.name,
        "title": screen.title,
        "amount": screen.amount,
        "lines": list(screen.lines),
        "qr": screen.qr,
        "countdown_s": screen.countdown_s,
        "sync_late": screen.sync_late,
    }
