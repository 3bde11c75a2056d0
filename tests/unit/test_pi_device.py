"""A Pi whose display or buttons cannot be opened still starts, and says what is wrong."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from gpiozero import Button, Device
from gpiozero.pins.mock import MockFactory

from hw.absent import BUTTONS_PROBLEM, DISPLAY_PROBLEM, AbsentButtons, AbsentDisplay, NoNfc
from hw.buttons.gpiozero_buttons import GpiozeroButtons
from hw.emulated import open_emulated_device
from hw.errors import DisplayError, HardwareError
from hw.select import open_pi_device
from terminal.app import Terminal
from terminal.clock import FakeClock
from terminal.config.loader import demo_config
from terminal.config.model import Config
from terminal.views.model import Screen


@pytest.fixture
def mock_gpio() -> Iterator[MockFactory]:
    """gpiozero's default pin factory is a MockFactory for the test (as on a Pi, but fake)."""
    factory = MockFactory()
    Device.pin_factory = factory
    yield factory
    Device.pin_factory = None
    factory.close()


def pi_config(tmp_path: Path, *, force_pin: int = 13) -> Config:
    """A Pi config whose display is on a bus no machine has, and no scanner or keypad."""
    config = demo_config(tmp_path)
    return dataclasses.replace(
        config,
        terminal=dataclasses.replace(config.terminal, hardware="pi"),
        display=dataclasses.replace(config.display, i2c_port=99),
        printer=dataclasses.replace(config.printer, connection="none"),
        scanner=dataclasses.replace(config.scanner, device=str(tmp_path / "no-scanner")),
        keypad=dataclasses.replace(config.keypad, device=str(tmp_path / "no-keypad")),
        buttons=dataclasses.replace(config.buttons, retry_pin=5, cancel_pin=6, force_pin=force_pin),
    )


async def _first(iterator: AsyncIterator[Any]) -> Any:
    return await asyncio.wait_for(anext(iterator), timeout=5)


async def test_a_display_that_cannot_open_is_replaced_and_logged(
    tmp_path: Path, mock_gpio: MockFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="hw.select"):
        device = await open_pi_device(pi_config(tmp_path))
    try:
        assert isinstance(device.display, AbsentDisplay)
        assert isinstance(device.display.error, DisplayError)
        assert isinstance(device.buttons, GpiozeroButtons), "the buttons still work"
        assert isinstance(device.nfc, NoNfc)
        assert device.display.size == (128, 64)
        logged = " ".join(r.getMessage() for r in caplog.records)
        assert "/dev/i2c-99" in logged
        assert "display.i2c_port" in logged
        assert await _first(device.display.problems()) == DISPLAY_PROBLEM
        assert device.display.status()["detail"] == str(device.display.error)
        device.display.show(Screen("idle", "Ready"))  # drawing on it is no error
    finally:
        await device.aclose()
    assert device.display.is_closed


async def test_buttons_that_cannot_open_are_replaced_and_logged(
    tmp_path: Path, mock_gpio: MockFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="hw.select"):
        device = await open_pi_device(pi_config(tmp_path, force_pin=99))  # no such pin
    try:
        assert isinstance(device.buttons, AbsentButtons)
        assert "GPIO99" in str(device.buttons.error)
        assert any("GPIO99" in r.getMessage() for r in caplog.records)
        assert await _first(device.buttons.problems()) == BUTTONS_PROBLEM
        presses = device.buttons.presses()
        waiting = asyncio.ensure_future(anext(presses))
        await asyncio.sleep(0)
        assert not waiting.done(), "absent buttons are never pressed"
    finally:
        await device.aclose()
    with pytest.raises(StopAsyncIteration):
        await waiting
    # The pins taken before Force failed are free again.
    for pin in (5, 6):
        Button(pin, pin_factory=mock_gpio).close()  # raises GPIOPinInUse if still held


async def test_absent_parts_end_their_iterators_when_closed() -> None:
    display = AbsentDisplay(HardwareError("gone", device="/dev/i2c-1"), (128, 64))
    problems = display.problems()
    assert await _first(problems) == DISPLAY_PROBLEM
    rest = asyncio.ensure_future(anext(problems))
    await asyncio.sleep(0)
    assert not rest.done()
    await display.aclose()
    await display.aclose()  # idempotent
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(rest, timeout=5)


async def test_the_terminal_runs_and_reports_the_broken_parts(tmp_path: Path, monkeypatch) -> None:
    """The runtime pumps the stand-ins' problems; a fixed part shows the one that remains."""
    emulated = open_emulated_device()
    emulated.display = AbsentDisplay(DisplayError("no answer", device="/dev/i2c-1"), (128, 64))

    async def fake_open_device(config: Config) -> Any:
        return emulated

    monkeypatch.setattr("hw.select.open_device", fake_open_device)
    async with Terminal(demo_config(tmp_path), FakeClock()) as terminal:
        runner = asyncio.create_task(terminal.runtime.run())
        try:
            await terminal.runtime.wait_idle()
            assert terminal.runtime.status()["part_problems"] == {"display": DISPLAY_PROBLEM}
            assert terminal.runtime.state.part_problem == DISPLAY_PROBLEM
            emulated.scanner.unplug()
            await terminal.runtime.wait_idle()
            assert terminal.runtime.state.part_problem == "scanner disconnected"
            emulated.scanner.plug()
            await terminal.runtime.wait_idle()
            assert terminal.runtime.state.part_problem == DISPLAY_PROBLEM
            assert terminal.runtime.status()["part_problems"] == {"display": DISPLAY_PROBLEM}
            screen = emulated.display.last_screen
            assert screen is not None
            assert DISPLAY_PROBLEM in screen.lines
            # The rest works: a payment is taken on the keypad.
            for key in ("1", "0", "0", "enter", "enter"):
                emulated.keypad.press(key)
            await terminal.runtime.wait_idle()
            assert terminal.runtime.status()["phase"] == "waiting"
        finally:
            runner.cancel()
            with pytest.raises((asyncio.CancelledError, BaseExceptionGroup)):
                await runner
