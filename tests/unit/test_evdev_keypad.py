"""The evdev keypad: key names whatever NumLock says, operator keys, and replug."""

from __future__ import annotations

import asyncio
import errno
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest

evdev = pytest.importorskip("evdev")
from evdev import InputEvent, ecodes  # noqa: E402

from hw.base import KEY_NAMES, OPERATOR_KEYS, Keypad  # noqa: E402
from hw.input.evdev_keypad import EvdevKeypad, open_evdev_keypad  # noqa: E402
from hw.input.event_pipe import EventPipe  # noqa: E402
from hw.input.keymaps import KEYPAD_NAMES, OPERATOR_KEY_CODES, KeypadDecoder  # noqa: E402
from terminal.clock import FakeClock  # noqa: E402
from terminal.config.model import KeypadConfig  # noqa: E402

pytestmark = pytest.mark.usefixtures("no_asyncio_errors")

#: The keys of a 17-key USB keypad with NumLock on, and what each is called.
NUMLOCK_ON = {
    **{f"KEY_KP{d}": str(d) for d in range(10)},
    "KEY_KPENTER": "enter",
    "KEY_BACKSPACE": "backspace",
    "KEY_KPDOT": "clear",
    "KEY_KPSLASH": "f1",
    "KEY_KPASTERISK": "f2",
    "KEY_KPMINUS": "f3",
    "KEY_KPPLUS": "f4",
}
#: The same keys on a keypad that keeps its own NumLock, with NumLock off.
NUMLOCK_OFF = {
    "KEY_INSERT": "0",
    "KEY_END": "1",
    "KEY_DOWN": "2",
    "KEY_PAGEDOWN": "3",
    "KEY_LEFT": "4",
    "KEY_KP5": "5",
    "KEY_RIGHT": "6",
    "KEY_HOME": "7",
    "KEY_UP": "8",
    "KEY_PAGEUP": "9",
    "KEY_DELETE": "clear",
    "KEY_KPENTER": "enter",
    "KEY_KPSLASH": "f1",
    "KEY_KPASTERISK": "f2",
    "KEY_KPMINUS": "f3",
    "KEY_KPPLUS": "f4",
}


