"""The timers' effects: StartTimer and CancelTimer, firing TimerFired on the injected clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from terminal.clock import Clock
from terminal.machine import Event, StartTimer, TimerFired

__all__ = ["Timers"]


class Timers:
    """The machine's named timers; starting one of a name replaces the one running. Loop-only."""

    def __init__(self, clock: Clock, *, feed: Callable[[Event], None]) -> None:
        self._clock = clock
        self._feed = feed
        self._running: dict[str, asyncio.Task[None]] = {}
        self._stopped = False

    def start(self, effect: StartTimer) -> None:
        """(Re)start the timer ``effect.name``; once stopped, only cancel the old one."""
        self.cancel(effect.name)
        if self._stopped:
            return  # nothing new starts while stopping; the journal keeps the payment
        self._running[effect.name] = asyncio.ensure_future(self._run(effect))

    def cancel(self, name: str) -> None:
        """Cancel the timer ``name`` if it runs."""
        timer = self._running.pop(name, None)
        if timer is not None:
            timer.cancel()

    def cancel_all(self) -> None:
        """Cancel every running timer."""
        for timer in self._running.values():
            timer.cancel()
        self._running.clear()

    def stop(self) -> None:
        """Cancel every timer and start none any more."""
        self._stopped = True
        self.cancel_all()

    async def _run(self, effect: StartTimer) -> None:
        await self._clock.sleep(effect.delay_s)
        self._running.pop(effect.name, None)
        self._feed(TimerFired(effect.name))
