"""The customer display backend over luma (SSD1306/SH1106 OLEDs, or luma's ``dummy`` device)."""

from __future__ import annotations

from typing import Any

from PIL import Image

from hw.base import ClosesAsync
from hw.errors import DisplayError
from hw.render import render_screen
from terminal.views.model import Screen

__all__ = ["LumaDisplay"]


class LumaDisplay(ClosesAsync):
    """Draws each :class:`Screen` on a luma device; implements :class:`hw.base.Display`.

    ``device`` is any luma device (``luma.oled.device.ssd1306(i2c(...))`` on the Pi,
    ``luma.core.device.dummy(width=128, height=64, mode="1")`` in the emulator); frames are
    drawn 1-bit and converted for colour devices. Loop-only:
    ``show()`` blocks for one frame transfer (about 25 ms over I2C at 400 kHz), which the loop
    can afford; it skips the transfer when the screen did not change.
    """

    def __init__(self, *, device: Any) -> None:
        from luma.core.error import Error as LumaError

        # What luma and the buses under it raise: its own tree, OSError from I2C/SPI
        # (smbus2, spidev) and ValueError for a frame it cannot take.
        self._errors: tuple[type[Exception], ...] = (LumaError, OSError, ValueError)
        self._device = device
        self._size: tuple[int, int] = (int(device.width), int(device.height))
        self._mode = str(getattr(device, "mode", "1"))
        self._last_screen: Screen | None = None
        self._last_image: Image.Image | None = None
        self._closed = False

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the display in pixels."""
        return self._size

    @property
    def last_image(self) -> Image.Image | None:
        """The last frame pushed to the device, or None before the first ``show()``."""
        return self._last_image

    @property
    def last_screen(self) -> Screen | None:
        """The last :class:`Screen` shown, or None before the first ``show()``."""
        return self._last_screen

    @property
    def is_closed(self) -> bool:
        """True once ``aclose()`` ran."""
        return self._closed

    def show(self, screen: Screen) -> None:
        """Render ``screen`` and push it, unless it equals the screen already shown.

        :raises DisplayError: the display is closed, or luma or the bus failed.
        """
        if self._closed:
            raise DisplayError("display is closed", device=self._name)
        if screen == self._last_screen:
            return
        image = render_screen(screen, self._size)
        frame = image if self._mode == "1" else image.convert(self._mode)  # colour panels
        try:
            self._device.display(frame)
        except self._errors as exc:
            raise DisplayError(f"could not draw: {exc!r}", device=self._name) from exc
        self._last_screen, self._last_image = screen, image

    def status(self) -> dict[str, object]:
        """What the self-check shows about the display."""
        return {
            "device": self._name,
            "size": list(self._size),
            "closed": self._closed,
            "screen": self._last_screen.name if self._last_screen else None,
        }

    async def aclose(self) -> None:
        """Blank the display and release its bus (luma ``cleanup()``); safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            self._device.cleanup()
        except self._errors as exc:
            raise DisplayError(f"cleanup failed: {exc!r}", device=self._name) from exc

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        width, height = self._size
        return f"<LumaDisplay {self._name} {width}x{height} {state}>"

    @property
    def _name(self) -> str:
        return f"luma:{type(self._device).__name__}"