def press(name: str, t_s: float = 0.0, *, hold: int = 0) -> list[InputEvent]:
    """Key ``name`` down, ``hold`` autorepeats, up; each followed by a SYN_REPORT."""
    code = ecodes.ecodes[name]
    values = [1] + [2] * hold + [0]
    out: list[InputEvent] = []
    for i, value in enumerate(values):
        usec = round((t_s + i * 0.03) * 1_000_000)
        out.append(InputEvent(usec // 1_000_000, usec % 1_000_000, ecodes.EV_KEY, code, value))
        out.append(InputEvent(usec // 1_000_000, usec % 1_000_000, ecodes.EV_SYN, 0, 0))
    return out


def names(seq: Iterable[InputEvent]) -> list[str]:
    decoder = KeypadDecoder()
    return [n for n in (decoder.feed(e) for e in seq) if n is not None]


@pytest.mark.parametrize("layout", [NUMLOCK_ON, NUMLOCK_OFF], ids=["numlock-on", "numlock-off"])
def test_every_key_whatever_numlock(layout: dict[str, str]) -> None:
    seq = [e for i, k in enumerate(layout) for e in press(k, i * 0.2)]
    assert names(seq) == list(layout.values())


def test_numlock_key_itself_changes_nothing() -> None:
    seq = press("KEY_KP1") + press("KEY_NUMLOCK") + press("KEY_END") + press("KEY_NUMLOCK")
    assert names(seq + press("KEY_KP1")) == ["1", "1", "1"]


def test_every_name_is_a_keypad_key_name() -> None:
    assert set(KEYPAD_NAMES.values()) | set(OPERATOR_KEY_CODES.values()) <= KEY_NAMES


def test_operator_keys_follow_the_f_key_order() -> None:
    by_name = {f: ecodes.ecodes[f"KEY_KP{key.upper()}"] for f, key in OPERATOR_KEYS.items()}
    assert {code: f for f, code in by_name.items()} == dict(OPERATOR_KEY_CODES)


def test_double_zero_key_sends_two_zeros() -> None:
    assert names(press("KEY_KP0") + press("KEY_KP0", 0.001)) == ["0", "0"]


def test_holding_backspace_repeats_and_a_digit_does_not() -> None:
    assert names(press("KEY_BACKSPACE", hold=3)) == ["backspace"] * 4
    assert names(press("KEY_KP7", hold=3)) == ["7"]


def test_releases_and_other_events_yield_nothing() -> None:
    seq = [
        InputEvent(0, 0, ecodes.EV_MSC, ecodes.MSC_SCAN, 0x70059),
        InputEvent(0, 0, ecodes.EV_KEY, ecodes.KEY_KP1, 0),
        InputEvent(0, 0, ecodes.EV_LED, ecodes.LED_NUML, 1),
    ]
    assert names(seq) == []


def test_unknown_key_is_ignored(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, "payterm.hw.input"):
        assert names(press("KEY_F5") + press("KEY_KP2")) == ["2"]
    assert "keypad:KEY_F5 ignored" in caplog.text


# --- the keypad over a pipe of input_event structs --------------------------------------


class Rig:
    """A keypad reading an :class:`EventPipe`, with spare pipes to plug in after an unplug."""

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.pipe = EventPipe(name="USB Keypad")
        self.spares: list[EventPipe] = []
        self.keypad = open_evdev_keypad(
            KeypadConfig(device="usb:04d9:1203"),
            device=self.pipe.device,
            open_device=self._open,
            clock=self.clock,
        )

    def _open(self) -> Any:
        if not self.spares:
            raise FileNotFoundError(errno.ENOENT, "no input device with USB id 04d9:1203")
        self.pipe = self.spares.pop(0)
        return self.pipe.device

    async def aclose(self) -> None:
        await self.keypad.aclose()
        self.pipe.close()
        for pipe in self.spares:
            pipe.close()


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    made = Rig()
    yield made
    await made.aclose()


async def test_keypad_is_a_keypad(rig: Rig) -> None:
    keypad: Keypad = rig.keypad
    assert keypad.keys is not None


async def test_keys_come_through_the_pipe(rig: Rig) -> None:
    keys = rig.keypad.keys()
    rig.pipe.send(press("KEY_KP1") + press("KEY_END") + press("KEY_KPENTER") + press("KEY_KPMINUS"))
    assert [await anext(keys) for _ in range(4)] == ["1", "1", "enter", "f3"]


async def test_keypad_is_always_grabbed_and_released(rig: Rig) -> None:
    device = rig.pipe.device
    assert device.is_grabbed
    assert rig.keypad.status()["grab"] is True
    await rig.keypad.aclose()
    assert not device.is_grabbed
    assert repr(rig.keypad) == "<EvdevKeypad usb:04d9:1203 closed>"


async def test_unplug_and_replug(rig: Rig) -> None:
    keys, problems = rig.keypad.keys(), rig.keypad.problems()
    rig.pipe.unplug()
    pending = asyncio.ensure_future(anext(keys))
    assert await anext(problems) == "keypad disconnected"
    assert "no input device with USB id 04d9:1203" in str(rig.keypad.status()["detail"])
    spare = EventPipe(name="USB Keypad")
    rig.spares.append(spare)
    spare.send(press("KEY_KP9"))
    while rig.clock.next_deadline() is None:
        await asyncio.sleep(0)
    rig.clock.advance(1.0)
    assert await anext(problems) == ""
    assert await pending == "9"
    assert rig.keypad.status()["reconnects"] == 1


async def test_absent_keypad_is_no_error_at_start() -> None:
    def absent() -> Any:
        raise FileNotFoundError(errno.ENOENT, "No such file", "/dev/payterm/keypad")

    keypad = open_evdev_keypad(KeypadConfig(), open_device=absent, clock=FakeClock())
    assert keypad.status()["problem"] == "keypad disconnected"
    assert not keypad.is_connected
    await keypad.aclose()
    assert await anext(keypad.keys(), None) is None


async def test_aclose_ends_keys_while_waiting(rig: Rig) -> None:
    pending = asyncio.ensure_future(anext(rig.keypad.keys(), None))
    await asyncio.sleep(0)
    await rig.keypad.aclose()
    assert await pending is None


def test_keypad_constructor_needs_no_loop() -> None:
    keypad = EvdevKeypad("name:USB Keypad")
    assert repr(keypad) == "<EvdevKeypad name:USB Keypad disconnected>"


async def test_keypad_grabbed_elsewhere_is_told_to_stop_the_other_program() -> None:
    pipe = EventPipe(name="USB Keypad")

    def refuse() -> None:
        raise OSError(errno.EBUSY, "Device or resource busy")

    pipe.device.grab = refuse
    keypad = EvdevKeypad("/dev/payterm/keypad", input_device=pipe.device, clock=FakeClock())
    assert not keypad.try_connect()
    detail = str(keypad.status()["detail"])
    assert "another program has grabbed it: stop it" in detail
    assert "grab = false" not in detail  # the keypad has no such setting
    await keypad.aclose()
