"""The hardware error tree.

HardwareError
├── DisplayError          the display did not answer or could not draw
├── PrinterError          the printer could not print
│   ├── PrinterOffline    not connected, cable pulled, powered off
│   └── PaperOut          out of paper (or cover open)
├── ScannerError          the scanner is gone or sent something unusable
└── NfcError              the NFC reader is gone or failed
"""

from __future__ import annotations

__all__ = [
    "HardwareError",
    "DisplayError",
    "PrinterError",
    "PrinterOffline",
    "PaperOut",
    "ScannerError",
    "NfcError",
]


class HardwareError(Exception):
    """Base of every error a hardware backend raises; ``device`` names the part."""

    def __init__(self, message: str, *, device: str = "") -> None:
        super().__init__(f"{device}: {message}" if device else message)
        self.device = device


class DisplayError(HardwareError):
    """The display did not answer or could not draw."""


class PrinterError(HardwareError):
    """The printer could not print."""


class PrinterOffline(PrinterError):
    """The printer is not connected, powered off or its cable was pulled."""


class PaperOut(PrinterError):
    """The printer is out of paper or its cover is open."""


class ScannerError(HardwareError):
    """The scanner is gone or sent something unusable."""


class NfcError(HardwareError):
    """The NFC reader is gone or failed."""
