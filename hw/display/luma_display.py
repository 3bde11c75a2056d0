"""The customer display over luma.oled: SSD1306, SH1106, SSD1309 or SH1107 on I²C or SPI.

``open_luma_display(cfg)`` builds luma's bus interface and driver from ``[display]``;
:class:`LumaDisplay` draws the engine's screens on it (or on luma's ``dummy`` device in the
emulator). luma and the bus libraries (smbus2, spidev, gpiozero for the SPI D/C and RESET
pins) are imported only when a display is opened. Every failure of theirs becomes a
:class:`DisplayError` whose message says what to check or set (:mod:`hw.display.luma_wiring`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from PIL import Image

from hw.base import ClosesAsync
from hw.display.frame_pusher import FramePusher
from hw.display.luma_wiring import Wiring, display_error, library_errors
from hw.display.render import can_redraw_countdown, redraw_countdown, render_screen
from hw.errors import DisplayError
from terminal.config.model import DisplayConfig
from terminal.views.model import Screen

__all__ = ["DRIVERS", "PANEL_SIZES", "GpiozeroPins", "LumaDisplay", "open_luma_display"]

log = logging.getLogger(__name__)

#: The display controllers payterm drives, each with the panel sizes luma.oled supports for it.
PANEL_SIZES: dict[str, frozenset[tuple[int, int]]] = {
    "ssd1306": frozenset({(128, 64)}),
    "ssd1309": frozenset({(128, 64)}),
    "sh1106": frozenset({(128, 64), (128, 128)}),
    # NOTE: a 128×64 SH1107 panel is the chip's 64×128 mode turned a quarter.
    "sh1107": frozenset({(128, 64), (128, 128)}),
}
DRIVERS = tuple(PANEL_SIZES)


def open_luma_display(
    cfg: DisplayConfig,
    *,
    serial_interface: Any = None,
    bus: Any = None,
    spi: Any = None,
    pin_factory: Any = None,
    wiring: Wiring | None = None,
) -> LumaDisplay:
    """Open the display ``cfg`` describes: bus, driver, rotation and contrast.

    ``serial_interface`` replaces the bus interface built from ``cfg`` (e.g. luma's
    ``noop()``), ``wiring`` what messages and ``status()`` name (the bus ``cfg`` describes
    when None); ``bus`` is an smbus2-compatible I²C bus and ``spi`` a spidev-compatible
    object handed to luma; ``pin_factory`` is the gpiozero pin factory for the SPI D/C and
    RESET pins (the default factory when None).

    :raises DisplayError: the driver cannot drive that size, or the bus, the pins or the
        display did not answer; the message says what to check.
    """
    wiring = wiring or Wiring.of(cfg)
    _check_panel(cfg, wiring)
    closers: list[Callable[[], object]] = []
    built = serial_interface is None
    try:
        if serial_interface is None:
            serial_interface = _serial_interface(cfg, bus, spi, pin_factory, closers)
        device = _device(cfg, serial_interface)
        device.contrast(cfg.contrast)
    except library_errors(cfg) as exc:
        if built and serial_interface is not None:
            closers.insert(0, serial_interface.cleanup)
        _close_all(closers)
        raise display_error(exc, wiring, cfg) from exc
    log.info("display:open %s %dx%d on %s", cfg.driver, cfg.width, cfg.height, wiring.where)
    return LumaDisplay(device=device, wiring=wiring, closers=closers)


class LumaDisplay(ClosesAsync):
    """Draws each :class:`Screen` on a luma device; implements :class:`hw.base.Display`.

    ``device`` is any luma device (``luma.oled.device.ssd1306(i2c(...))`` on the Pi,
    ``luma.core.device.dummy(width=128, height=64, mode="1")`` in the emulator); frames are
    drawn 1-bit and converted for colour devices. ``show()`` returns at once: the frame is
    drawn and pushed by one worker thread (:class:`hw.display.frame_pusher.FramePusher`),
    because a transfer takes ≈ 23 ms over I²C at 400 kHz and ≈ 92 ms at 100 kHz, which the
    loop cannot afford. A frame still waiting when a newer one comes is dropped (the latest
    wins). A screen equal to the one last asked for is not sent again, and when only the
    countdown changed just the countdown is drawn into the previous frame. A push that
    failed raises its :class:`DisplayError` from the next ``show()`` (or ``flush()``), so
    the caller reports it where it always did. Loop-only, but for ``flush()``.
    """

    def __init__(
        self,
        *,
        device: Any,
        wiring: Wiring | None = None,
        closers: Sequence[Callable[[], object]] = (),
    ) -> None:
        from luma.core.error import Error as LumaError

        # What luma and the buses under it raise: its own tree, OSError from I²C/SPI
        # (smbus2, spidev), ValueError and AssertionError for a frame it cannot take.
        self._errors: tuple[type[Exception], ...] = (LumaError, OSError, ValueError, AssertionError)
        self._device = device
        self._wiring = wiring or Wiring("dummy", f"luma:{type(device).__name__}")
        self._closers = tuple(closers)
        self._size: tuple[int, int] = (int(device.width), int(device.height))
        self._mode = str(getattr(device, "mode", "1"))
        # The worker's: the frame on the panel. The loop's: the screen last asked for.
        self._last_screen: Screen | None = None
        self._last_image: Image.Image | None = None
        self._wanted: Screen | None = None
        self._frames = {"full": 0, "countdown": 0, "skipped": 0}
        self._last_push_ms = 0.0
        self._closed = False
        self._pusher: FramePusher[Screen] = FramePusher(self._push, name="payterm-display")

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the display in pixels."""
        return self._size

    @property
    def last_image(self) -> Image.Image | None:
        """The last frame pushed to the device (once the pushes under way are done), or None."""
        self._pusher.wait()
        return self._last_image

    @property
    def last_screen(self) -> Screen | None:
        """The last :class:`Screen` pushed (once the pushes under way are done), or None."""
        self._pusher.wait()
        return self._last_screen

    @property
    def is_closed(self) -> bool:
        """True once ``aclose()`` ran."""
        return self._closed

    def show(self, screen: Screen) -> None:
        """Have ``screen`` drawn and pushed by the worker, unless it is the one asked for last.

        Returns at once. :raises DisplayError: the display is closed, or an earlier push
            failed (luma or the bus); ``screen`` is pushed all the same.
        """
        if self._closed:
            raise DisplayError("display is closed", device=self._wiring.path)
        # Only a failure from before this call is reported: this frame's own push may fail
        # on the worker before we get here, and belongs to the next show() or flush().
        earlier = self._pusher.take_error()
        if screen == self._wanted:
            self._frames["skipped"] += 1
        else:
            self._wanted = screen
            self._pusher.post(screen)
        if earlier is not None:
            raise earlier

    def flush(self, timeout_s: float | None = None) -> None:
        """Wait until the frames asked for are on the panel (any thread; it blocks).

        :raises DisplayError: a push failed since the last ``show()`` / ``flush()``, or
            ``timeout_s`` ran out first.
        """
        if not self._pusher.wait(timeout_s):
            raise DisplayError(
                f"the display took longer than {timeout_s} s to draw", device=self._wiring.path
            )
        self._raise_failure()

    def status(self) -> dict[str, object]:
        """What the self-check shows about the display."""
        return {
            "device": self._wiring.path,
            "where": self._wiring.where,
            "driver": type(self._device).__name__,
            "size": list(self._size),
            "closed": self._closed,
            "screen": self._last_screen.name if self._last_screen else None,
            "frames": dict(self._frames),
            "frames_dropped": self._pusher.dropped,
            "pushing": self._pusher.busy,
            "last_push_ms": round(self._last_push_ms, 2),
        }

    async def aclose(self) -> None:
        """Blank the display and release its bus and pins; safe to call twice.

        A frame still waiting is dropped (blanking follows at once); the push under way is
        let finish, off the loop, before the panel is blanked, so the two never mix on the
        bus. A push that failed and was not reported yet is logged.

        :raises DisplayError: blanking failed (the bus and pins are released all the same).
        """
        if self._closed:
            return
        self._closed = True
        if self._pusher.discard():
            log.debug("display:the last frame before close was dropped: blanking follows")
        await asyncio.to_thread(self._pusher.stop)
        failed = self._pusher.take_error()
        if failed is not None:
            log.warning("display: %s", failed)
        try:
            self._device.cleanup()
        except self._errors as exc:
            raise display_error(exc, self._wiring, None) from exc
        finally:
            _close_all(self._closers)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        width, height = self._size
        driver = type(self._device).__name__
        return f"<LumaDisplay {driver} {width}x{height} on {self._wiring.where} {state}>"

    def _raise_failure(self) -> None:
        failed = self._pusher.take_error()
        if failed is not None:
            raise failed

    def _push(self, screen: Screen) -> None:
        """Draw ``screen`` and send it to the device: on the worker's thread only."""
        try:
            image, kind = self._draw(screen)
            started = time.perf_counter()
            frame = image if self._mode == "1" else image.convert(self._mode)  # colour panels
            try:
                self._device.display(frame)
            except self._errors as exc:
                raise display_error(exc, self._wiring, None) from exc
        except Exception:
            self._wanted = None  # not on the panel: the same screen asked again is sent again
            raise
        self._last_push_ms = (time.perf_counter() - started) * 1000
        self._last_screen, self._last_image = screen, image
        self._frames[kind] += 1

    def _draw(self, screen: Screen) -> tuple[Image.Image, str]:
        old, image = self._last_screen, self._last_image
        if old is not None and image is not None and can_redraw_countdown(old, screen):
            return redraw_countdown(image, screen, self._size), "countdown"
        return render_screen(screen, self._size), "full"


