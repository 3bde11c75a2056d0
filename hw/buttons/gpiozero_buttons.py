"""The Retry, Cancel and Force buttons over gpiozero (any pin factory, MockFactory in tests)."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sys
import tempfile
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from hw.base import ButtonName, ClosesAsync
from hw.errors import HardwareError

if TYPE_CHECKING:
    from terminal.config.model import ButtonsConfig

__all__ = [
    "DEBOUNCE_S",
    "FORCE_HOLD_S",
    "GpiozeroButtons",
    "Sleep",
    "ensure_lgpio_workdir",
    "gpio_device",
    "open_gpiozero_buttons",
]

log = logging.getLogger(__name__)

DEBOUNCE_S = 0.05  # contact bounce of tactile switches settles within a few ms; 50 ms is safe
FORCE_HOLD_S = 1.5  # long enough that Force is never pressed by brushing against it

#: Waits the given seconds on the clock ``monotonic`` reads (``asyncio.sleep`` for real time).
Sleep = Callable[[float], Awaitable[None]]

_D = TypeVar("_D")


class GpiozeroButtons(ClosesAsync):
    """Yields the name of each button press; implements :class:`hw.base.Buttons`.

    ``pins`` maps each button to its BCM GPIO number; with ``pull_up`` (the default) a button
    connects its pin to ground. ``pin_factory`` is a gpiozero pin factory (``None``: gpiozero's
    default, lgpio on a Pi; ``gpiozero.pins.mock.MockFactory()`` in the emulator and tests).

    A press counts once the button has stayed pressed for ``debounce_s`` (contact bounce: any
    number of edges within that time make at most one press), Force once it has stayed
    pressed for ``force_hold_s``; released earlier, nothing happens. A press that is held
    counts exactly once, as soon as it has lasted long enough. The timing is done here on
    ``monotonic`` and ``sleep`` (inject a fake clock's pair in tests), not by gpiozero: its
    ``bounce_time`` is not implemented by MockFactory, and its ``Button`` starts a hold
    thread per button that wakes ten times a second while idle, so plain
    ``DigitalInputDevice`` inputs are used instead.

    Threads: gpiozero calls back on its pin library's thread (with MockFactory, on the thread
    that drives the pin); the callback only stamps the edge with ``monotonic()`` and hands it
    to the loop with ``loop.call_soon_threadsafe``. Everything else is loop-only. The loop is
    the one running at construction, or at the first ``presses()`` if none was; edges before
    that are dropped with a warning.
    """

    def __init__(
        self,
        pins: Mapping[ButtonName, int],
        *,
        pin_factory: Any = None,
        pull_up: bool = True,
        debounce_s: float = DEBOUNCE_S,
        force_hold_s: float = FORCE_HOLD_S,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if debounce_s < 0 or force_hold_s < 0:
            raise ValueError("debounce_s and force_hold_s cannot be negative")
        self._pins = dict(pins)
        self._factory_name = type(pin_factory).__name__ if pin_factory is not None else "default"
        self._debounce_s = debounce_s
        self._force_hold_s = force_hold_s
        self._monotonic = monotonic
        self._sleep = sleep
        self._contacts = {name: _Contact(self.hold_needed_s(name)) for name in self._pins}
        self._queue: asyncio.Queue[ButtonName | None] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = _running_loop()
        self._closed = False
        self._inputs: dict[ButtonName, Any] = {}
        try:
            for name, pin in self._pins.items():
                self._inputs[name] = self._make_input(name, pin, pin_factory, pull_up)
        except HardwareError:
            self._close_inputs()
            raise

    @property
    def is_closed(self) -> bool:
        """True once ``aclose()`` ran."""
        return self._closed

    def hold_needed_s(self, name: ButtonName) -> float:
        """Seconds ``name`` must stay pressed to count as a press."""
        return max(self._debounce_s, self._force_hold_s) if name == "force" else self._debounce_s

    def presses(self) -> AsyncIterator[ButtonName]:
        """Yield each press's button name until ``aclose()``; call it from the running loop."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._presses()

    def status(self) -> dict[str, object]:
        """What the self-check shows: the pins, the timing and which buttons are down now."""
        return {
            "pins": dict(self._pins),
            "held": {name: bool(device.is_active) for name, device in self._inputs.items()},
            "debounce_s": self._debounce_s,
            "force_hold_s": self._force_hold_s,
            "closed": self._closed,
        }

    async def aclose(self) -> None:
        """Release the GPIO pins and end ``presses()``; a button held now never counts."""
        if self._closed:
            return
        self._closed = True
        for contact in self._contacts.values():
            contact.forget()
        self._queue.put_nowait(None)
        self._close_inputs()

    def __repr__(self) -> str:
        pins = ", ".join(f"{name}=GPIO{pin}" for name, pin in self._pins.items())
        state = "closed" if self._closed else "open"
        return f"<{type(self).__name__} {pins} on {self._factory_name} pins, {state}>"

    # --- gpiozero's thread ------------------------------------------------------------------

    def _on_edge_threadsafe(self, name: ButtonName, is_pressed: bool) -> None:
        """Runs on gpiozero's thread: stamp the edge and hand it to the loop."""
        at = self._monotonic()
        loop = self._loop
        if loop is None or loop.is_closed():
            log.warning("buttons:edge of %s dropped: no event loop", name)
            return
        try:
            loop.call_soon_threadsafe(self._on_edge, name, is_pressed, at)
        except RuntimeError:  # the loop closed between the check and the call
            log.warning("buttons:edge of %s dropped: event loop closed", name)

    # --- the loop ---------------------------------------------------------------------------

    async def _presses(self) -> AsyncIterator[ButtonName]:
        while not self._closed or not self._queue.empty():
            name = await self._queue.get()
            if name is None:
                self._queue.put_nowait(None)  # so every other iterator ends too
                return
            yield name

    def _on_edge(self, name: ButtonName, is_pressed: bool, at: float) -> None:
        if self._closed:
            return
        contact = self._contacts[name]
        if is_pressed:
            contact.forget()
            contact.pressed_at = at
            if contact.hold_needed_s <= 0:
                self._count(name, contact)
            else:
                contact.timer = asyncio.ensure_future(self._count_when_held(name, at))
        else:
            # The loop may have been too busy for the timer: the timestamps still tell.
            held_s = at - contact.pressed_at if contact.pressed_at is not None else -1.0
            if not contact.counted and held_s >= contact.hold_needed_s:
                self._count(name, contact)
            contact.forget()

    async def _count_when_held(self, name: ButtonName, pressed_at: float) -> None:
        contact = self._contacts[name]
        deadline = pressed_at + contact.hold_needed_s
        while (left_s := deadline - self._monotonic()) > 0:
            await self._sleep(left_s)
        # Edges handed over before now are queued ahead of this step: let them go first.
        await asyncio.sleep(0)
        if not self._closed and contact.pressed_at == pressed_at and not contact.counted:
            self._count(name, contact)

    def _count(self, name: ButtonName, contact: _Contact) -> None:
        contact.counted = True
        log.debug("buttons:press %s", name)
        self._queue.put_nowait(name)

    # --- setup and teardown -----------------------------------------------------------------

    def _make_input(self, name: ButtonName, pin: int, pin_factory: Any, pull_up: bool) -> Any:
        from gpiozero import DigitalInputDevice

        device = gpio_device(
            lambda: DigitalInputDevice(pin, pull_up=pull_up, pin_factory=pin_factory),
            role=f"{name} button",
            pin=pin,
        )
        device.when_activated = functools.partial(self._on_edge_threadsafe, name, True)
        device.when_deactivated = functools.partial(self._on_edge_threadsafe, name, False)
        return device

    def _close_inputs(self) -> None:
        from gpiozero import GPIOZeroError

        for device in self._inputs.values():
            try:
                device.close()
            except (GPIOZeroError, OSError) as exc:  # close every pin even if one fails
                log.warning("buttons:close of %r failed: %r", device, exc)
        self._inputs.clear()


