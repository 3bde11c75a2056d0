"""Hardware of the terminal: the small interfaces in :mod:`hw.base`, their errors, backends.

Importing ``hw`` loads none of the hardware libraries (gpiozero, luma, python-escpos); each
backend imports its library when it is built.
"""

from typing import TYPE_CHECKING, Any

from hw.base import (
    KEY_NAMES,
    ButtonName,
    Buttons,
    Display,
    KeyName,
    Keypad,
    NfcReader,
    Printer,
    PrinterStatus,
    Scanner,
)
from hw.errors import (
    DisplayError,
    HardwareError,
    NfcError,
    PaperOut,
    PrinterError,
    PrinterOffline,
    ScannerError,
)

if TYPE_CHECKING:
    from hw.emulated import EmulatedDevice, open_emulated_device


def __getattr__(name: str) -> Any:
    """Load the emulated device (and with it PIL and segno) only when it is asked for."""
    if name in ("EmulatedDevice", "open_emulated_device"):
        from hw import emulated

        return getattr(emulated, name)
    raise AttributeError(f"module 'hw' has no attribute {name!r}")


__all__ = [
    "KEY_NAMES",
    "ButtonName",
    "Buttons",
    "Display",
    "DisplayError",
    "EmulatedDevice",
    "HardwareError",
    "KeyName",
    "Keypad",
    "NfcError",
    "NfcReader",
    "PaperOut",
    "Printer",
    "PrinterError",
    "PrinterOffline",
    "PrinterStatus",
    "Scanner",
    "ScannerError",
    "open_emulated_device",
]
