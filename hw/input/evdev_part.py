"""What the scanner and keypad share: opening and grabbing their device, reading it, replug.

A part that loses its device (reading raises ``OSError`` ENODEV when the USB cable is
pulled) reports "<part> disconnected", polls for the device to come back on the injected
clock, and goes on reading: the process never restarts for a replug. Each part tells what
is wrong through ``status()["problem"]`` and the ``problems()`` stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import logging
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from hw.base import ClosesAsync
from hw.errors import HardwareError
from hw.input.evdev_devices import EventDevice, Selector, device_path, open_input_device
from hw.input.keymaps import EV_SYN, KeyEventLike, RawEvent
from terminal.clock import SystemClock

if TYPE_CHECKING:
    from terminal.clock import Clock

__all__ = ["DEVICE_LOST", "PROBLEMS_KEPT", "REPLUG_POLL_S", "EvdevPart"]

log = logging.getLogger("payterm.hw.input")

REPLUG_POLL_S = 1.0  # a replugged part is back within a second; a poll is one open() or glob
PROBLEMS_KEPT = 16  # problem changes kept for a slow reader of problems(); older ones drop
_GONE = frozenset({errno.ENODEV, errno.ENOENT, errno.ENXIO})
_RETRY = frozenset({errno.EAGAIN, errno.EINTR})

#: What ``_events()`` yields when the device went away mid-read: no kernel event has this
#: code (an ``EV_SYN`` the decoders ignore), and a part that cares compares by identity.
DEVICE_LOST: KeyEventLike = RawEvent(0, 0, EV_SYN, 0xFFFF, 0)


class EvdevPart(ClosesAsync):
    """What the scanner and keypad share: device choice, grab, reading, replug, problems.

    ``problem`` (in ``status()``) is "" when all is well, "<part> disconnected" while the
    device is away (or not there at start), "<part> not readable" / "<part> busy" when it
    is there but cannot be used, and for the scanner "scan rejected: <reason>" after an
    unusable scan until the next good one. ``problems()`` yields each change of it, ""
    included, so the engine can show and clear it; ``status()["detail"]`` has the fix in
    words. Loop-only.
    """

    part = "input"
    error: type[HardwareError] = HardwareError

    def __init__(
        self,
        device: str,
        *,
        grab: bool = True,
        input_device: EventDevice | None = None,
        open_device: Callable[[], EventDevice] | None = None,
        clock: Clock | None = None,
        poll_interval_s: float = REPLUG_POLL_S,
    ) -> None:
        try:
            self._selector = Selector.parse(device)
        except ValueError as exc:
            raise self.error(f"{self.part}.device: {exc}", device=device) from exc
        self._grab = grab
        self._injected = input_device
        self._open_device = open_device or functools.partial(open_input_device, self._selector)
        self._clock: Clock = clock or SystemClock()
        self._poll_interval_s = poll_interval_s
        self._device: EventDevice | None = None
        self._problem = ""
        self._detail = ""
        self._failures = 0
        self._reconnects = 0
        self._problems: asyncio.Queue[str | None] = asyncio.Queue(maxsize=PROBLEMS_KEPT)
        self._closing: asyncio.Future[None] | None = None
        self._reading = False
        self._closed = False

    @property
    def is_closed(self) -> bool:
        """True once ``aclose()`` ran."""
        return self._closed

    @property
    def is_connected(self) -> bool:
        """True while the device is open (and grabbed when asked)."""
        return self._device is not None

    def connect(self) -> None:
        """Open (and grab) the device now unless open; raise :attr:`error` with the fix.

        Reading connects by itself and keeps trying; this is for a check that wants the
        reason at once (``payterm doctor``).
        """
        if self._closed:
            raise self.error(f"{self.part} is closed", device=str(self._selector))
        if self._device is not None:
            return
        device, self._injected = self._injected, None
        try:
            device = device or self._open_device()
            self._take(device)
        except OSError as exc:
            raise self.error(self._explain(exc), device=str(self._selector)) from exc
        self._device = device
        self._failures = 0
        self._detail = ""
        log.info("%s:connected %s (%s)", self.part, device_path(device), device.name)
        self._set_problem("")

    def try_connect(self) -> bool:
        """Connect if the device is there; otherwise log, report the problem, return False."""
        try:
            self.connect()
        except HardwareError as exc:
            self._failed(exc)
            return False
        return True

    def problems(self) -> AsyncIterator[str]:
        """Yield each change of ``status()["problem"]`` ("" when fixed) until ``aclose()``."""
        return self._problem_changes()

    def status(self) -> dict[str, object]:
        """What the self-check shows: device, connection, grab, the problem and its fix."""
        device = self._device
        return {
            "device": str(self._selector),
            "path": device_path(device) if device is not None else None,
            "name": device.name if device is not None else None,
            "connected": device is not None,
            "grab": self._grab,
            "problem": self._problem,
            "detail": self._detail,
            "reconnects": self._reconnects,
            "closed": self._closed,
        }

    async def aclose(self) -> None:
        """Release (ungrab and close) the device and end every iterator; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._closing is not None and not self._closing.done():
            self._closing.set_result(None)
        if self._device is not None:
            self._release(self._device, ungrab=self._grab)
            self._device = None
        self._push(None)

    def __repr__(self) -> str:
        if self._closed:
            state = "closed"
        elif self._device is not None:
            state = f"open at {device_path(self._device)}"
        else:
            state = "disconnected"
        return f"<{type(self).__name__} {self._selector} {state}>"

    # --- for subclasses ----------------------------------------------------------------

    async def _events(self) -> AsyncIterator[KeyEventLike]:
        """Every event of the device, across unplugs, until ``aclose()``; one reader only.

        When the device goes away :data:`DEVICE_LOST` is yielded at once, before the wait
        for it to come back.
        """
        if self._reading:
            raise RuntimeError(f"{self!r} is already being read")
        self._reading = True
        try:
            while (device := await self._wait_for_device()) is not None:
                reader = device.async_read_loop()
                while (event := await self._next_event(device, reader)) is not None:
                    yield event
                if self._device is None and not self._closed:
                    yield DEVICE_LOST
        finally:
            self._reading = False

    def _held_keys(self) -> list[int]:
        """The keys the device holds down now (``EVIOCGKEY``); none when it cannot say."""
        device = self._device
        active_keys = getattr(device, "active_keys", None)
        if active_keys is None:
            return []
        try:
            return list(active_keys())
        except OSError as exc:
            log.debug("%s:cannot read the held keys: %s", self.part, exc)
            return []

    def _set_problem(self, problem: str) -> None:
        if problem != self._problem:
            self._problem = problem
            self._push(problem)

    # --- private -----------------------------------------------------------------------

    def _take(self, device: EventDevice) -> None:
        if not self._grab:
            return
        try:
            device.grab()
        except OSError:
            device.close()
            raise

    async def _wait_for_device(self) -> EventDevice | None:
        while not self._closed:
            if self._device is not None:
                return self._device
            if self.try_connect():
                continue
            if not await self._sleep(self._poll_interval_s):
                break
        return None

    async def _next_event(self, device: EventDevice, reader: Any) -> KeyEventLike | None:
        """The next event, or None when the device went away or the part was closed."""
        while not self._closed:
            pending = asyncio.ensure_future(anext(reader))
            if not pending.done():
                try:
                    await asyncio.wait(
                        (pending, self._closing_future()), return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    if not pending.done():
                        pending.cancel()
                        self._stop_reader(device)
                if not pending.done() or pending.cancelled():
                    return None
            try:
                event: KeyEventLike = pending.result()
                return event
            except OSError as exc:
                if exc.errno not in _RETRY:
                    self._lost(device, exc)
                    return None
        return None

    def _lost(self, device: EventDevice, exc: OSError) -> None:
        log.warning("%s:disconnected from %s: %s", self.part, device_path(device), exc)
        self._release(device, ungrab=False)  # the device is gone: there is no grab to undo
        self._device = None
        self._reconnects += 1
        if exc.errno not in _GONE:
            self._detail = f"{device_path(device)}: {exc}"
        self._set_problem(f"{self.part} disconnected")

    def _failed(self, exc: HardwareError) -> None:
        # First failure of a run at WARNING, repeats at DEBUG: a scanner left unplugged
        # for a day must not fill the SD card.
        level = logging.WARNING if self._failures == 0 else logging.DEBUG
        self._failures += 1
        log.log(level, "%s:not available: %s", self.part, exc)
        self._detail = str(exc)
        cause = exc.__cause__
        code = cause.errno if isinstance(cause, OSError) else None
        short = {errno.EACCES: "not readable", errno.EPERM: "not readable", errno.EBUSY: "busy"}
        self._set_problem(f"{self.part} {short.get(code or 0, 'disconnected')}")

    def _explain(self, exc: OSError) -> str:
        """The fix in words for a failure to open or grab the device."""
        part = self.part
        at = f" {exc.filename}" if exc.filename and exc.filename != self._selector.text else ""
        if isinstance(exc, PermissionError):
            return (
                f"permission denied{at and ' on' + at}: add the terminal's user to the 'input' "
                "group or install the udev rule (docs/hardware/scanner-keypad.md)"
            )
        if exc.errno == errno.EBUSY:
            # Only the scanner can do without grabbing; the keypad is always grabbed.
            other = ", or set scanner.grab = false" if part == "scanner" else ""
            return f"another program has grabbed it{at}: stop it{other}"
        if exc.errno in (errno.ENOTTY, errno.EINVAL):
            return f"not an input event device{at}: set {part}.device to the {part}'s udev symlink"
        if exc.errno in _GONE or isinstance(exc, FileNotFoundError):
            if self._selector.kind == "path":
                return (
                    f"no {part} there; is it plugged in? Check the udev rule that makes it "
                    "(docs/hardware/scanner-keypad.md)"
                )
            return (
                f"{exc.strerror}; is it plugged in? `python -m evdev.evtest` lists the input "
                "devices with their names and USB ids"
            )
        return f"{exc.strerror or exc}{at}"

    def _closing_future(self) -> asyncio.Future[None]:
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_future()
        return self._closing

    async def _sleep(self, seconds: float) -> bool:
        """Sleep on the clock; False when the part was closed meanwhile."""
        sleeper = asyncio.ensure_future(self._clock.sleep(seconds))
        try:
            await asyncio.wait(
                (sleeper, self._closing_future()), return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            sleeper.cancel()
        return not self._closed

    def _stop_reader(self, device: EventDevice) -> None:
        # evdev's reader stays registered with the loop after its future is dropped; left
        # there, the next event would be set on a cancelled future and logged as an error.
        with contextlib.suppress(OSError, ValueError, RuntimeError):  # closed, or no loop
            asyncio.get_running_loop().remove_reader(device.fileno())

    def _release(self, device: EventDevice, *, ungrab: bool) -> None:
        try:
            if ungrab:
                device.ungrab()
        except OSError as exc:  # unplugged meanwhile: nothing to ungrab
            log.debug("%s:ungrab of %s: %s", self.part, device_path(device), exc)
        finally:
            with contextlib.suppress(OSError, ValueError):  # closing what is gone is no error
                self._stop_reader(device)
                device.close()

    def _push(self, item: str | None) -> None:
        if self._problems.full():  # nobody is reading problems(): keep the newest
            self._problems.get_nowait()
        self._problems.put_nowait(item)

    async def _problem_changes(self) -> AsyncIterator[str]:
        while True:
            item = await self._problems.get()
            if item is None:
                self._problems.put_nowait(None)  # so any other reader ends too
                return
            yield item
