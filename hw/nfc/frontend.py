"""Opening an nfcpy frontend, with errors that carry the fix in words.

Shared by the badge reader (:mod:`hw.nfc.nfcpy_reader`), the NFC plate
(:mod:`hw.nfc.ndef_link`) and ``payterm doctor``.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

from hw.errors import NfcError

__all__ = ["DEFAULT_TARGETS", "FrontendFactory", "describe_reader", "nfc_error", "open_frontend"]

#: What a reader polls for: ISO 14443 A (MIFARE, NTAG, DESFire), B, and FeliCa.
DEFAULT_TARGETS = ("106A", "106B", "212F")

FrontendFactory = Callable[[str], Any]


def nfc_error(path: str, exc: BaseException) -> NfcError:
    """The :class:`NfcError` for ``exc`` raised by nfcpy on ``path``, with the fix in words."""
    return NfcError(_explain(path, exc), device=path)


def open_frontend(path: str, *, frontend_factory: FrontendFactory | None = None) -> Any:
    """Open nfcpy's ``ContactlessFrontend`` on ``path``; blocks briefly (USB/UART probing).

    Raises :class:`NfcError` saying what to check when no reader answers there.
    """
    if not path:
        raise NfcError('no NFC reader configured: set [nfc] path, e.g. "usb" or "tty:AMA0:pn532"')
    factory = frontend_factory or _nfcpy_frontend()
    try:
        return factory(path)
    except (OSError, ValueError, TypeError) as exc:
        raise nfc_error(path, exc) from exc


def describe_reader(path: str, *, frontend_factory: FrontendFactory | None = None) -> str:
    """Open the reader on ``path``, name it and close it again (for ``payterm doctor``)."""
    clf = open_frontend(path, frontend_factory=frontend_factory)
    try:
        return str(clf.device)
    finally:
        clf.close()


def _nfcpy_frontend() -> FrontendFactory:
    try:
        import nfc
    except ImportError as exc:
        raise NfcError("nfcpy is not installed: pip install 'payterm[pi]'") from exc
    factory: FrontendFactory = nfc.ContactlessFrontend
    return factory


def _explain(path: str, exc: BaseException) -> str:
    """What went wrong on ``path`` and what to do about it."""
    code = getattr(exc, "errno", None)
    if "libusb" in str(exc):
        return "libusb-1.0 is missing: sudo apt-get install libusb-1.0-0"
    if isinstance(exc, ValueError | TypeError):
        return (
            f"not an nfcpy reader path: {path!r}; use usb, usb:VVVV:PPPP, tty:AMA0:pn532 "
            f"or udp:HOST:PORT ({exc})"
        )
    if code == errno.EACCES:
        return (
            "permission denied: add the udev rule from docs/hardware/nfc.md (USB readers) or "
            "add the user to the dialout group (UART), then replug the reader or log in again"
        )
    if code == errno.EBUSY:
        return (
            "the reader is busy: another program or a kernel driver holds it; run "
            "`sudo modprobe -r pn533_usb pn533 nfc`, blacklist those modules, and stop pcscd"
        )
    if code == errno.ENODEV:
        return _not_found(path)
    if code in (errno.EIO, errno.ETIMEDOUT):
        return "the NFC reader stopped answering: check its cable and power"
    return f"the NFC reader failed: {exc}"


def _not_found(path: str) -> str:
    if path.startswith("tty:"):
        port = path.split(":")[1] if path.count(":") >= 1 else "?"
        return (
            f"no PN532 answered on /dev/tty{port}: check TX→RXD (GPIO15) and RX→TXD (GPIO14), "
            "3.3 V and GND, the board's mode switches on HSU/UART, and enable the serial port "
            "(raspi-config: login shell over serial off, serial hardware on)"
        )
    return (
        "no NFC reader found: plug it in and check `lsusb` (Sony RC-S380 054c:06c3, "
        "ACR122U 072f:2200); if it is listed, see docs/hardware/nfc.md for udev and pn533"
    )
