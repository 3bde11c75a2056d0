"""The status LED and buzzer over gpiozero: ready light, waiting blink, paid beep, failure tone."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any

from hw.base import ClosesAsync
from hw.buttons.gpiozero_buttons import Sleep, gpio_device
from hw.errors import HardwareError

if TYPE_CHECKING:
    from terminal.config.model import ButtonsConfig

__all__ = [
    "BLINK_S",
    "FAIL_TONE",
    "OK_BEEP",
    "GpiozeroSignals",
    "Step",
    "open_gpiozero_signals",
]

log = logging.getLogger(__name__)

#: One step of a buzzer pattern: a tone in Hz (None: silence) and how many seconds it lasts.
#: An active buzzer sounds its own pitch for any tone; a passive one plays the tone given.
Step = tuple[float | None, float]

OK_BEEP: Sequence[Step] = ((1760.0, 0.08),)  # short and high: heard, never annoying
FAIL_TONE: Sequence[Step] = ((220.0, 0.6),)  # low and long: plainly not the paid beep
BLINK_S = 0.5  # LED on and off this long each while the terminal waits for the provider

# A passive buzzer's range: 220 Hz to 3520 Hz around A5.
_PASSIVE_MID_HZ = 880.0
_PASSIVE_OCTAVES = 2


class GpiozeroSignals(ClosesAsync):
    """The optional status LED and buzzer; implements :class:`hw.base.Signals`. Loop-only.

    The LED is lit while the terminal is ready and blinks while it waits; the buzzer gives a
    short beep for ``ok()`` and a long low tone for ``fail()``. ``led_pin`` and
    ``buzzer_pin`` are BCM numbers, ``None`` where the part is not fitted. The buzzer is an
    active one (it sounds its own pitch when powered; gpiozero ``Buzzer``) unless
    ``passive_buzzer``, then a piezo driven with PWM tones (gpiozero ``TonalBuzzer``; its pin
    must do PWM). Every method returns at once: the blink and beeps run as tasks on the
    running loop, timed by ``sleep`` (a fake clock's in tests), so no gpiozero thread runs.
    """

    def __init__(
        self,
        *,
        led_pin: int | None = None,
        buzzer_pin: int | None = None,
        passive_buzzer: bool = False,
        pin_factory: Any = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._led_pin = led_pin
        self._buzzer_pin = buzzer_pin
        self._passive = passive_buzzer
        self._sleep = sleep
        self._factory_name = type(pin_factory).__name__ if pin_factory is not None else "default"
        self._closed = False
        self._waiting = False
        self._led_task: asyncio.Task[None] | None = None
        self._buzzer_task: asyncio.Task[None] | None = None
        self._buzzer: Any = None
        self._led: Any = self._make_led(led_pin, pin_factory) if led_pin is not None else None
        try:
            if buzzer_pin is not None:
                self._buzzer = self._make_buzzer(buzzer_pin, pin_factory)
        except HardwareError:
            self._close_devices()
            raise
        if self._led is not None:
            self._led.on()  # ready

    @property
    def is_closed(self) -> bool:
        """True once ``aclose()`` ran."""
        return self._closed

    def ok(self) -> None:
        """Beep once, short and high (the payment went through)."""
        self._play(OK_BEEP)

    def fail(self) -> None:
        """Sound a long, low tone (the payment failed)."""
        self._play(FAIL_TONE)

    def waiting(self, on: bool) -> None:
        """Blink the LED while ``on`` (waiting for the provider); light it steadily otherwise."""
        if self._closed or on == self._waiting:
            return
        self._waiting = on
        _cancel(self._led_task)
        self._led_task = None
        if self._led is None:
            return
        if on:
            self._led_task = self._spawn(self._blink())
        else:
            self._led.on()

    def status(self) -> dict[str, object]:
        """What the self-check shows: the pins, the buzzer kind and what is shown now."""
        return {
            "led_pin": self._led_pin,
            "buzzer_pin": self._buzzer_pin,
            "buzzer": "passive" if self._passive else "active",
            "waiting": self._waiting,
            "closed": self._closed,
        }

    async def aclose(self) -> None:
        """Put the LED out, silence the buzzer and release their pins; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        for task in (self._led_task, self._buzzer_task):
            _cancel(task)
        self._close_devices()

    def __repr__(self) -> str:
        parts = [
            f"led=GPIO{self._led_pin}" if self._led_pin is not None else "no led",
            f"{'passive' if self._passive else 'active'} buzzer=GPIO{self._buzzer_pin}"
            if self._buzzer_pin is not None
            else "no buzzer",
        ]
        state = "closed" if self._closed else "open"
        return f"<{type(self).__name__} {', '.join(parts)} on {self._factory_name} pins, {state}>"

    # --- patterns on the loop ---------------------------------------------------------------

    def _play(self, pattern: Sequence[Step]) -> None:
        if self._closed or self._buzzer is None:
            return
        _cancel(self._buzzer_task)  # a new signal cuts the one still sounding short
        self._buzzer_task = self._spawn(self._sound_pattern(pattern))

    async def _sound_pattern(self, pattern: Sequence[Step]) -> None:
        try:
            for tone_hz, seconds in pattern:
                self._sound(tone_hz)
                await self._sleep(seconds)
        finally:
            if not self._closed:
                self._sound(None)

    async def _blink(self) -> None:
        while True:
            self._led.on()
            await self._sleep(BLINK_S)
            self._led.off()
            await self._sleep(BLINK_S)

    def _sound(self, tone_hz: float | None) -> None:
        if tone_hz is None and self._passive:
            self._buzzer.stop()
        elif tone_hz is None:
            self._buzzer.off()
        elif self._passive:
            from gpiozero.tones import Tone

            self._buzzer.play(Tone.from_frequency(tone_hz))
        else:
            self._buzzer.on()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        task.add_done_callback(_log_failure)
        return task

    # --- setup and teardown -----------------------------------------------------------------

    def _make_led(self, pin: int, pin_factory: Any) -> Any:
        from gpiozero import LED

        return gpio_device(lambda: LED(pin, pin_factory=pin_factory), role="status LED", pin=pin)

    def _make_buzzer(self, pin: int, pin_factory: Any) -> Any:
        from gpiozero import Buzzer, TonalBuzzer
        from gpiozero.tones import Tone

        if not self._passive:
            return gpio_device(lambda: Buzzer(pin, pin_factory=pin_factory), role="buzzer", pin=pin)
        mid = Tone.from_frequency(_PASSIVE_MID_HZ)
        return gpio_device(
            lambda: TonalBuzzer(
                pin, mid_tone=mid, octaves=_PASSIVE_OCTAVES, pin_factory=pin_factory
            ),
            role="passive buzzer",
            pin=pin,
        )

    def _close_devices(self) -> None:
        from gpiozero import GPIOZeroError

        for device, silence in (
            (self._led, "off"),
            (self._buzzer, "stop" if self._passive else "off"),
        ):
            if device is None:
                continue
            try:
                getattr(device, silence)()
                device.close()
            except (GPIOZeroError, OSError) as exc:  # release every pin even if one fails
                log.warning("signals:close of %r failed: %r", device, exc)
        self._led = self._buzzer = None


def open_gpiozero_signals(
    cfg: ButtonsConfig,
    *,
    pin_factory: Any = None,
    passive_buzzer: bool = False,
    sleep: Sleep = asyncio.sleep,
) -> GpiozeroSignals | None:
    """The LED and buzzer of ``[buttons]``, or None when neither pin is configured."""
    if cfg.led_pin is None and cfg.buzzer_pin is None:
        return None
    return GpiozeroSignals(
        led_pin=cfg.led_pin,
        buzzer_pin=cfg.buzzer_pin,
        passive_buzzer=passive_buzzer,
        pin_factory=pin_factory,
        sleep=sleep,
    )


def _cancel(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("signals:pattern failed: %r", task.exception())
