"""The slip printer backend over python-escpos: the printer object and its status handling.

:func:`open_escpos_printer` builds it from ``[printer]`` (the connection from
:mod:`hw.printer.escpos_connections`); :class:`EscposPrinter` prints slips on any
python-escpos printer object (``Dummy`` in tests), written by
:class:`hw.printer.escpos_slip.SlipWriter`; :class:`NoPrinter` stands in when
``printer.connection = "none"``. Status requests (``DLE EOT``) are read by
:mod:`hw.printer.escpos_status`.
"""

from __future__ import annotations

import asyncio
import errno
import logging
from pathlib import Path
from typing import Any

from hw.base import ClosesAsync, PrinterStatus
from hw.errors import PaperOut, PrinterError, PrinterOffline
from hw.printer.escpos_connections import PrinterPlace, connect
from hw.printer.escpos_loader import load_escpos
from hw.printer.escpos_slip import DOTS_PER_COLUMN, SlipWriter
from hw.printer.escpos_status import read_status
from terminal.config.model import PrinterConfig
from terminal.views.model import Slip

__all__ = ["EscposPrinter", "NoPrinter", "open_escpos_printer"]

log = logging.getLogger(__name__)

STOPPED_ANSWERING = "stopped answering status requests: check its power and cable"


def open_escpos_printer(
    cfg: PrinterConfig, *, printer: Any = None, cache_dir: Path | None = None
) -> EscposPrinter | NoPrinter:
    """The printer ``[printer]`` describes; the connection opens on the first slip or query.

    ``printer`` replaces the python-escpos object the connection would make (a ``Dummy`` in
    tests). A printer that is missing or off does not stop the terminal: printing raises
    ``PrinterOffline`` with the fix in words, and the next slip tries again.

    :raises ConfigError: a setting cannot work (bad USB id, no network host).
    :raises PrinterError: the profile lacks the code page, or a library is missing.
    """
    if cfg.connection == "none" and printer is None:
        return NoPrinter()
    load_escpos(cache_dir)
    if printer is None:
        printer, place = connect(cfg)
    else:
        place = PrinterPlace(f"escpos:{type(printer).__name__}", "printer unreachable")
    _warn_if_too_wide(cfg, printer)
    return EscposPrinter(
        printer=printer,
        columns=cfg.columns,
        native_qr=cfg.native_qr,
        code_page=cfg.code_page,
        check_status=cfg.connection != "file",
        place=place,
    )


def _warn_if_too_wide(cfg: PrinterConfig, printer: Any) -> None:
    media = printer.profile.profile_data.get("media", {}).get("width", {})
    dots = media.get("pixels")
    if isinstance(dots, int) and cfg.columns * DOTS_PER_COLUMN > dots:
        log.warning(
            "printer:columns %d need %d dots but profile %r prints %d: lines will wrap",
            cfg.columns, cfg.columns * DOTS_PER_COLUMN, printer.profile.profile_data.get("name"),
            dots,
        )  # fmt: skip


# --- no printer -----------------------------------------------------------------------------


class NoPrinter(ClosesAsync):
    """Stands in when no printer is configured: reports offline and prints nothing."""

    _DETAIL = 'no printer: printer.connection = "none"'

    def __init__(self) -> None:
        self._closed = False

    async def print_slip(self, slip: Slip) -> None:
        """Print nothing; always raises ``PrinterOffline`` so no slip is taken as printed."""
        raise PrinterOffline(self._DETAIL, device="none")

    def status(self) -> PrinterStatus:
        """Always offline, with the reason."""
        return PrinterStatus(online=False, paper=True, detail=self._DETAIL)

    async def aquery_status(self) -> PrinterStatus:
        """The same as :meth:`status`."""
        return self.status()

    async def aclose(self) -> None:
        """Nothing to release; idempotent."""
        self._closed = True

    def __repr__(self) -> str:
        return f"<NoPrinter {'closed' if self._closed else 'open'}>"


# --- the printer ----------------------------------------------------------------------------


