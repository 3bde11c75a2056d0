"""Hardware of the terminal: the small interfaces in :mod:`hw.base`, their errors, backends.

Importing ``hw`` loads none of the hardware libraries (gpiozero, luma, python-escpos); each
backend imports its library when it is built.
"""

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
from hw.emulated import EmulatedDevice, open_emulated_device
from hw.errors import (
    DisplayError,
    HardwareError,
    NfcError,
    PaperOut,
    PrinterError,
    PrinterOffline,
    ScannerError,
)

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
