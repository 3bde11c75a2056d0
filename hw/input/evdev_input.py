"""The USB barcode scanner and numeric keypad over evdev: device choice, grab, reading, replug.

Both parts read their device with evdev's own asyncio reader
(``InputDevice.async_read_loop()``) and decode with :mod:`hw.input.keymaps`. A part that loses
its device (reading raises ``OSError`` ENODEV when the USB cable is pulled) reports
"<part> disconnected", polls for the device to come back on the injected clock, and goes on
reading: the process never restarts for a replug. Each part tells what is wrong through
``status()["problem"]`` and the ``problems()`` stream (see :class:`EvdevPart`).

Devices are named as in ``[scanner] device`` / ``[keypad] device``: a path (a udev symlink
such as ``/dev/payterm/scanner``), ``name:<device name>`` or ``usb:<vendor>:<product>``
(hex). :class:`EventPipe` is an evdev event source over a pipe, for tests, the benchmark and
emulation.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import functools
import glob
import logging
import os
import struct
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from hw.base import ClosesAsync, KeyName
from hw.errors import HardwareError, ScannerError
from hw.input.keymaps import (
    LAYOUTS,
    KeyEventLike,
    KeypadDecoder,
    Layout,
    ScanDecoder,
    ScanRejected,
    key_label,
)
from terminal.clock import SystemClock

if TYPE_CHECKING:
    from evdev import InputDevice

    from terminal.clock import Clock
    from terminal.config.model import KeypadConfig, ScannerConfig

__all__ = [
    "REPLUG_POLL_S",
    "EventDevice",
    "EvdevPart",
    "EvdevScanner",
    "EvdevKeypad",
    "EventPipe",
    "pack_events",
    "Selector",
    "open_evdev_scanner",
    "open_evdev_keypad",
    "open_input_device",
]

log = logging.getLogger("payterm.hw.input")

REPLUG_POLL_S = 1.0  # a replugged part is back within a second; a poll is one open() or glob
PROBLEMS_KEPT = 16  # problem changes kept for a slow reader of problems(); older ones drop
EVIOCSCLOCKID = 0x400445A0  # _IOW('E', 0xa0, int): stamp this reader's events on a clock
_GONE = frozenset({errno.ENODEV, errno.ENOENT, errno.ENXIO})
_RETRY = frozenset({errno.EAGAIN, errno.EINTR})
_EVENT = struct.Struct("llHHi")  # struct input_event: timeval, type, code, value


class EventDevice(Protocol):
    """What the parts use of an ``evdev.InputDevice`` (an :class:`EventPipe` has it too)."""

    @property
    def path(self) -> str | bytes: ...

    @property
    def name(self) -> str: ...

    def fileno(self) -> int: ...

    def async_read_loop(self) -> AsyncIterator[KeyEventLike]: ...

    def grab(self) -> None: ...

    def ungrab(self) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Selector:
    """Which input device a part uses: a path, a device name, or a USB vendor:product."""

    kind: Literal["path", "name", "usb"]
    text: str
    name: str = ""
    usb_id: tuple[int, int] = (0, 0)

    @classmethod
    def parse(cls, text: str) -> Selector:
        """Read ``/dev/…``, ``name:<name>`` or ``usb:<vid>:<pid>``; ValueError when malformed."""
        if text.startswith("name:") and text[5:].strip():
            return cls("name", text, name=text[5:].strip())
        if text.startswith("usb:"):
            try:
                vendor, product = (int(part, 16) for part in text[4:].split(":"))
            except ValueError:
                raise ValueError(f"{text!r}: write a USB id as usb:<vid>:<pid> in hex") from None
            return cls("usb", text, usb_id=(vendor, product))
        if text.startswith("/"):
            return cls("path", text)
        raise ValueError(f"{text!r} is not a path, name:<device name> or usb:<vid>:<pid>")

    def matches(self, name: str, vendor: int, product: int) -> bool:
        """True when a device with this name and USB id is the one meant."""
        if self.kind == "name":
            return name.strip() == self.name
        return self.kind == "usb" and (vendor, product) == self.usb_id

    def describe(self) -> str:
        """What finding nothing means, in words: "no input device named 'X'"."""
        if self.kind == "name":
            return f"no input device named {self.name!r}"
        if self.kind == "usb":
            return "no input device with USB id {:04x}:{:04x}".format(*self.usb_id)
        return f"nothing at {self.text}"

    def __str__(self) -> str:
        return self.text


def open_input_device(selector: Selector, *, input_dir: str = "/dev/input") -> InputDevice[str]:
    """Open the device ``selector`` names, its events stamped on the monotonic clock.

    By name or USB id, the first match (in event-node order) that has an Enter key is
    taken: a scanner's second interface (consumer keys, a mouse) is passed over. Raises
    ``FileNotFoundError`` when no device matches, ``PermissionError`` and other ``OSError``
    as evdev raises them.
    """
    from evdev import InputDevice, list_devices

    if selector.kind == "path":
        device = InputDevice(selector.text)
    else:
        try:
            paths = list_devices(input_dir, writable=False)
        except TypeError:  # evdev < 1.7 (Debian 12's python3-evdev) lists read-write nodes
            paths = list_devices(input_dir)
        device = _find(selector, paths, input_dir)
    _stamp_monotonic(device)
    return device


def _find(selector: Selector, paths: list[str], input_dir: str) -> InputDevice[str]:
    from evdev import InputDevice, ecodes

    for path in sorted(paths, key=_event_number):
        try:
            device = InputDevice(path)
        except OSError:  # unplugged since the listing, or unreadable: not ours
            continue
        keys = set(device.capabilities().get(ecodes.EV_KEY, ()))
        info = device.info
        if selector.matches(device.name, info.vendor, info.product) and keys & {
            ecodes.KEY_ENTER,
            ecodes.KEY_KPENTER,
        }:
            return device
        device.close()
    unreadable = len(glob.glob(f"{input_dir}/event*")) - len(paths)
    hint = f" ({unreadable} more not readable: is the user in the 'input' group?)"
    raise FileNotFoundError(errno.ENOENT, f"{selector.describe()}{hint if unreadable else ''}")


def _event_number(path: str) -> int:
    digits = path.rpartition("event")[2]
    return int(digits) if digits.isdigit() else 1 << 30


def _stamp_monotonic(device: InputDevice[str]) -> None:
    """Ask for monotonic event timestamps: an NTP step at boot must not split a scan."""
    try:
        fcntl.ioctl(device.fd, EVIOCSCLOCKID, struct.pack("i", time.CLOCK_MONOTONIC))
    except OSError as exc:  # older kernels: wall-clock stamps; a step then drops one scan
        log.debug("input:%s keeps wall-clock timestamps: %s", device.path, exc)


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
        log.info("%s:connected %s (%s)", self.part, _path(device), device.name)
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
            "path": _path(device) if device is not None else None,
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
            state = f"open at {_path(self._device)}"
        else:
            state = "disconnected"
        return f"<{type(self).__name__} {self._selector} {state}>"

    # --- for subclasses ----------------------------------------------------------------

    async def _events(self) -> AsyncIterator[KeyEventLike]:
        """Every event of the device, across unplugs, until ``aclose()``; one reader only."""
        if self._reading:
            raise RuntimeError(f"{self!r} is already being read")
        self._reading = True
        try:
            while (device := await self._wait_for_device()) is not None:
                reader = device.async_read_loop()
                while (event := await self._next_event(device, reader)) is not None:
                    yield event
        finally:
            self._reading = False

    def _on_lost(self) -> None:
        """Called when the device went away (override: drop what was half read)."""

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
        log.warning("%s:disconnected from %s: %s", self.part, _path(device), exc)
        self._release(device, ungrab=False)  # the device is gone: there is no grab to undo
        self._device = None
        self._reconnects += 1
        self._on_lost()
        if exc.errno not in _GONE:
            self._detail = f"{_path(device)}: {exc}"
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
            log.debug("%s:ungrab of %s: %s", self.part, _path(device), exc)
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


class EvdevScanner(EvdevPart):
    """A USB HID barcode scanner in keyboard mode; implements :class:`hw.base.Scanner`.

    Each burst of keys ended by Enter/Tab is decoded in ``layout`` with the scanner's Shift
    state and yielded by ``codes()``; typing slower than ``inter_key_timeout_s`` is logged
    and dropped; a scan longer than ``max_length`` or with a key that types nothing
    printable is logged, reported as a problem and dropped. Never raises while reading.
    Loop-only.
    """

    part = "scanner"
    error = ScannerError

    def __init__(
        self,
        device: str,
        *,
        layout: Layout = "us",
        inter_key_timeout_s: float = 0.05,
        max_length: int = 128,
        grab: bool = True,
        input_device: EventDevice | None = None,
        open_device: Callable[[], EventDevice] | None = None,
        clock: Clock | None = None,
        poll_interval_s: float = REPLUG_POLL_S,
    ) -> None:
        if layout not in LAYOUTS:
            raise ScannerError(f"scanner.layout {layout!r}: layouts are {sorted(LAYOUTS)}")
        super().__init__(
            device,
            grab=grab,
            input_device=input_device,
            open_device=open_device,
            clock=clock,
            poll_interval_s=poll_interval_s,
        )
        self._decoder = ScanDecoder(
            layout,
            inter_key_timeout_s=inter_key_timeout_s,
            max_length=max_length,
            key_name=_evdev_key_name,
        )
        self._scanned = 0
        self._rejected = 0

    def codes(self) -> AsyncIterator[str]:
        """Yield each complete scan's text until ``aclose()``; one reader at a time."""
        return self._codes()

    def status(self) -> dict[str, object]:
        """The part's status plus the layout and the count of codes read and rejected."""
        return super().status() | {
            "layout": self._decoder.layout,
            "scanned": self._scanned,
            "rejected": self._rejected,
        }

    async def _codes(self) -> AsyncIterator[str]:
        async for event in self._events():
            result = self._decoder.feed(event)
            if isinstance(result, ScanRejected):
                self._rejected += 1
                self._set_problem(f"scan rejected: {result.reason}")
            elif result is not None:
                self._scanned += 1
                if self._problem.startswith("scan rejected"):
                    self._set_problem("")
                log.info("scanner:code of %d characters", len(result))
                yield result

    def _on_lost(self) -> None:
        self._decoder.reset("the scanner disconnected")


