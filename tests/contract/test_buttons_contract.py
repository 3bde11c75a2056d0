"""The Buttons contract, kept by the emulated buttons and (on a Pi, opted in) the real ones.

The real backend runs only with ``PAYTERM_HW_TEST=1`` on a Raspberry Pi. It opens the pins in
``PAYTERM_HW_TEST_BUTTON_PINS`` (retry,cancel,force; default 17,27,22). The tests that press
buttons also need a "finger": three free GPIO pins wired to the three button pins, named in
``PAYTERM_HW_TEST_FINGER_PINS`` (e.g. ``5,6,13``); driving one low presses its button.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from hw.base import ButtonName, Buttons
from hw.buttons.gpiozero_buttons import GpiozeroButtons, open_gpiozero_buttons
from hw.emulated import DEFAULT_BUTTON_PINS, EmulatedButtons
from terminal.config.model import ButtonsConfig

NAMES: tuple[ButtonName, ...] = ("retry", "cancel", "force")
#: Long enough for any working backend; only a broken one ever reaches it (then it fails
#: instead of hanging the suite).
GUARD_S = 5.0
#: The real backend's Force hold in these tests, so a run takes seconds, not minutes.
REAL_HOLD_S = 0.3
HW_LOCK = Path("/tmp/payterm-hw-test.lock")  # one lock per machine: its pins are shared


def _on_a_pi() -> bool:
    try:
        return "Raspberry Pi" in Path("/proc/device-tree/model").read_text(errors="replace")
    except OSError:
        return False


def _real_skip_reason() -> str | None:
    if os.environ.get("PAYTERM_HW_TEST") != "1":
        return "real buttons run only with PAYTERM_HW_TEST=1"
    if not _on_a_pi():
        return "real buttons need a Raspberry Pi"
    return None


def _pins(variable: str, default: str) -> tuple[int, ...]:
    return tuple(int(part) for part in os.environ.get(variable, default).split(",") if part)


# Read at collection: every test runs with the PAYTERM_* variables cleared (tests/conftest.py).
REAL_SKIP_REASON = _real_skip_reason()
REAL_BUTTON_PINS = _pins("PAYTERM_HW_TEST_BUTTON_PINS", "17,27,22")
REAL_FINGER_PINS = _pins("PAYTERM_HW_TEST_FINGER_PINS", "")


class Rig:
    """A backend, and a way to press its buttons."""

    def __init__(self, buttons: GpiozeroButtons, finger: Any, pins: dict[ButtonName, int]) -> None:
        self.buttons = buttons
        self.pins = pins
        self._finger = finger

    async def press(self, name: ButtonName) -> None:
        """Press ``name`` as long as it must be held to count, then let go."""
        await self._needs_finger().press(name)

    async def tap(self, name: ButtonName) -> None:
        """Touch ``name`` for a moment: far too short for a Force."""
        await self._needs_finger().tap(name)

    def _needs_finger(self) -> Any:
        if self._finger is None:
            pytest.skip("pressing real buttons needs PAYTERM_HW_TEST_FINGER_PINS and the wires")
        return self._finger


class EmulatedFinger:
    """Presses the emulated buttons through their own ``press()`` and their mock pins."""

    def __init__(self, buttons: EmulatedButtons, pins: dict[ButtonName, int]) -> None:
        self._buttons = buttons
        self._pins = pins

    async def press(self, name: ButtonName) -> None:
        self._buttons.press(name)

    async def tap(self, name: ButtonName) -> None:
        pin = self._buttons.factory.pin(self._pins[name])
        pin.drive_low()
        pin.drive_high()


class WiredFinger:
    """Presses real buttons through GPIO outputs wired to their pins (low presses)."""

    def __init__(self, buttons: GpiozeroButtons, finger_pins: tuple[int, ...]) -> None:
        from gpiozero import DigitalOutputDevice

        self._buttons = buttons
        self._outputs = {
            name: DigitalOutputDevice(pin, active_high=False, initial_value=False)
            for name, pin in zip(NAMES, finger_pins, strict=True)
        }

    async def press(self, name: ButtonName) -> None:
        self._outputs[name].on()
        await asyncio.sleep(self._buttons.hold_needed_s(name) + 0.1)
        self._outputs[name].off()

    async def tap(self, name: ButtonName) -> None:
        self._outputs[name].on()
        self._outputs[name].off()

    def close(self) -> None:
        for output in self._outputs.values():
            output.close()


@contextmanager
def _hardware_lock() -> Iterator[None]:
    """One test run at a time drives this machine's pins."""
    with HW_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@pytest.fixture(
    params=[
        "emulated",
        pytest.param(
            "pi",
            marks=pytest.mark.skipif(REAL_SKIP_REASON is not None, reason=REAL_SKIP_REASON or ""),
        ),
    ]
)
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    if request.param == "emulated":
        emulated = EmulatedButtons()
        pins = dict(DEFAULT_BUTTON_PINS)
        yield Rig(emulated, EmulatedFinger(emulated, pins), pins)
        await emulated.aclose()
        return
    retry, cancel, force = REAL_BUTTON_PINS
    cfg = ButtonsConfig(
        retry_pin=retry, cancel_pin=cancel, force_pin=force, force_hold_s=REAL_HOLD_S
    )
    with _hardware_lock():
        buttons = open_gpiozero_buttons(cfg)
        finger = WiredFinger(buttons, REAL_FINGER_PINS) if REAL_FINGER_PINS else None
        try:
            yield Rig(buttons, finger, {"retry": retry, "cancel": cancel, "force": force})
        finally:
            await buttons.aclose()
            if finger is not None:
                finger.close()


async def _next(presses: AsyncIterator[ButtonName]) -> ButtonName:
    return await asyncio.wait_for(anext(presses), GUARD_S)


async def test_each_press_yields_its_name(rig: Rig) -> None:
    backend: Buttons = rig.buttons
    presses = backend.presses()

    for name in NAMES:
        await rig.press(name)

    assert [await _next(presses) for _ in NAMES] == list(NAMES)


async def test_presses_come_in_the_order_made(rig: Rig) -> None:
    presses = rig.buttons.presses()
    order: list[ButtonName] = ["force", "cancel", "force", "retry", "retry"]

    for name in order:
        await rig.press(name)

    assert [await _next(presses) for _ in order] == order


async def test_a_tap_on_force_is_no_press(rig: Rig) -> None:
    presses = rig.buttons.presses()

    await rig.tap("force")
    await rig.press("cancel")  # had the tap counted, "force" would come first

    assert await _next(presses) == "cancel"


async def test_aclose_ends_presses_and_frees_the_pins(rig: Rig) -> None:
    presses = rig.buttons.presses()

    await rig.buttons.aclose()
    await rig.buttons.aclose()

    assert [name async for name in presses] == []
    assert "closed" in repr(rig.buttons)
    factory = getattr(rig.buttons, "factory", None)
    again = GpiozeroButtons(rig.pins, pin_factory=factory)  # fails if a pin were still held
    await again.aclose()


async def test_status_names_the_pins_and_nothing_held(rig: Rig) -> None:
    status = rig.buttons.status()

    assert status["pins"] == rig.pins
    assert status["held"] == {name: False for name in NAMES}
    assert status["closed"] is False
    assert "open" in repr(rig.buttons)
