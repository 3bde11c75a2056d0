"""GpiozeroButtons over gpiozero's MockFactory: presses reach the loop through gpiozero."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from gpiozero import Button
from gpiozero.pins.mock import MockFactory

from hw.errors import HardwareError
from hw.gpiozero_buttons import GpiozeroButtons

PINS: dict[Any, int] = {"retry": 5, "cancel": 6, "force": 13}


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    mock = MockFactory()
    yield mock
    mock.close()


@pytest.fixture
async def buttons(factory: MockFactory) -> AsyncIterator[GpiozeroButtons]:
    # No debounce: these presses come faster than any finger, and there is no bounce on a mock.
    backend = GpiozeroButtons(PINS, pin_factory=factory, debounce_s=0.0)
    yield backend
    await backend.aclose()


def _press(factory: MockFactory, pin: int) -> None:
    factory.pin(pin).drive_low()


def _release(factory: MockFactory, pin: int) -> None:
    factory.pin(pin).drive_high()


def _click(factory: MockFactory, pin: int) -> None:
    _press(factory, pin)
    _release(factory, pin)


async def test_press_yields_the_button_name(buttons: GpiozeroButtons, factory: MockFactory) -> None:
    presses = buttons.presses()

    _press(factory, 5)

    assert await anext(presses) == "retry"
    _release(factory, 5)


async def test_release_yields_nothing(buttons: GpiozeroButtons, factory: MockFactory) -> None:
    presses = buttons.presses()

    _click(factory, 5)
    _click(factory, 6)  # had the release of retry produced an event, it would come first

    assert await anext(presses) == "retry"
    assert await anext(presses) == "cancel"


async def test_two_buttons_in_order(buttons: GpiozeroButtons, factory: MockFactory) -> None:
    presses = buttons.presses()

    _click(factory, 13)
    _click(factory, 6)
    _click(factory, 13)

    assert [await anext(presses) for _ in range(3)] == ["force", "cancel", "force"]


async def test_press_from_another_thread_reaches_the_loop(
    buttons: GpiozeroButtons, factory: MockFactory
) -> None:
    presses = buttons.presses()

    await asyncio.to_thread(_click, factory, 6)

    assert await anext(presses) == "cancel"


async def test_bounce_within_debounce_time_is_one_press(factory: MockFactory) -> None:
    now = [100.0]
    backend = GpiozeroButtons(
        {"retry": 5, "cancel": 6}, pin_factory=factory, debounce_s=0.05, monotonic=lambda: now[0]
    )
    presses = backend.presses()

    _click(factory, 5)
    now[0] += 0.01
    _click(factory, 5)  # contact bounce: ignored
    now[0] += 0.1
    _click(factory, 5)  # a second real press
    _click(factory, 6)

    assert [await anext(presses) for _ in range(3)] == ["retry", "retry", "cancel"]
    await backend.aclose()


async def test_aclose_ends_presses_and_frees_the_pins(factory: MockFactory) -> None:
    backend = GpiozeroButtons(PINS, pin_factory=factory)
    presses = backend.presses()

    await backend.aclose()
    await backend.aclose()

    assert [name async for name in presses] == []
    assert backend.is_closed
    assert "closed" in repr(backend)
    again = Button(5, pin_factory=factory)  # raises GPIOPinInUse if the pin were still held
    again.close()


async def test_invalid_pin_is_a_hardware_error(factory: MockFactory) -> None:
    with pytest.raises(HardwareError, match="GPIO99"):
        GpiozeroButtons({"retry": 99}, pin_factory=factory)


async def test_pin_used_twice_is_a_hardware_error_and_frees_the_rest(
    factory: MockFactory,
) -> None:
    with pytest.raises(HardwareError):
        GpiozeroButtons({"retry": 5, "cancel": 5}, pin_factory=factory)

    Button(5, pin_factory=factory).close()  # the first button was released


async def test_status_shows_pins_and_held_buttons(
    buttons: GpiozeroButtons, factory: MockFactory
) -> None:
    _press(factory, 6)

    status = buttons.status()
    _release(factory, 6)

    assert status["pins"] == PINS
    assert status["held"] == {"retry": False, "cancel": True, "force": False}


def test_presses_before_any_loop_are_dropped(factory: MockFactory) -> None:
    backend = GpiozeroButtons({"retry": 5}, pin_factory=factory)  # no running loop here

    _click(factory, 5)  # dropped, with a warning in the log

    async def first_after_loop() -> str:
        presses = backend.presses()
        _click(factory, 5)
        name = await anext(presses)
        await backend.aclose()
        return name

    assert asyncio.run(first_after_loop()) == "retry"
