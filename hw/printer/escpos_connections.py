"""The connections to a slip printer: python-escpos's USB, serial, network and file printers.

:func:`connect` makes the python-escpos printer object ``[printer]`` describes, with the
:class:`PrinterPlace` that names it in messages. The connection itself opens on the first
write or status read. Three python-escpos classes are adjusted here (USB endpoints, serial
status reads, network sockets); each adjustment says why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hw.errors import PrinterError
from terminal.config.model import PrinterConfig
from terminal.errors import ConfigError

__all__ = ["PrinterPlace", "connect", "pick_bulk_endpoints"]

NETWORK_TIMEOUT_S = 5.0  # connect, send and status reads on a LAN printer; a dead one fails fast
USB_WRITE_TIMEOUT_MS = 10_000  # python-escpos's default 0 waits forever on a stalled printer
USB_PRINTER_CLASS = 7  # USB interface class of printers


@dataclass(frozen=True, slots=True)
class PrinterPlace:
    """Where a printer is, for messages: ``device`` ("usb:0416:5011") and the fixes in words."""

    device: str
    missing: str  # said when the printer cannot be reached
    denied: str = ""  # said when the device exists but the service may not open it


def connect(cfg: PrinterConfig) -> tuple[Any, PrinterPlace]:
    """The python-escpos printer for ``cfg`` (not opened yet) and where it is, for messages.

    :raises ConfigError: a setting cannot work (bad USB id, no network host).
    :raises PrinterError: a library the connection needs is missing.
    """
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
