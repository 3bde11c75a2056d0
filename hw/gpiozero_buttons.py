"""The Retry, Cancel and Force buttons over gpiozero (any pin factory, MockFactory in tests)."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from hw.base import ButtonName, ClosesAsync
from hw.errors import HardwareError

__all__ = ["GpiozeroButtons", "DEBOUNCE_S"]

log = logging.getLogger(__name__)

DEBOUNCE_S = 0.05  # contact bounce of tactile switches settles within a few ms; 50 ms is safe


class GpiozeroButtons(ClosesAsync):
    """Yields the name of each button press; implements :class:`hw.base.Buttons`.

    ``pins`` maps each button to its BCM GPIO number; with ``pull_up`` (the default) a button
    connects its pin to ground. ``pin_factory`` is a gpiozero pin factory (``None``: gpiozero's
    default; ``gpiozero.pins.mock.MockFactory()`` in the emulator and tests).

    Debouncing is done here, not by gpiozero's ``bounce_time`` (which MockFactory does not
    implement): a press within ``debounce_s`` of that button's previous press is ignored,
    timed with ``monotonic``.

    Threads: gpiozero calls back on its own thread (or, with MockFactory, on the thread that
    drives the pin); the callback only hands the name to the loop with
    ``loop.call_soon_threadsafe``. Everything else is loop-only. The loop is the one running
    at construction, or at the first ``presses()`` if none was; presses before that are
    dropped with a warning.
    """

    def __init__(
        self,
        pins: Mapping[ButtonName, int],
        *,
        pin_factory: Any = None,
        pull_up: bool = True,
        debounce_s: float = DEBOUNCE_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pins = dict(pins)
        self._factory_name = type(pin_factory).__name__ if pin_factory is not None else "default"
        self._debounce_s = debounce_s
        self._monotonic = monotonic
        self._last_press: dict[ButtonName, float] = {}
        self._queue: asyncio.Queue[ButtonName | None] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = _running_loop()
        self._closed = False
        self._buttons: dict[ButtonName, Any] = {}
        try:
            for name, pin in self._pins.items():
                self._buttons[name] = self._make_button(name, pin, pin_factory, pull_up)
        except HardwareError:
            self._close_buttons()
            raise

    @property
    def is_closed(self) -> bool:
        """True once ``aclose()`` ran."""
        return self._closed

    def presses(self) -> AsyncIterator[ButtonName]:
        """Yield each press's button name until ``aclose()``; call it from the running loop."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._presses()

    async def _presses(self) -> AsyncIterator[ButtonName]:
        while not self._closed:
            name = await self._queue.get()
            if name is None:
                return
            yield name

    def status(self) -> dict[str, object]:
        """What the self-check shows: the pins and whether each button is held right now."""
        return {
            "pins": dict(self._pins),
            "held": {name: bool(button.is_pressed) for name, button in self._buttons.items()},
            "closed": self._closed,
        }

    async def aclose(self) -> None:
        """Release the GPIO pins and end ``presses()``; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._queue.put_nowait(None)
        # gpiozero joins each button's hold thread, which polls every 0.1 s (or waits out
        # hold_time while held): keep that off the loop.
        await asyncio.to_thread(self._close_buttons)

    def __repr__(self) -> str:
        pins = ", ".join(f"{name}=GPIO{pin}" for name, pin in self._pins.items())
        state = "closed" if self._closed else "open"
        return f"<{type(self).__name__} {pins} on {self._factory_name} pins, {state}>"

    def _make_button(self, name: ButtonName, pin: int, pin_factory: Any, pull_up: bool) -> Any:
        from gpiozero import Button, GPIOZeroError

        try:
            button = Button(pin, pull_up=pull_up, pin_factory=pin_factory)
        except GPIOZeroError as exc:
            raise HardwareError(f"{name} button: {exc}", device=f"GPIO{pin}") from exc
        button.when_pressed = functools.partial(self._on_pressed_threadsafe, name)
        return button

    def _on_pressed_threadsafe(self, name: ButtonName) -> None:
        """Runs on gpiozero's thread: debounce, then hand the press to the loop."""
        loop = self._loop
        if loop is None or loop.is_closed():
            log.warning("buttons:press of %s dropped: no event loop", name)
            return
        now = self._monotonic()
        last = self._last_press.get(name)
        if last is not None and now - last < self._debounce_s:
            return
        self._last_press[name] = now
        loop.call_soon_threadsafe(self._queue.put_nowait, name)

    def _close_buttons(self) -> None:
        from gpiozero import GPIOZeroError

        for button in self._buttons.values():
            try:
                button.close()
            except (GPIOZeroError, OSError) as exc:  # close every pin even if one fails
                log.warning("buttons:close of %r failed: %r", button, exc)
        self._buttons.clear()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