def open_gpiozero_buttons(
    cfg: ButtonsConfig,
    *,
    pin_factory: Any = None,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Sleep = asyncio.sleep,
) -> GpiozeroButtons:
    """The buttons of ``[buttons]``; raises :class:`HardwareError` naming the pin and the fix."""
    pins: dict[ButtonName, int] = {
        "retry": cfg.retry_pin,
        "cancel": cfg.cancel_pin,
        "force": cfg.force_pin,
    }
    return GpiozeroButtons(
        pins,
        pin_factory=pin_factory,
        pull_up=cfg.pull_up,
        debounce_s=cfg.debounce_s,
        force_hold_s=cfg.force_hold_s,
        monotonic=monotonic,
        sleep=sleep,
    )


def gpio_device(make: Callable[[], _D], *, role: str, pin: int) -> _D:
    """Run ``make()`` (builds one gpiozero device on BCM ``pin``) with errors translated.

    gpiozero's and the pin library's errors become :class:`HardwareError` naming the pin and
    the fix; gpiozero's pin-factory fallback warnings are logged, not raised.
    """
    from gpiozero import GPIOZeroError

    ensure_lgpio_workdir()
    # Not thread-safe, like every use of catch_warnings: devices are made at start-up only.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            made = make()
        except (GPIOZeroError, OSError, *_pin_library_errors()) as exc:
            fallbacks = [str(warning.message) for warning in caught]
            raise HardwareError(f"{role}: {_advice(exc, fallbacks)}", device=f"GPIO{pin}") from exc
    for warning in caught:
        log.warning("gpio:%s on GPIO%d: %s", role, pin, warning.message)
    return made


