"""How the customer display is reached, and what to check or set when it does not answer.

:class:`Wiring` names the bus, address and pins in messages and ``status()``;
:func:`display_error` turns a failure of luma, a bus library or gpiozero into a
:class:`DisplayError` whose message says what to do.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

from hw.errors import DisplayError
from terminal.config.model import DisplayConfig

__all__ = ["Wiring", "display_error", "library_errors"]


@dataclass(frozen=True, slots=True)
class Wiring:
    """How the display is reached: what error messages and ``status()`` name."""

    interface: str  # "i2c", "spi" or "dummy"
    path: str  # /dev/i2c-1, /dev/spidev0.0, or a name for a pseudo device
    address: int | None = None  # I²C only
    pins: str = ""  # SPI only: "D/C GPIO24, RESET GPIO25"

    @property
    def where(self) -> str:
        """``i2c-1 at 0x3C``, ``spidev0.0 (D/C GPIO24, RESET GPIO25)`` or the path."""
        name = self.path.removeprefix("/dev/")
        if self.address is not None:
            return f"{name} at 0x{self.address:02X}"
        return f"{name} ({self.pins})" if self.pins else name

    @classmethod
    def of(cls, cfg: DisplayConfig) -> Wiring:
        """The wiring ``cfg`` describes."""
        if cfg.interface == "spi":
            pins = f"D/C GPIO{cfg.gpio_dc}, RESET GPIO{cfg.gpio_rst}"
            return cls("spi", f"/dev/spidev{cfg.spi_port}.{cfg.spi_device}", pins=pins)
        return cls("i2c", f"/dev/i2c-{cfg.i2c_port}", address=cfg.address)


def display_error(exc: BaseException, wiring: Wiring, cfg: DisplayConfig | None) -> DisplayError:
    """``exc`` from luma, a bus library or gpiozero as a DisplayError saying what to do."""
    if isinstance(exc, DisplayError):
        return exc
    return DisplayError(_advice(exc, wiring, cfg), device=wiring.path)


def _advice(exc: BaseException, wiring: Wiring, cfg: DisplayConfig | None) -> str:
    from luma.core.error import DeviceNotFoundError, DevicePermissionError

    code = getattr(exc, "errno", None)
    text = str(exc)
    if type(exc).__module__.startswith("gpiozero"):
        return (
            f"the SPI pins ({wiring.pins}) could not be claimed: {exc} "
            "(on a Pi, install lgpio: pip install lgpio; or free the pins)"
        )
    if isinstance(exc, ImportError):
        return _missing_library(exc, wiring)
    if isinstance(exc, DevicePermissionError) or code in (errno.EACCES, errno.EPERM):
        return _no_permission(wiring)
    if wiring.interface == "i2c" and (
        "on address" in text or code in (errno.EREMOTEIO, errno.EIO, errno.ENXIO)
    ):
        return _no_answer(wiring)
    if isinstance(exc, DeviceNotFoundError) or code == errno.ENOENT:
        return _no_bus(wiring, cfg)
    return f"the display on {wiring.where} failed: {exc!r}"


def _no_answer(wiring: Wiring) -> str:
    other = 0x3D if wiring.address == 0x3C else 0x3C
    return (
        f"no display answered on {wiring.where}: check SDA→GPIO2, SCL→GPIO3, "
        f"or set display.address = 0x{other:02X}"
    )


def _no_bus(wiring: Wiring, cfg: DisplayConfig | None) -> str:
    if wiring.interface == "i2c":
        return (
            f"no I²C bus {wiring.path}: enable I²C (sudo raspi-config nonint do_i2c 0, "
            "or dtparam=i2c_arm=on in /boot/firmware/config.txt) and reboot, "
            "or set display.i2c_port"
        )
    port = cfg.spi_port if cfg else 0
    return (
        f"no SPI device {wiring.path}: enable SPI (sudo raspi-config nonint do_spi 0, "
        f"or dtparam=spi=on) and reboot, or set display.spi_port / display.spi_device "
        f"(MOSI→GPIO10, SCLK→GPIO11, CS→CE{port})"
    )


def _no_permission(wiring: Wiring) -> str:
    group = "i2c" if wiring.interface == "i2c" else "spi"
    return (
        f"permission denied on {wiring.path}: add the terminal's user to the {group} group "
        f"(sudo adduser payterm {group}) and restart it"
    )


def _missing_library(exc: ImportError, wiring: Wiring) -> str:
    name = exc.name or str(exc)
    debian = {"spidev": "python3-spidev", "smbus2": "python3-smbus2"}.get(name, "")
    hint = f" (Debian: {debian})" if debian else ""
    return (
        f"the display on {wiring.where} needs the Python package {name}: pip install {name}{hint}"
    )


def library_errors(cfg: DisplayConfig) -> tuple[type[Exception], ...]:
    """What opening the display can raise: luma's errors, the bus's, a missing library's, and
    (SPI only) gpiozero's; AssertionError is how luma refuses a value it cannot take."""
    from luma.core.error import Error as LumaError

    errors: tuple[type[Exception], ...] = (LumaError, OSError, ImportError, AssertionError)
    if cfg.interface == "spi":
        from gpiozero.exc import GPIOZeroError

        errors += (GPIOZeroError,)
    return errors