# --- building the device --------------------------------------------------------------------


def _check_panel(cfg: DisplayConfig, wiring: Wiring) -> None:
    sizes = PANEL_SIZES.get(cfg.driver)
    if sizes is None:
        raise DisplayError(
            f"unknown display.driver {cfg.driver!r}; use one of {DRIVERS}", device=wiring.path
        )
    if (cfg.width, cfg.height) not in sizes:
        others = [name for name, fits in PANEL_SIZES.items() if (cfg.width, cfg.height) in fits]
        raise DisplayError(
            f"{cfg.driver} does not drive a {cfg.width}x{cfg.height} panel: "
            f"set display.driver to one of {others}, or the panel's real size",
            device=wiring.path,
        )
    if not 0 <= cfg.contrast <= 255:
        raise DisplayError(
            f"display.contrast must be 0 to 255, got {cfg.contrast}", device=wiring.path
        )


def _serial_interface(
    cfg: DisplayConfig, bus: Any, spi: Any, pin_factory: Any, closers: list[Callable[[], object]]
) -> Any:
    """luma's I²C or SPI interface for ``cfg``; the SPI pins' closer goes into ``closers``."""
    if cfg.interface == "i2c":
        from luma.core.interface.serial import i2c

        return i2c(bus=bus, port=cfg.i2c_port, address=cfg.address)
    from luma.core.interface.serial import spi as luma_spi

    pins = GpiozeroPins(pin_factory=pin_factory)
    closers.append(pins.close)
    return luma_spi(
        spi=spi,
        gpio=pins,
        port=cfg.spi_port,
        device=cfg.spi_device,
        gpio_DC=cfg.gpio_dc,
        gpio_RST=cfg.gpio_rst,
    )