class EvdevKeypad(EvdevPart):
    """A USB numeric keypad; implements :class:`hw.base.Keypad`. Loop-only.

    ``keys()`` yields "0".."9", "enter", "backspace", "clear" (the "."/Del key and Esc)
    and the operator keys as "f1" (/), "f2" (*), "f3" (-), "f4" (+), whatever the NumLock
    state; the runtime maps f-keys to ``keypad.operator_keys`` through
    :data:`hw.base.OPERATOR_KEYS`. The keypad is always grabbed.
    """

    part = "keypad"

    def __init__(
        self,
        device: str,
        *,
        input_device: EventDevice | None = None,
        open_device: Callable[[], EventDevice] | None = None,
        clock: Clock | None = None,
        poll_interval_s: float = REPLUG_POLL_S,
    ) -> None:
        super().__init__(
            device,
            grab=True,
            input_device=input_device,
            open_device=open_device,
            clock=clock,
            poll_interval_s=poll_interval_s,
        )
        self._decoder = KeypadDecoder()

    def keys(self) -> AsyncIterator[KeyName]:
        """Yield each key's name until ``aclose()``; one reader at a time."""
        return self._keys()

    async def _keys(self) -> AsyncIterator[KeyName]:
        async for event in self._events():
            name = self._decoder.feed(event)
            if name is not None:
                yield name


