"""The slip printer backend over python-escpos: USB, serial, network and device-file printers.

:func:`open_escpos_printer` builds it from ``[printer]``; :class:`EscposPrinter` prints
slips on any python-escpos printer object (``Dummy`` in tests); :class:`NoPrinter` stands in
when ``printer.connection = "none"``. Status requests (``DLE EOT``) are read by
:mod:`hw.printer.escpos_status`.
"""

from __future__ import annotations

import asyncio
import codecs
import errno
import logging
import os
import shutil
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from hw.base import ClosesAsync, PrinterStatus
from hw.errors import PaperOut, PrinterError, PrinterOffline
from hw.printer.escpos_status import read_status
from terminal.config.model import PrinterConfig
from terminal.errors import ConfigError
from terminal.views.model import Slip, SlipLine

__all__ = [
    "EscposPrinter",
    "NoPrinter",
    "PrinterPlace",
    "default_cache_dir",
    "load_escpos",
    "open_escpos_printer",
    "printable_text",
]

log = logging.getLogger(__name__)

#: Characters the usual Cyrillic code pages lack, and what is printed instead.
SUBSTITUTES = {
    "₽": "руб.",
    "—": "-",
    "–": "-",
    "«": '"',
    "»": '"',
    "“": '"',
    "”": '"',
    "„": '"',
    "‘": "'",
    "’": "'",
    "…": "...",
    "\u00a0": " ",
    "\u202f": " ",
    "×": "x",
}
DOTS_PER_COLUMN = 12  # font A is 12 dots wide: 32 columns on 58 mm paper, 48 on 80 mm
QR_SHARE_OF_WIDTH = 0.6  # a slip QR this wide scans from arm's length without filling the slip
QR_DOT_SIZES = range(3, 9)  # GS ( k module sizes that print crisply on 203 dpi heads
QR_QUIET_MODULES = 4  # image QR: the standard quiet zone (the native one adds its own)
BARCODE_MODULE_DOTS = 2  # the narrowest bar python-escpos allows (0.25 mm at 203 dpi)
BARCODE_HEIGHT_DOTS = 64
BARCODE_QUIET_MODULES = 10  # CODE128 needs 10 blank modules each side to scan
NETWORK_TIMEOUT_S = 5.0  # connect, send and status reads on a LAN printer; a dead one fails fast
USB_WRITE_TIMEOUT_MS = 10_000  # python-escpos's default 0 waits forever on a stalled printer
USB_PRINTER_CLASS = 7  # USB interface class of printers
PICKLE_DIR_ENV = "ESCPOS_CAPABILITIES_PICKLE_DIR"
STOPPED_ANSWERING = "stopped answering status requests: check its power and cable"


def printable_text(text: str, encoding: str = "cp866") -> str:
    """``text`` with characters ``encoding`` lacks replaced (``₽`` → ``руб.``) or by ``?``."""
    out = []
    for char in text:
        char = SUBSTITUTES.get(char, char)
        try:
            char.encode(encoding)
        except UnicodeEncodeError:
            char = "?"
        out.append(char)
    return "".join(out)


@dataclass(frozen=True, slots=True)
class PrinterPlace:
    """Where a printer is, for messages: ``device`` ("usb:0416:5011") and the fixes in words."""

    device: str
    missing: str  # said when the printer cannot be reached
    denied: str = ""  # said when the device exists but the service may not open it


# --- loading python-escpos ------------------------------------------------------------------


