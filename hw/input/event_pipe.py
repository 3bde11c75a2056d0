"""An evdev event source over a pipe, for tests, the benchmark and emulation.

:class:`EventPipe` gives a part a device that reads what is sent down the pipe, through
evdev's own asyncio reader; :func:`pack_events` packs events as the kernel does.
"""

from __future__ import annotations

import errno
import functools
import os
import struct
from collections.abc import Iterable
from typing import Any

from hw.input.keymaps import KeyEventLike

__all__ = ["EventPipe", "pack_events"]

_EVENT = struct.Struct("llHHi")  # struct input_event: timeval, type, code, value


class EventPipe:
    """An evdev event source over a pipe: ``device`` reads what ``send()`` writes.

    ``device`` is an evdev ``EventIO`` over the pipe's read end, read by evdev's own
    asyncio reader, so a part reads it as it reads a real device. ``unplug()`` makes the
    next read fail with ENODEV, as an unplugged device does. ``held`` is what the device's
    ``active_keys()`` answers (the kernel's ``EVIOCGKEY``: the keys down now). ``send()``
    blocks once about 2700 events (64 KiB) are unread: send from another thread beyond that.
    """

    def __init__(self, *, name: str = "payterm event pipe", path: str = "/dev/input/pipe") -> None:
        read_fd, self._write_fd = os.pipe()
        os.set_blocking(read_fd, False)
        self.device: Any = _pipe_device_class()(read_fd, name=name, path=path)
        self.held: set[int] = self.device.held

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
            self.held: set[int] = set()

        def read(self) -> Any:
            events = list(super().read())
            if not events:  # EOF: what an unplugged device's read raises
                raise OSError(errno.ENODEV, os.strerror(errno.ENODEV), self.path)
            return iter(events)

        def active_keys(self) -> list[int]:
            if self.fd < 0:
                raise OSError(errno.EBADF, os.strerror(errno.EBADF), self.path)
            return sorted(self.held)

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
