"""GpiozeroSignals over gpiozero's MockFactory and a fake clock: what the LED and buzzer pins do."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator

import pytest
from gpiozero import LED
from gpiozero.pins.mock import MockFactory, MockPWMPin

from hw.buttons.gpiozero_signals import BLINK_S, GpiozeroSignals, open_gpiozero_signals
from hw.errors import HardwareError
from terminal.clock import FakeClock
from terminal.config.model import ButtonsConfig

LED_PIN = 23
BUZZER_PIN = 18


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    mock = MockFactory()
    yield mock
    mock.close()


@pytest.fixture
def pwm_factory() -> Iterator[MockFactory]:
    mock = MockFactory(pin_class=MockPWMPin)
    yield mock
    mock.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def signals(factory: MockFactory, clock: FakeClock) -> AsyncIterator[GpiozeroSignals]:
    made = GpiozeroSignals(
        led_pin=LED_PIN, buzzer_pin=BUZZER_PIN, pin_factory=factory, sleep=clock.sleep
    )
    yield made
    await made.aclose()


async def _settle() -> None:
    """Let every task whose sleep is over take its next step."""
    for _ in range(10):
        await asyncio.sleep(0)


async def _advance(clock: FakeClock, seconds: float) -> None:
    """Let the tasks reach their sleeps, move the clock, let those now due step on."""
    await _settle()
    clock.advance(seconds)
    await _settle()


def _history(factory: MockFactory, pin: int) -> list[object]:
    """Every state the pin was driven to, first (the state at setup) to last."""
    return [change.state for change in factory.pin(pin).states]


async def test_led_is_lit_when_ready(signals: GpiozeroSignals, factory: MockFactory) -> None:
    assert _history(factory, LED_PIN) == [False, True]
    assert _history(factory, BUZZER_PIN) == [False]


async def test_ok_is_one_short_beep(
    signals: GpiozeroSignals, factory: MockFactory, clock: FakeClock
) -> None:
    signals.ok()
    await _settle()
    assert factory.pin(BUZZER_PIN).state is True

    await _advance(clock, 0.07)
    assert factory.pin(BUZZER_PIN).state is True
    await _advance(clock, 0.01)

    assert _history(factory, BUZZER_PIN) == [False, True, False]
    await _advance(clock, 5.0)
    assert _history(factory, BUZZER_PIN) == [False, True, False]


async def test_fail_is_one_long_tone(
    signals: GpiozeroSignals, factory: MockFactory, clock: FakeClock
) -> None:
    signals.fail()
    await _advance(clock, 0.5)
    assert factory.pin(BUZZER_PIN).state is True  # well past the length of the paid beep

    await _advance(clock, 0.1)

    assert _history(factory, BUZZER_PIN) == [False, True, False]


async def test_a_new_signal_cuts_the_last_one_short(
    signals: GpiozeroSignals, factory: MockFactory, clock: FakeClock
) -> None:
    signals.fail()
    await _advance(clock, 0.1)

    signals.ok()
    await _settle()
    assert factory.pin(BUZZER_PIN).state is True
    await _advance(clock, 0.08)

    assert _history(factory, BUZZER_PIN) == [False, True, False, True, False]
    await _advance(clock, 1.0)  # the failure tone's own end must not toggle anything
    assert _history(factory, BUZZER_PIN) == [False, True, False, True, False]


async def test_waiting_blinks_the_led_then_lights_it_again(
    signals: GpiozeroSignals, factory: MockFactory, clock: FakeClock
) -> None:
    signals.waiting(True)
    signals.waiting(True)  # said twice: still one blink
    await _settle()
    for _ in range(4):
        await _advance(clock, BLINK_S)
    assert _history(factory, LED_PIN) == [False, True, False, True, False, True]

    signals.waiting(False)
    await _advance(clock, 10 * BLINK_S)

    assert factory.pin(LED_PIN).state is True
    assert _history(factory, LED_PIN) == [False, True, False, True, False, True]


async def test_leaving_waiting_while_the_led_is_dark_lights_it(
    signals: GpiozeroSignals, factory: MockFactory, clock: FakeClock
) -> None:
    signals.waiting(True)
    await _advance(clock, BLINK_S)
    assert factory.pin(LED_PIN).state is False

    signals.waiting(False)

    assert factory.pin(LED_PIN).state is True


async def test_no_gpiozero_thread_runs_the_patterns(
    signals: GpiozeroSignals, clock: FakeClock
) -> None:
    before = threading.active_count()

    signals.waiting(True)
    signals.ok()
    await _advance(clock, BLINK_S)

    assert threading.active_count() == before


async def test_passive_buzzer_plays_a_high_then_a_low_tone(
    pwm_factory: MockFactory, clock: FakeClock
) -> None:
    signals = GpiozeroSignals(
        buzzer_pin=BUZZER_PIN, passive_buzzer=True, pin_factory=pwm_factory, sleep=clock.sleep
    )
    pin = pwm_factory.pin(BUZZER_PIN)

    signals.ok()
    await _settle()
    high_hz = pin.frequency
    await _advance(clock, 0.08)
    silent_hz = pin.frequency
    signals.fail()
    await _settle()
    low_hz = pin.frequency
    await _advance(clock, 0.6)

    assert (high_hz, silent_hz, low_hz, pin.frequency) == (1760.0, None, 220.0, None)
    assert pin.state == 0
    await signals.aclose()


async def test_passive_buzzer_on_a_pin_without_pwm_is_a_hardware_error(
    factory: MockFactory,
) -> None:
    with pytest.raises(HardwareError, match="GPIO18: passive buzzer: .*no PWM"):
        GpiozeroSignals(
            led_pin=LED_PIN, buzzer_pin=BUZZER_PIN, passive_buzzer=True, pin_factory=factory
        )

    LED(LED_PIN, pin_factory=factory).close()  # the LED was released again


async def test_buzzer_on_the_led_pin_is_a_hardware_error_naming_it(factory: MockFactory) -> None:
    with pytest.raises(HardwareError, match="GPIO23: buzzer: the pin is already used"):
        GpiozeroSignals(led_pin=LED_PIN, buzzer_pin=LED_PIN, pin_factory=factory)

    LED(LED_PIN, pin_factory=factory).close()


async def test_aclose_darkens_silences_and_frees_the_pins(
    factory: MockFactory, clock: FakeClock
) -> None:
    signals = GpiozeroSignals(
        led_pin=LED_PIN, buzzer_pin=BUZZER_PIN, pin_factory=factory, sleep=clock.sleep
    )
    signals.waiting(True)
    signals.fail()
    await _settle()

    await signals.aclose()
    await signals.aclose()
    signals.ok()  # after close: nothing, and no error
    signals.waiting(False)
    await _advance(clock, 5.0)

    assert factory.pin(LED_PIN).state is False
    assert _history(factory, BUZZER_PIN) == [False, True, False]
    assert signals.is_closed
    assert "closed" in repr(signals)
    LED(LED_PIN, pin_factory=factory).close()  # raises GPIOPinInUse if still held
    LED(BUZZER_PIN, pin_factory=factory).close()


async def test_status_and_repr(signals: GpiozeroSignals) -> None:
    signals.waiting(True)

    assert signals.status() == {
        "led_pin": LED_PIN,
        "buzzer_pin": BUZZER_PIN,
        "buzzer": "active",
        "waiting": True,
        "closed": False,
    }
    assert repr(signals) == (
        "<GpiozeroSignals led=GPIO23, active buzzer=GPIO18 on MockFactory pins, open>"
    )


def test_open_without_led_or_buzzer_is_none(factory: MockFactory) -> None:
    assert open_gpiozero_signals(ButtonsConfig(), pin_factory=factory) is None


async def test_open_with_only_a_led(factory: MockFactory, clock: FakeClock) -> None:
    signals = open_gpiozero_signals(
        ButtonsConfig(led_pin=LED_PIN), pin_factory=factory, sleep=clock.sleep
    )
    assert signals is not None

    signals.ok()  # no buzzer fitted: nothing to do
    signals.waiting(True)
    await _advance(clock, BLINK_S)

    assert _history(factory, LED_PIN) == [False, True, False]
    assert signals.status()["buzzer_pin"] is None
    await signals.aclose()


async def test_open_with_only_a_buzzer(factory: MockFactory, clock: FakeClock) -> None:
    signals = open_gpiozero_signals(
        ButtonsConfig(buzzer_pin=BUZZER_PIN), pin_factory=factory, sleep=clock.sleep
    )
    assert signals is not None

    signals.waiting(True)  # no LED fitted: nothing to do
    signals.ok()
    await _advance(clock, 0.08)

    assert _history(factory, BUZZER_PIN) == [False, True, False]
    assert repr(signals).startswith("<GpiozeroSignals no led, active buzzer=GPIO18")
    await signals.aclose()