def default_cache_dir() -> Path | None:
    """``$XDG_CACHE_HOME/payterm/escpos`` (``~/.cache/...``), or None without a home."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:
            return None
    return Path(base) / "payterm" / "escpos"


def load_escpos(cache_dir: Path | None = None) -> float:
    """Import python-escpos once; returns the milliseconds it took (0.0 when already loaded).

    python-escpos parses its printer-capabilities database at import (≈170 ms on a Pi-class
    CPU) unless it finds a pickle of it in ``ESCPOS_CAPABILITIES_PICKLE_DIR``: that is set to
    ``cache_dir`` (default :func:`default_cache_dir`) for the import, unless already set.
    The temporary folder python-escpos makes at every import is removed again.
    """
    if "escpos.capabilities" in sys.modules:
        return 0.0
    folder = cache_dir if cache_dir is not None else default_cache_dir()
    started = time.perf_counter()
    with _pickle_dir(folder), _removing_stray_tempdirs():
        import escpos.printer  # noqa: F401
    return (time.perf_counter() - started) * 1000


@contextmanager
def _pickle_dir(folder: Path | None) -> Iterator[None]:
    if PICKLE_DIR_ENV in os.environ or folder is None:
        yield
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.warning("printer:cache %s unusable (%s); python-escpos starts slower", folder, exc)
    if not os.access(folder, os.W_OK):
        yield
        return
    os.environ[PICKLE_DIR_ENV] = str(folder)
    try:
        yield
    finally:
        del os.environ[PICKLE_DIR_ENV]


@contextmanager
def _removing_stray_tempdirs() -> Iterator[None]:
    # NOTE: escpos.capabilities calls tempfile.mkdtemp() at import even when the pickle
    # folder is set (the default argument of environ.get is evaluated), leaving one folder
    # in /tmp per process. Record the folders it makes and remove them afterwards.
    made: list[str] = []
    original = tempfile.mkdtemp

    def recording_mkdtemp(*args: Any, **kwargs: Any) -> Any:
        path = original(*args, **kwargs)
        if sys._getframe(1).f_globals.get("__name__") == "escpos.capabilities":
            made.append(str(path))
        return path

    tempfile.mkdtemp = recording_mkdtemp
    try:
        yield
    finally:
        tempfile.mkdtemp = original
        for path in made:  # without a pickle folder, the pickle went here: only read at import
            shutil.rmtree(path, ignore_errors=True)


# --- the factory ----------------------------------------------------------------------------


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
        printer, place = _connect(cfg)
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


def _connect(cfg: PrinterConfig) -> tuple[Any, PrinterPlace]:
    if cfg.connection == "usb":
        return _usb_printer(cfg)
    if cfg.connection == "serial":
        return _serial_printer(cfg)
    if cfg.connection == "network":
        return _network_printer(cfg)
    if cfg.connection == "file":
        return _file_printer(cfg)
    raise ConfigError(f"unknown connection {cfg.connection!r}", key="printer.connection")


def _usb_printer(cfg: PrinterConfig) -> tuple[Any, PrinterPlace]:
    from escpos.printer import Usb

    if not Usb.is_usable():
        raise PrinterError("USB printers need pyusb: pip install 'payterm[pi]'", device="usb")
    vendor = _usb_id(cfg.usb_vendor, "printer.usb_vendor")
    product = _usb_id(cfg.usb_product, "printer.usb_product")
    usb_args: dict[str, Any] = {}
    if vendor is None and product is None:
        usb_args["custom_match"] = _is_usb_printer
        ids, which = "any", "no USB printer found"
    else:
        ids = f"{cfg.usb_vendor or '*'}:{cfg.usb_product or '*'}".lower()
        which = f"no USB printer {ids} found"
    printer = _usb_class()(
        idVendor=vendor,
        idProduct=product,
        usb_args=usb_args,
        timeout=USB_WRITE_TIMEOUT_MS,
        profile=cfg.profile,
    )
    place = PrinterPlace(
        f"usb:{ids}",
        f"{which}: check the cable or printer.usb_vendor/usb_product",
        f"USB printer {ids}: permission denied: install the udev rule in docs/hardware/printer.md",
    )
    return printer, place


def _serial_printer(cfg: PrinterConfig) -> tuple[Any, PrinterPlace]:
    from escpos.printer import Serial

    if not Serial.is_usable():
        raise PrinterError("serial printers need pyserial: pip install 'payterm[pi]'")
    path = cfg.serial_device
    printer = _serial_class()(devfile=path, baudrate=cfg.baudrate, profile=cfg.profile)
    place = PrinterPlace(
        f"serial:{path}",
        f"no serial printer at {path}: check the cable, or set printer.serial_device",
        f"{path}: permission denied: add the service user to the dialout group",
    )
    return printer, place


def _network_printer(cfg: PrinterConfig) -> tuple[Any, PrinterPlace]:
    if not cfg.host:
        raise ConfigError("a network printer needs its address", key="printer.host")
    printer = _network_class()(
        host=cfg.host, port=cfg.port, timeout=NETWORK_TIMEOUT_S, profile=cfg.profile
    )
    where = f"{cfg.host}:{cfg.port}"
    place = PrinterPlace(
        f"tcp:{where}",
        f"no printer answered at {where}: check it is on and cabled, or printer.host/port",
    )
    return printer, place


def _file_printer(cfg: PrinterConfig) -> tuple[Any, PrinterPlace]:
    from escpos.printer import File

    path = cfg.file
    printer = File(devfile=path, profile=cfg.profile)
    place = PrinterPlace(
        f"file:{path}",
        f"cannot open {path}: check the cable (the usblp driver makes it), or set printer.file",
        f"{path}: permission denied: add the service user to the lp group",
    )
    return printer, place


def _usb_id(text: str, key: str) -> int | None:
    if not text:
        return None
    try:
        value = int(text, 16)
    except ValueError:
        value = -1
    if not 0 < value <= 0xFFFF:
        raise ConfigError(f'must be 4 hex digits such as "0416", got {text!r}', key=key)
    return value


def _is_usb_printer(device: Any) -> bool:
    """pyusb ``custom_match``: the device has an interface of the printer class."""
    return any(iface.bInterfaceClass == USB_PRINTER_CLASS for conf in device for iface in conf)


def pick_bulk_endpoints(
    endpoints: Iterable[tuple[int, int]], in_ep: int, out_ep: int
) -> tuple[int, int]:
    """The first bulk IN and OUT endpoint among ``(bEndpointAddress, bmAttributes)`` pairs."""
    bulk = [address for address, attributes in endpoints if attributes & 0x03 == 0x02]
    ins = [address for address in bulk if address & 0x80]
    outs = [address for address in bulk if not address & 0x80]
    return (ins[0] if ins else in_ep), (outs[0] if outs else out_ep)


def _usb_class() -> Any:
    """python-escpos's ``Usb`` that uses the endpoints the printer declares."""
    import usb.core  # type: ignore[import-untyped]
    from escpos.printer import Usb

    class EndpointFindingUsb(Usb):  # type: ignore[misc]
        # NOTE: python-escpos writes to endpoint 0x01 and reads 0x82 unless told otherwise;
        # many printers use others (0x02/0x81, 0x03/0x84), so read them off interface 0.
        def open(self, raise_not_found: bool = True) -> None:
            super().open(raise_not_found)
            try:
                interface = self.device.get_active_configuration()[(0, 0)]
            except (usb.core.USBError, AttributeError, KeyError, TypeError):
                return
            pairs = [(ep.bEndpointAddress, ep.bmAttributes) for ep in interface]
            found = pick_bulk_endpoints(
                pairs, int(self.__dict__["in_ep"]), int(self.__dict__["out_ep"])
            )
            self.in_ep, self.out_ep = found

    return EndpointFindingUsb