def open_evdev_scanner(
    cfg: ScannerConfig,
    *,
    device: EventDevice | None = None,
    open_device: Callable[[], EventDevice] | None = None,
    clock: Clock | None = None,
) -> EvdevScanner:
    """The scanner ``[scanner]`` describes, connected now if it is there.

    A scanner that is not there (yet) is no error: it is reported as a problem and picked
    up when plugged in. A malformed ``device`` or ``layout`` raises :class:`ScannerError`.
    """
    scanner = EvdevScanner(
        cfg.device,
        layout=cfg.layout,
        inter_key_timeout_s=cfg.inter_key_timeout_s,
        max_length=cfg.max_length,
        grab=cfg.grab,
        input_device=device,
        open_device=open_device,
        clock=clock,
    )
    scanner.try_connect()
    return scanner


def open_evdev_keypad(
    cfg: KeypadConfig,
    *,
    device: EventDevice | None = None,
    open_device: Callable[[], EventDevice] | None = None,
    clock: Clock | None = None,
) -> EvdevKeypad:
    """The keypad ``[keypad]`` describes, connected now if it is there (as the scanner)."""
    keypad = EvdevKeypad(cfg.device, input_device=device, open_device=open_device, clock=clock)
    keypad.try_connect()
    return keypad


class EventPipe:
    """An evdev event source over a pipe: ``device`` reads what ``send()`` writes.

    ``device`` is an evdev ``EventIO`` over the pipe's read end, read by evdev's own
    asyncio reader, so a part reads it as it reads a real device. ``unplug()`` makes the
    next read fail with ENODEV, as an unplugged device does. ``send()`` blocks once about
    2700 events (64 KiB) are unread: send from another thread beyond that.
    """

    def __init__(self, *, name: str = "payterm event pipe", path: str = "/dev/input/pipe") -> None:
        read_fd, self._write_fd = os.pipe()
        os.set_blocking(read_fd, False)
        self.device: Any = _pipe_device_class()(read_fd, name=name, path=path)

    def send(self, events: Iterable[KeyEventLike]) -> None:
        """Write ``events`` as the kernel's ``struct input_event``s."""
        self.write(pack_events(events))

    def write(self, data: bytes) -> None:
        """Write events already packed by :func:`pack_events`."""
        chunk = _EVENT.size * 170  # whole events, at most PIPE_BUF: each write is atomic
        for start in range(0, len(data), chunk):
            os.write(self._write_fd, data[start : start + chunk])

    def unplug(self) -> None:
        """End the stream: the reader's next read raises ``OSError`` ENODEV."""
        if self._write_fd >= 0:
            os.close(self._write_fd)
            self._write_fd = -1

    def close(self) -> None:
        """Close both ends; safe to call twice."""
        self.unplug()
        self.device.close()

    def __repr__(self) -> str:
        state = "unplugged" if self._write_fd < 0 else "plugged"
        return f"<EventPipe {self.device.name!r} {state}>"