class EscposPrinter(ClosesAsync):
    """Prints :class:`Slip` s on an ESC/POS printer; implements :class:`hw.base.Printer`.

    ``printer`` is a python-escpos printer object (``Usb``, ``Serial``, ``Network``, ``File``;
    ``Dummy`` or the emulated printer in tests), ``place`` names it in messages. Text is sent
    in ``code_page`` (CP866 by default, selected with ``ESC t`` at the start of every copy at
    the number the profile gives); characters it lacks go through
    :func:`hw.printer.escpos_slip.printable_text`. Lines wider than ``columns`` are
    word-wrapped. The QR prints with the printer's own ``GS ( k`` when ``native_qr`` and the
    profile has it, else as a raster image; the barcode with ``GS k`` when the profile has
    it, else as an image (:class:`hw.printer.escpos_slip.SlipWriter`).

    When ``check_status`` is set, the printer is asked for its status (``DLE EOT``) before
    every copy and after the last: ``PaperOut`` / ``PrinterOffline`` before anything is
    sent, and a slip the printer stopped in the middle of (paper ran out, cable pulled) is
    reported rather than taken as printed. A printer that never answers is printed on
    without asking again; one that answered and falls silent is offline. After a connection
    error the next slip or query opens the connection again.

    Loop-only. ``print_slip()`` runs the blocking I/O in a worker thread, one slip at a time.
    """

    def __init__(
        self,
        *,
        printer: Any,
        columns: int = 32,
        native_qr: bool = True,
        code_page: str = "CP866",
        check_status: bool = True,
        place: PrinterPlace | None = None,
    ) -> None:
        from escpos import exceptions

        self._printer = printer
        self._place = place or PrinterPlace(f"escpos:{type(printer).__name__}", "unreachable")
        self._writer = SlipWriter(
            printer, columns=columns, native_qr=native_qr, code_page=code_page
        )
        self._check_status = check_status
        # The first is "could not open"; OSError covers usb.core.USBError and
        # serial.SerialException, which derive from it.
        self._offline_errors: tuple[type[Exception], ...] = (
            exceptions.DeviceNotFoundError,
            OSError,
        )
        self._errors: tuple[type[Exception], ...] = (exceptions.Error, ValueError)
        self._lock = asyncio.Lock()
        self._status = PrinterStatus(online=True, paper=True, detail="not checked yet")
        self._answered_before = False
        self._silent = False  # never answered on this connection: do not wait on it again
        self._closed = False
        if native_qr and not self._writer.native_qr:
            log.info("printer:profile has no native QR; QR codes print as images")
        try:
            printer.magic.encoder.get_encoding_name(code_page)
        except ValueError as exc:
            raise PrinterError(f"profile has no {code_page}", device=self.device) from exc

    @property
    def device(self) -> str:
        """Where the printer is: "usb:0416:5011", "serial:/dev/…", "tcp:host:port", "file:…"."""
        return self._place.device

    @property
    def is_closed(self) -> bool:
        """True once ``aclose()`` ran."""
        return self._closed

    async def print_slip(self, slip: Slip) -> None:
        """Print every copy of ``slip``, each ending with a cut.

        :raises PrinterOffline: closed, unreachable, or the connection failed while printing.
        :raises PaperOut: no paper or cover open (before a copy: nothing of it was sent).
        :raises PrinterError: the printer or python-escpos refused a command, or a library
            is missing.
        """
        if self._closed:
            raise PrinterOffline("printer is closed", device=self.device)
        async with self._lock:
            await asyncio.to_thread(self._print_blocking, slip)

    def status(self) -> PrinterStatus:
        """What the printer said at the last check or print; never blocks."""
        return self._status

    async def aquery_status(self) -> PrinterStatus:
        """Ask the printer now (in a worker thread) and return what it says.

        An unreachable printer is a status (offline, with the fix in words), not an error;
        :raises PrinterError: only when a library is missing or broken.
        """
        if self._closed:
            return PrinterStatus(False, self._status.paper, "printer is closed")
        async with self._lock:
            return await asyncio.to_thread(self._query_blocking)

    async def aclose(self) -> None:
        """Close the printer's connection; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            self._printer.close()
        except (*self._offline_errors, *self._errors) as exc:
            log.warning("printer:close failed on %s: %r", self.device, exc)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        writer = self._writer
        qr = "native QR" if writer.native_qr else "image QR"
        return (
            f"<EscposPrinter {self.device} {writer.columns} cols {writer.code_page} {qr} {state}>"
        )

    # --- worker thread ----------------------------------------------------------------------
    # Everything below runs in asyncio.to_thread under the lock; it assigns self._status (an
    # immutable value), which status() reads from the loop.

    def _print_blocking(self, slip: Slip) -> None:
        for copy in range(slip.copies):
            self._ensure_ready(reconnect=copy == 0)
            try:
                self._writer.write_copy(slip)
            except (*self._offline_errors, *self._errors) as exc:
                raise self._translate(exc) from exc
        self._ensure_ready()  # the printer took the last copy whole (no jam, paper, cable)

    def _ensure_ready(self, *, reconnect: bool = False) -> None:
        if not self._check_status or self._silent:
            return
        status, cause, dropped = self._refresh()
        if dropped and reconnect:
            # Nothing of this slip is sent yet: a connection the printer closed while idle
            # (or a printer plugged back in) gets one fresh attempt.
            status, cause, dropped = self._refresh()
        if not status.paper:
            raise PaperOut(status.detail, device=self.device) from cause
        if not status.online:
            raise PrinterOffline(status.detail, device=self.device) from cause

    def _query_blocking(self) -> PrinterStatus:
        if self._check_status and not self._silent:
            self._refresh()
        return self._status

    def _refresh(self) -> tuple[PrinterStatus, BaseException | None, bool]:
        """Ask the printer; the status, the error behind it, and whether it disconnected."""
        try:
            reading = read_status(self._printer)
        except self._offline_errors as exc:
            self._lost(exc)
            # A connection that broke is worth one more try; one that did not open is not.
            return self._status, exc, not isinstance(exc, self._offline_errors[0])
        except self._errors as exc:
            raise self._translate(exc) from exc
        if reading.answered:
            self._answered_before = True
            self._status = reading.to_status()
        elif self._answered_before:
            self._disconnect()
            self._status = PrinterStatus(False, self._status.paper, STOPPED_ANSWERING)
            return self._status, None, True
        else:
            self._silent = True
            self._status = reading.to_status()
            log.warning("printer:status %s does not answer status requests", self.device)
        return self._status, None, False

    def _translate(self, exc: BaseException) -> PrinterError:
        """The hw error for a python-escpos, pyusb, pyserial or socket error."""
        if isinstance(exc, self._offline_errors):
            return self._lost(exc)
        if type(exc).__name__ == "NoBackendError":  # pyusb found no libusb
            return PrinterError("libusb is missing: apt install libusb-1.0-0", device=self.device)
        return PrinterError(f"printing failed: {exc!r}", device=self.device)

    def _lost(self, exc: BaseException) -> PrinterOffline:
        """Forget the connection after ``exc``; the offline error to raise, status updated."""
        self._disconnect()
        message = self._explain(exc)
        self._status = PrinterStatus(False, self._status.paper, message)
        return PrinterOffline(message, device=self.device)

    def _explain(self, exc: BaseException) -> str:
        from escpos.exceptions import DeviceNotFoundError

        if not isinstance(exc, DeviceNotFoundError):
            return f"connection lost: {exc}"
        cause = exc.__cause__ or exc.__context__
        denied = getattr(cause, "errno", None) in (errno.EACCES, errno.EPERM)
        denied = denied or "ermission denied" in str(exc) or "ccess denied" in str(exc)
        return self._place.denied if denied and self._place.denied else self._place.missing

    def _disconnect(self) -> None:
        try:
            self._printer.close()
        except (*self._offline_errors, *self._errors) as exc:
            log.debug("printer:close after an error on %s: %r", self.device, exc)
        # python-escpos leaves a failed device at None, which it never reopens; False makes
        # the next write or read open the connection again.
        self._printer.device = False
        self._silent = False