def ensure_lgpio_workdir(environ: MutableMapping[str, str] = os.environ) -> None:
    """Give lgpio a writable folder for its notification pipes when none is set.

    lgpio makes them in ``$LG_WD``, else in the working folder, which on the terminal's
    read-only root (``payterm doctor`` run from /root) cannot be written. The service sets
    ``LG_WD`` itself; anything else gets the temporary folder (a tmpfs on the terminal).
    """
    if environ.get("LG_WD"):
        return
    here = os.getcwd()
    if not os.access(here, os.W_OK):
        environ["LG_WD"] = tempfile.gettempdir()


@dataclass(slots=True)
class _Contact:
    """One button's state on the loop: when it went down and whether that press counted."""

    hold_needed_s: float
    pressed_at: float | None = None
    counted: bool = False
    timer: asyncio.Future[None] | None = None

    def forget(self) -> None:
        """Back to released: stop waiting for the press to last."""
        if self.timer is not None:
            self.timer.cancel()
        self.timer = None
        self.pressed_at = None
        self.counted = False


def _advice(exc: BaseException, fallbacks: list[str]) -> str:
    """What went wrong with a GPIO pin, and the fix in words."""
    from gpiozero import BadPinFactory, GPIOPinInUse, PinInvalidPin, PinPWMUnsupported

    if isinstance(exc, GPIOPinInUse):
        return (
            "the pin is already used by another button, the LED or the buzzer: give each "
            "its own pin in [buttons]"
        )
    if isinstance(exc, PinInvalidPin):
        return "not a GPIO pin of this board: use a BCM number (2 to 27 on the 40-pin header)"
    if isinstance(exc, PinPWMUnsupported):
        return "this pin cannot make tones (no PWM): use an active buzzer or another pin"
    if isinstance(exc, BadPinFactory):
        why = "; ".join(fallbacks) or str(exc)
        return (
            f"no GPIO library could be loaded ({why}): on a Raspberry Pi install lgpio "
            "(pip install lgpio) into the terminal's environment"
        )
    if isinstance(exc, PermissionError):
        where = exc.filename or "/dev/gpiochip*"
        return f"permission denied on {where}: add the terminal's user to the gpio group"
    if "busy" in str(exc).lower():
        return "the pin is claimed by another program (gpioinfo shows which): stop it"
    return str(exc) or type(exc).__name__


def _pin_library_errors() -> tuple[type[BaseException], ...]:
    """lgpio's own error class, if gpiozero loaded lgpio (it does not wrap 'GPIO busy')."""
    # Never import lgpio here: importing it makes a notification FIFO in the working folder.
    lgpio = sys.modules.get("lgpio")
    error = getattr(lgpio, "error", None)
    return (error,) if isinstance(error, type) and issubclass(error, Exception) else ()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
