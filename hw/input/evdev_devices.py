"""Finding and opening the evdev input device a part is configured with.

A device is named as in ``[scanner] device`` / ``[keypad] device``: a path (a udev symlink
such as ``/dev/payterm/scanner``), ``name:<device name>`` or ``usb:<vendor>:<product>``
(hex); :class:`Selector` reads that, :func:`open_input_device` finds and opens the device
with its events stamped on the monotonic clock. :class:`EventDevice` is what the parts use
of the device opened.
"""

from __future__ import annotations

import errno
import fcntl
import glob
import logging
import struct
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from hw.input.keymaps import KeyEventLike

if TYPE_CHECKING:
    from evdev import InputDevice

__all__ = ["EVIOCSCLOCKID", "EventDevice", "Selector", "device_path", "open_input_device"]

log = logging.getLogger("payterm.hw.input")

EVIOCSCLOCKID = 0x400445A0  # _IOW('E', 0xa0, int): stamp this reader's events on a clock


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


def device_path(device: EventDevice) -> str:
    """The device's path as text (evdev may give it as bytes)."""
    path = device.path
    return path.decode(errors="replace") if isinstance(path, bytes) else path