def pack_events(events: Iterable[KeyEventLike]) -> bytes:
    """``events`` as the kernel's ``struct input_event``s, as a device's read returns them."""
    return b"".join(_EVENT.pack(e.sec, e.usec, e.type, e.code, e.value) for e in events)


def _path(device: EventDevice) -> str:
    path = device.path
    return path.decode(errors="replace") if isinstance(path, bytes) else path


def _evdev_key_name(code: int) -> str:
    from evdev import ecodes

    name = ecodes.KEY.get(code)
    if isinstance(name, list | tuple):
        name = name[0]
    return str(name) if name else key_label(code)


@functools.cache
def _pipe_device_class() -> Any:
    """evdev's asyncio ``EventIO`` over a pipe, made on first use so ``import hw`` stays light."""
    from evdev.eventio_async import EventIO

    class PipeInputDevice(EventIO):
        """An input device whose events come down a pipe; EOF reads as an unplug."""

        def __init__(self, fd: int, *, name: str, path: str) -> None:
            self.fd = fd
            self.name = name
            self.path = path
            self.is_grabbed = False

        def read(self) -> Any:
            events = list(super().read())
            if not events:  # EOF: what an unplugged device's read raises
                raise OSError(errno.ENODEV, os.strerror(errno.ENODEV), self.path)
            return iter(events)

        def grab(self) -> None:
            self.is_grabbed = True

        def ungrab(self) -> None:
            self.is_grabbed = False

        def close(self) -> None:
            if self.fd >= 0:
                try:
                    super().close()
                    os.close(self.fd)
                finally:
                    self.fd = -1

        def __repr__(self) -> str:
            return f"PipeInputDevice({self.path!r}, fd={self.fd})"

    return PipeInputDevice