def _device(cfg: DisplayConfig, serial_interface: Any) -> Any:
    """The luma.oled driver object; it sends the chip's start-up sequence at once."""
    from luma.oled import device as oled

    driver = getattr(oled, cfg.driver)
    width, height, rotate = cfg.width, cfg.height, int(cfg.rotate)
    if cfg.driver == "sh1107" and width > height:
        width, height, rotate = height, width, (rotate + 1) % 4
    return driver(serial_interface, width=width, height=height, rotate=rotate)


class GpiozeroPins:
    """The RPi.GPIO calls luma's SPI interface makes for D/C and RESET, done with gpiozero.

    gpiozero works on every Pi (lgpio on the Pi 5, where RPi.GPIO does not) and takes
    ``MockFactory`` in tests. Pins are BCM numbers, as luma's are.
    """

    OUT = "out"
    IN = "in"
    LOW = 0
    HIGH = 1

    def __init__(self, *, pin_factory: Any = None) -> None:
        self._factory = pin_factory
        self._pins: dict[int, Any] = {}

    def setup(self, pin: int, mode: str) -> None:
        """Make BCM ``pin`` an output, driven low."""
        from gpiozero import DigitalOutputDevice

        if mode != self.OUT:
            raise ValueError(f"only outputs are supported, not {mode!r}")
        self._pins[pin] = DigitalOutputDevice(pin, pin_factory=self._factory)

    def output(self, pin: int, value: int) -> None:
        """Drive BCM ``pin`` high (non-zero) or low."""
        self._pins[pin].value = 1 if value else 0

    def cleanup(self, pins: Sequence[int] | None = None) -> None:
        """Release ``pins`` (every pin when None)."""
        for number in list(self._pins) if pins is None else pins:
            pin = self._pins.pop(number, None)
            if pin is not None:
                pin.close()

    def close(self) -> None:
        """Release every pin; safe to call twice."""
        self.cleanup()


def _close_all(closers: Sequence[Callable[[], object]]) -> None:
    """Run every closer, each on its own so one failure cannot keep another resource open."""
    for close in closers:
        try:
            close()
        except Exception:  # a half-open bus may refuse to close; what failed is logged
            log.exception("display:close %r failed", close)
