"""GpiozeroButtons over gpiozero's MockFactory and a fake clock: press, hold, bounce, close."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from gpiozero import Button, DigitalInputDevice
from gpiozero.pins.mock import MockFactory

from hw.buttons.gpiozero_buttons import GpiozeroButtons, open_gpiozero_buttons
from hw.errors import HardwareError
from terminal.clock import FakeClock
from terminal.config.model import ButtonsConfig

PINS: dict[Any, int] = {"retry": 5, "cancel": 6, "force": 13}
DEBOUNCE_S = 0.05
HOLD_S = 1.5


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    mock = MockFactory()
    yield mock
    mock.close()


class Rig:
    """Buttons on mock pins and a fake clock; every press is collected as it reaches the loop."""

    def __init__(self, factory: MockFactory, clock: FakeClock, buttons: GpiozeroButtons) -> None:
        self.factory = factory
        self.clock = clock
        self.buttons = buttons
        self.pressed: list[str] = []
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for name in self.buttons.presses():
            self.pressed.append(name)

    def down(self, pin: int) -> None:
        self.factory.pin(pin).drive_low()  # pulled up: pressing connects the pin to ground

    def up(self, pin: int) -> None:
        self.factory.pin(pin).drive_high()

    async def settle(self) -> None:
        """Let the loop hand over every edge and run every timer now due."""
        for _ in range(10):
            await asyncio.sleep(0)

    async def advance(self, seconds: float) -> None:
        await self.settle()
        self.clock.advance(seconds)
        await self.settle()

    async def move_to(self, monotonic: float) -> None:
        """Set the clock (sums of steps drift in floating point; this does not)."""
        await self.settle()
        self.clock.set(monotonic)
        await self.settle()


@pytest.fixture
async def rig(factory: MockFactory) -> AsyncIterator[Rig]:
    clock = FakeClock()
    buttons = GpiozeroButtons(
        PINS,
        pin_factory=factory,
        debounce_s=DEBOUNCE_S,
        force_hold_s=HOLD_S,
        monotonic=clock.monotonic,
        sleep=clock.sleep,
    )
    made = Rig(factory, clock, buttons)
    yield made
    await buttons.aclose()
    await made.reader


async def test_press_counts_once_it_has_settled(rig: Rig) -> None:
    rig.down(5)
    await rig.settle()
    assert rig.pressed == []

    await rig.advance(DEBOUNCE_S)

    assert rig.pressed == ["retry"]


async def test_release_yields_nothing(rig: Rig) -> None:
    rig.down(6)
    await rig.advance(DEBOUNCE_S)
    rig.up(6)
    await rig.advance(5.0)

    assert rig.pressed == ["cancel"]


async def test_a_held_button_counts_exactly_once(rig: Rig) -> None:
    rig.down(6)
    for _ in range(20):
        await rig.advance(0.5)
    rig.up(6)
    await rig.settle()

    assert rig.pressed == ["cancel"]


async def test_bounce_within_debounce_time_is_one_press(rig: Rig) -> None:
    for _ in range(4):  # contact bounce: four closings and openings 5 ms apart
        rig.down(5)
        await rig.advance(0.005)
        rig.up(5)
        await rig.advance(0.005)
    rig.down(5)
    await rig.advance(DEBOUNCE_S)
    for _ in range(3):  # bounce on the way up must not count as a second press
        rig.up(5)
        await rig.advance(0.005)
        rig.down(5)
        await rig.advance(0.005)
    rig.up(5)
    await rig.advance(1.0)

    assert rig.pressed == ["retry"]


async def test_a_glitch_shorter_than_debounce_is_nothing(rig: Rig) -> None:
    rig.down(5)
    await rig.advance(DEBOUNCE_S - 0.01)
    rig.up(5)
    await rig.advance(1.0)

    assert rig.pressed == []


async def test_two_presses_apart_are_two(rig: Rig) -> None:
    for _ in range(2):
        rig.down(5)
        await rig.advance(DEBOUNCE_S)
        rig.up(5)
        await rig.advance(0.2)

    assert rig.pressed == ["retry", "retry"]


async def test_force_counts_only_once_held_long_enough(rig: Rig) -> None:
    rig.down(13)
    await rig.advance(HOLD_S - 0.01)
    assert rig.pressed == []

    await rig.advance(0.01)
    assert rig.pressed == ["force"]

    await rig.advance(10.0)
    rig.up(13)
    await rig.settle()
    assert rig.pressed == ["force"]


async def test_force_released_too_early_is_nothing(rig: Rig) -> None:
    rig.down(13)
    await rig.advance(HOLD_S - 0.1)
    rig.up(13)
    await rig.advance(10.0)

    assert rig.pressed == []


async def test_force_hold_restarts_after_a_release(rig: Rig) -> None:
    rig.down(13)
    await rig.advance(1.0)
    rig.up(13)
    await rig.advance(0.2)
    rig.down(13)
    await rig.advance(1.0)  # 2.2 s since the first touch, but only 1.0 s of this hold
    assert rig.pressed == []

    await rig.advance(HOLD_S - 1.0)
    assert rig.pressed == ["force"]


async def test_two_buttons_at_once(rig: Rig) -> None:
    force_down_at = rig.clock.monotonic()
    rig.down(13)
    rig.down(5)
    await rig.advance(DEBOUNCE_S)
    rig.down(6)
    await rig.advance(DEBOUNCE_S)
    assert rig.pressed == ["retry", "cancel"]

    rig.up(5)
    rig.up(6)
    await rig.move_to(force_down_at + HOLD_S)

    assert rig.pressed == ["retry", "cancel", "force"]


async def test_close_while_held_counts_nothing_and_ends_presses(rig: Rig) -> None:
    rig.down(13)
    await rig.advance(1.0)

    await rig.buttons.aclose()
    await rig.advance(10.0)

    assert rig.pressed == []
    assert rig.reader.done()
    Button(13, pin_factory=rig.factory).close()  # raises GPIOPinInUse if still held


async def test_press_from_another_thread_reaches_the_loop(rig: Rig) -> None:
    await asyncio.to_thread(rig.down, 6)
    await rig.advance(DEBOUNCE_S)

    assert rig.pressed == ["cancel"]


async def test_a_hold_the_timer_missed_still_counts_at_release(factory: MockFactory) -> None:
    now = [100.0]

    async def never(seconds: float) -> None:  # a loop too busy to run the timer in time
        await asyncio.Event().wait()

    buttons = GpiozeroButtons(
        {"force": 13}, pin_factory=factory, monotonic=lambda: now[0], sleep=never
    )
    pressed: list[str] = []
    buttons.presses()  # binds the loop

    factory.pin(13).drive_low()
    now[0] += HOLD_S
    factory.pin(13).drive_high()
    for _ in range(10):
        await asyncio.sleep(0)
    await buttons.aclose()

    async for name in buttons.presses():  # what was counted before the close is still there
        pressed.append(name)
    assert pressed == ["force"]


async def test_makes_no_hold_threads(factory: MockFactory) -> None:
    before = threading.active_count()

    buttons = GpiozeroButtons(PINS, pin_factory=factory)

    assert threading.active_count() == before  # gpiozero's Button would add one per button
    await buttons.aclose()


async def test_aclose_ends_presses_and_frees_the_pins(factory: MockFactory) -> None:
    backend = GpiozeroButtons(PINS, pin_factory=factory)
    presses = backend.presses()

    await backend.aclose()
    await backend.aclose()

    assert [name async for name in presses] == []
    assert backend.is_closed
    assert "closed" in repr(backend)
    for pin in PINS.values():
        Button(pin, pin_factory=factory).close()  # raises GPIOPinInUse if the pin were held


async def test_invalid_pin_is_a_hardware_error(factory: MockFactory) -> None:
    with pytest.raises(HardwareError, match="GPIO99.*BCM number"):
        GpiozeroButtons({"retry": 99}, pin_factory=factory)


async def test_pin_used_twice_is_a_hardware_error_and_frees_the_rest(
    factory: MockFactory,
) -> None:
    with pytest.raises(HardwareError, match="GPIO5: cancel button: the pin is already used"):
        GpiozeroButtons({"retry": 5, "cancel": 5}, pin_factory=factory)

    Button(5, pin_factory=factory).close()  # the first button was released


async def test_pin_already_in_use_is_a_hardware_error_naming_it(factory: MockFactory) -> None:
    led_wire = DigitalInputDevice(22, pin_factory=factory)

    with pytest.raises(HardwareError, match="GPIO22") as caught:
        open_gpiozero_buttons(ButtonsConfig(), pin_factory=factory)

    assert caught.value.device == "GPIO22"
    assert "force button" in str(caught.value)
    led_wire.close()
    Button(17, pin_factory=factory).close()  # retry and cancel were released again
    Button(27, pin_factory=factory).close()


async def test_status_shows_pins_timing_and_held_buttons(rig: Rig) -> None:
    rig.down(6)

    status = rig.buttons.status()
    rig.up(6)

    assert status["pins"] == PINS
    assert status["held"] == {"retry": False, "cancel": True, "force": False}
    assert (status["debounce_s"], status["force_hold_s"]) == (DEBOUNCE_S, HOLD_S)
    assert repr(rig.buttons) == (
        "<GpiozeroButtons retry=GPIO5, cancel=GPIO6, force=GPIO13 on MockFactory pins, open>"
    )


def test_force_needs_at_least_the_debounce_time(factory: MockFactory) -> None:
    buttons = GpiozeroButtons(PINS, pin_factory=factory, debounce_s=0.2, force_hold_s=0.1)

    assert buttons.hold_needed_s("retry") == 0.2
    assert buttons.hold_needed_s("force") == 0.2
    asyncio.run(buttons.aclose())


def test_negative_timing_is_a_value_error(factory: MockFactory) -> None:
    with pytest.raises(ValueError, match="negative"):
        GpiozeroButtons(PINS, pin_factory=factory, force_hold_s=-1.0)


async def test_open_takes_pins_and_timing_from_config(factory: MockFactory) -> None:
    cfg = ButtonsConfig(retry_pin=5, cancel_pin=6, force_pin=13, debounce_s=0.02, force_hold_s=0.5)
    clock = FakeClock()
    buttons = open_gpiozero_buttons(
        cfg, pin_factory=factory, monotonic=clock.monotonic, sleep=clock.sleep
    )
    made = Rig(factory, clock, buttons)

    made.down(13)
    await made.advance(0.49)
    assert made.pressed == []
    await made.advance(0.01)

    assert made.pressed == ["force"]
    assert buttons.status()["pins"] == PINS
    await buttons.aclose()


async def test_open_without_gpio_library_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gpiozero import Device

    if os.path.exists("/dev/gpiochip0") or Device.pin_factory is not None:
        pytest.skip("this machine has GPIO (or a pin factory is set): nothing to fall back from")
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)

    with pytest.raises(HardwareError, match="GPIO17: retry button: no GPIO library.*lgpio"):
        open_gpiozero_buttons(ButtonsConfig())


def test_edges_before_any_loop_are_dropped(factory: MockFactory) -> None:
    backend = GpiozeroButtons({"retry": 5}, pin_factory=factory, debounce_s=0.0)  # no loop yet

    factory.pin(5).drive_low()  # dropped, with a warning in the log
    factory.pin(5).drive_high()

    async def first_after_loop() -> str:
        presses = backend.presses()
        factory.pin(5).drive_low()
        name = await anext(presses)
        await backend.aclose()
        return name

    assert asyncio.run(first_after_loop()) == "retry"


# --- lgpio's working folder -------------------------------------------------------------------


def test_lgpio_gets_the_temporary_folder_when_the_working_folder_is_read_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tempfile

    import hw.buttons.gpiozero_buttons as buttons_module

    monkeypatch.setattr(buttons_module.os, "access", lambda path, mode: False)
    environ: dict[str, str] = {}
    buttons_module.ensure_lgpio_workdir(environ)
    assert environ == {"LG_WD": tempfile.gettempdir()}


def test_lgpio_keeps_a_set_or_writable_working_folder() -> None:
    import hw.buttons.gpiozero_buttons as buttons_module

    environ = {"LG_WD": "/run/payterm"}
    buttons_module.ensure_lgpio_workdir(environ)
    assert environ == {"LG_WD": "/run/payterm"}
    writable: dict[str, str] = {}
    buttons_module.ensure_lgpio_workdir(writable)  # the tests' own folder can be written
    assert writable == {}