def _serial_class() -> Any:
    """python-escpos's ``Serial`` that returns a status answer as soon as it arrives."""
    from escpos.printer import Serial

    class PromptSerial(Serial):  # type: ignore[misc]
        # NOTE: python-escpos reads 16 bytes, so pyserial waits out its whole timeout (1 s)
        # for the one byte a status answer has: a second per request, four per slip.
        def _read(self) -> bytes:
            first = bytes(self.device.read(1))
            return first + bytes(self.device.read(self.device.in_waiting)) if first else first

    return PromptSerial


def _network_class() -> Any:
    """python-escpos's ``Network`` that closes a failed socket and sends status requests at once."""
    import socket

    from escpos.exceptions import DeviceNotFoundError
    from escpos.printer import Network

    class ClosingNetwork(Network):  # type: ignore[misc]
        # NOTE: python-escpos's open() drops the socket of a failed connect without closing
        # it (a ResourceWarning and a file descriptor until the collector runs), and leaves
        # Nagle on.
        def open(self, raise_not_found: bool = True) -> None:
            if self._device:
                self.close()
            connection: Any = None
            try:
                connection = socket.create_connection((self.host, self.port), self.timeout)
                # A status request is 3 bytes the printer must see at once: without this,
                # Nagle holds it behind the unacknowledged slip bytes for a delayed ACK.
                connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError as exc:
                raise DeviceNotFoundError(f"Could not open socket for {self.host}: {exc}") from exc
            finally:
                self.device = connection

    return ClosingNetwork


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
    the number the profile gives); characters it lacks go through :func:`printable_text`.
    Lines wider than ``columns`` are word-wrapped. The QR prints with the printer's own
    ``GS ( k`` when ``native_qr`` and the profile has it, else as a raster image; the barcode
    with ``GS k`` when the profile has it, else as an image.

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
        self._columns = columns
        self._native_qr = native_qr and bool(printer.profile.supports("qrCode"))
        self._barcode_command = bool(printer.profile.supports("barcodeB"))
        raster = printer.profile.supports("bitImageRaster")
        self._image_impl = "bitImageRaster" if raster else "bitImageColumn"
        self._code_page = code_page
        self._encoding = codecs.lookup(code_page.lower()).name
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
        if native_qr and not self._native_qr:
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
        qr = "native QR" if self._native_qr else "image QR"
        return f"<EscposPrinter {self.device} {self._columns} cols {self._code_page} {qr} {state}>"

    # --- worker thread ----------------------------------------------------------------------
    # Everything below runs in asyncio.to_thread under the lock; it assigns self._status (an
    # immutable value), which status() reads from the loop.

    def _print_blocking(self, slip: Slip) -> None:
        for copy in range(slip.copies):
            self._ensure_ready(reconnect=copy == 0)
            try:
                self._print_copy(slip)
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

    def _print_copy(self, slip: Slip) -> None:
        printer = self._printer
        printer.hw("INIT")  # ESC @: every copy starts from the printer's defaults
        # python-escpos sends ESC t only when it believes the page changes; ESC @ (or a power
        # cycle) put the printer back on its default page, so make it send ESC t again.
        printer.magic.encoding = None
        printer.charcode(self._code_page)
        for line in slip.lines:
            self._print_line(line)
        if slip.qr:
            self._print_qr(slip.qr)
        if slip.barcode:
            self._print_barcode(slip.barcode)
        printer.set(align="left", bold=False, normal_textsize=True)
        printer.cut()

    def _print_line(self, line: SlipLine) -> None:
        self._printer.set(
            align=line.align,
            bold=line.bold,
            normal_textsize=not line.large,
            double_width=line.large,
            double_height=line.large,
        )
        width = self._columns // 2 if line.large else self._columns
        text = printable_text(line.text, self._encoding)
        parts = [text] if len(text) <= width else textwrap.wrap(text, width)
        for part in parts:
            self._printer.textln(part)

    def _print_qr(self, payload: str) -> None:
        from escpos.constants import QR_ECLEVEL_M

        printer = self._printer
        printer.set(align="center", bold=False, normal_textsize=True)
        dot_size = self._qr_dot_size(payload)
        if self._native_qr:
            # NOTE: python-escpos refuses center=True for native QR; ESC a (above) centres it.
            printer.qr(payload, ec=QR_ECLEVEL_M, size=dot_size, native=True)
        else:
            printer.image(_qr_image(payload, dot_size), impl=self._image_impl)
        printer.ln()

    def _qr_dot_size(self, payload: str) -> int:
        import segno

        qr = segno.make(payload, error="m", micro=False)
        modules = int(qr.symbol_size(scale=1, border=0)[0])
        target = int(self._columns * DOTS_PER_COLUMN * QR_SHARE_OF_WIDTH) // modules
        return max(QR_DOT_SIZES.start, min(QR_DOT_SIZES.stop - 1, target))

    def _print_barcode(self, code: str) -> None:
        paper_dots = self._columns * DOTS_PER_COLUMN
        if self._barcode_command:
            data = code128_data(code)
            modules = code128_modules(data) if data else 0
        else:
            bars = _code128_bars(code)
            data, modules = (None, 0) if bars is None else (bars, len(bars))
        if data is None:
            log.warning("printer:barcode %r is not printable CODE128; text only", code)
            return
        if (modules + 2 * BARCODE_QUIET_MODULES) * BARCODE_MODULE_DOTS > paper_dots:
            log.warning("printer:barcode %r is wider than the paper; text only", code)
            return
        if self._barcode_command:
            self._barcode_with_command(data)
        else:
            self._printer.set(align="center", bold=False, normal_textsize=True)
            self._printer.image(_barcode_image(data), impl=self._image_impl)
        self._printer.ln()

    def _barcode_with_command(self, data: str) -> None:
        # NOTE: _hw_barcode is what the public barcode() calls once it has picked the
        # renderer; barcode() itself also print()s that choice to stdout on every slip.
        self._printer._hw_barcode(
            data,
            "CODE128",
            height=BARCODE_HEIGHT_DOTS,
            width=BARCODE_MODULE_DOTS,
            pos="BELOW",
            font="A",
            align_ct=True,
            function_type="B",
        )


# --- CODE128 --------------------------------------------------------------------------------


def code128_data(code: str) -> str | None:
    """``code`` as ESC/POS ``GS k`` CODE128 data: code set B, and set C for digit runs.

    A run of digits switches to set C (two digits per symbol) where that is shorter: the
    whole code, 4 or more digits at either end, 6 or more in the middle. None when ``code``
    is empty, too long or has characters outside printable ASCII (or a brace, which ESC/POS
    reads as a code-set switch).
    """
    if not code or len(code) > 120 or not all(" " <= c <= "~" and c != "{" for c in code):
        return None
    out: list[str] = []
    current = ""
    for code_set, text in _code128_segments(code):
        if code_set != current:
            out.append("{" + code_set)
            current = code_set
        if code_set == "C":
            out.append("".join(chr(int(text[i : i + 2])) for i in range(0, len(text), 2)))
        else:
            out.append(text)
    return "".join(out)


def code128_modules(data: str) -> int:
    """Width in modules of ``GS k`` CODE128 ``data``: start, symbols, check (11 each), stop (13).

    Quiet zones are not included.
    """
    symbols = len(data) - data.count("{") - 1  # the first "{B"/"{C" is the start symbol
    return 11 * (symbols + 2) + 13


def _code128_segments(code: str) -> list[tuple[str, str]]:
    import re

    if code.isdigit() and len(code) >= 2:
        even = len(code) - len(code) % 2
        return [("C", code[:even])] + ([("B", code[even:])] if code[even:] else [])
    segments: list[tuple[str, str]] = []
    pos = 0
    for match in re.finditer(r"\d{4,}", code):
        at_edge = match.start() == 0 or match.end() == len(code)
        if not at_edge and len(match.group()) < 6:
            continue
        digits = match.group()
        odd = len(digits) % 2
        start = match.start() + (odd if match.start() > 0 else 0)  # odd digit stays in set B
        segments.append(("B", code[pos:start]))
        segments.append(("C", code[start : start + len(digits) - odd]))
        pos = start + len(digits) - odd
    segments.append(("B", code[pos:]))
    return [(code_set, text) for code_set, text in segments if text]


def _code128_bars(code: str) -> str | None:
    """The CODE128 symbol as a string of modules ("1" bar, "0" space), for printing as image."""
    if code128_data(code) is None:
        return None
    from barcode.codex import Code128  # type: ignore[import-untyped]

    return str(Code128(code).build()[0])


def _barcode_image(bars: str) -> Image.Image:
    """The bars as a picture with quiet zones, one module ``BARCODE_MODULE_DOTS`` wide."""
    row = [1] * BARCODE_QUIET_MODULES + [0 if b == "1" else 1 for b in bars]
    row += [1] * BARCODE_QUIET_MODULES
    width = len(row) * BARCODE_MODULE_DOTS
    image = Image.new("1", (width, BARCODE_HEIGHT_DOTS), 1)
    for index, white in enumerate(row):
        if not white:
            x = index * BARCODE_MODULE_DOTS
            image.paste(0, (x, 0, x + BARCODE_MODULE_DOTS, BARCODE_HEIGHT_DOTS))
    return image


def _qr_image(payload: str, dot_size: int) -> Image.Image:
    """The QR as a picture to print: black modules on white with the standard quiet zone."""
    import segno

    qr = segno.make(payload, error="m", micro=False)
    side = int(qr.symbol_size(scale=dot_size, border=QR_QUIET_MODULES)[0])
    image = Image.new("1", (side, side), 1)
    pixels = image.load()
    assert pixels is not None
    for y, row in enumerate(qr.matrix_iter(scale=dot_size, border=QR_QUIET_MODULES)):
        for x, dark in enumerate(row):
            if dark:
                pixels[x, y] = 0
    return image
