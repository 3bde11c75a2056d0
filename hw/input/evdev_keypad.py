"""The USB numeric keypad over evdev: key names whatever the NumLock state.

The device handling (choice, grab, replug, problems) is :class:`hw.input.evdev_part.EvdevPart`;
the decoding is :class:`hw.input.keymaps.KeypadDecoder`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from hw.base import KeyName
from hw.input.evdev_devices import EventDevice
from hw.input.evdev_part import REPLUG_POLL_S, EvdevPart
from hw.input.keymaps import KeypadDecoder

if TYPE_CHECKING:
    from terminal.clock import Clock
    from terminal.config.model import KeypadConfig

__all__ = ["EvdevKeypad", "open_evdev_keypad"]


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
