"""open_escpos_printer: each connection, status requests, lost connections, widths, profiles."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import zxingcpp
from escpos.capabilities import get_profile_class
from escpos.printer import Dummy, File, Network, Serial, Usb

from hw.errors import PaperOut, PrinterError, PrinterOffline
from hw.printer.code128 import code128_data, code128_modules
from hw.printer.escpos_connections import pick_bulk_endpoints
from hw.printer.escpos_printer import EscposPrinter, NoPrinter, open_escpos_printer
from hw.printer.escpos_status import parse_reading, status_byte
from hw.printer.escpos_text import parse_escpos
from terminal.config.model import PrinterConfig
from terminal.errors import ConfigError
from terminal.views.model import Slip, SlipKind, SlipLine
from tests.contract.test_printer_contract import QR, LoopbackPrinter, make_slip

ALIPAY_TRADE_NO = "2025010122001412345678901234"  # 28 digits
SBP_QRC_ID = "AD100004BAL7227F9BNP6KNE007J9B3K"  # 32 letters and digits


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def fake() -> Iterator[LoopbackPrinter]:
    with LoopbackPrinter() as printer:
        yield printer


def _network(fake: LoopbackPrinter, **changes: object) -> EscposPrinter:
    cfg = replace(PrinterConfig(connection="network", host=fake.host, port=fake.port), **changes)
    printer = open_escpos_printer(cfg)
    assert isinstance(printer, EscposPrinter)
    return printer


def _decode(image: object) -> list[tuple[str, str]]:
    return [(str(b.format), b.text) for b in zxingcpp.read_barcodes(image, try_invert=False)]


# --- each connection: the python-escpos object it builds and its errors ----------------------


def test_usb_gets_the_ids_profile_and_a_write_timeout() -> None:
    cfg = PrinterConfig(connection="usb", usb_vendor="0416", usb_product="5011", profile="POS-5890")
    printer = open_escpos_printer(cfg)

    escpos = printer._printer  # type: ignore[union-attr]
    assert isinstance(escpos, Usb)
    assert escpos.usb_args == {"idVendor": 0x0416, "idProduct": 0x5011}
    assert escpos.timeout > 0
    assert type(escpos.profile) is get_profile_class("POS-5890")
    assert printer.device == "usb:0416:5011"  # type: ignore[union-attr]


def test_usb_without_ids_looks_for_the_printer_class() -> None:
    printer = open_escpos_printer(PrinterConfig(connection="usb"))

    assert callable(printer._printer.usb_args["custom_match"])  # type: ignore[union-attr]
    assert printer.device == "usb:any"  # type: ignore[union-attr]


@pytest.mark.parametrize("vendor", ["xyz", "12345", "0"])
def test_a_bad_usb_id_is_a_config_error(vendor: str) -> None:
    with pytest.raises(ConfigError, match="printer.usb_vendor"):
        open_escpos_printer(PrinterConfig(connection="usb", usb_vendor=vendor))


async def test_a_missing_usb_printer_says_how_to_fix_it() -> None:
    pytest.importorskip("usb.backend.libusb1")
    from usb.backend import libusb1

    if libusb1.get_backend() is None:
        pytest.skip("libusb-1.0 is not installed here")
    cfg = PrinterConfig(connection="usb", usb_vendor="0416", usb_product="5011")
    if os.path.exists("/dev/bus/usb"):
        pytest.skip("this machine has a USB bus: a real 0416:5011 might answer")

    async with open_escpos_printer(cfg) as printer:
        with pytest.raises(PrinterOffline) as caught:
            await printer.print_slip(make_slip())
        status = printer.status()

    message = "no USB printer 0416:5011 found: check the cable or printer.usb_vendor/usb_product"
    assert str(caught.value) == f"usb:0416:5011: {message}"
    assert caught.value.device == "usb:0416:5011"
    assert (status.online, status.detail) == (False, message)


def test_endpoints_come_from_the_interface() -> None:
    declared = [(0x81, 0x02), (0x02, 0x02), (0x83, 0x03)]  # bulk in, bulk out, interrupt in

    assert pick_bulk_endpoints(declared, 0x82, 0x01) == (0x81, 0x02)
    assert pick_bulk_endpoints([], 0x82, 0x01) == (0x82, 0x01)


def test_serial_gets_device_and_baudrate() -> None:
    cfg = PrinterConfig(connection="serial", serial_device="/dev/ttyUSB7", baudrate=19200)
    printer = open_escpos_printer(cfg)

    escpos = printer._printer  # type: ignore[union-attr]
    assert isinstance(escpos, Serial)
    assert (escpos.devfile, escpos.baudrate) == ("/dev/ttyUSB7", 19200)
    assert printer.device == "serial:/dev/ttyUSB7"  # type: ignore[union-attr]


async def test_a_missing_serial_printer_says_how_to_fix_it(tmp_path: Path) -> None:
    path = str(tmp_path / "ttyPRINTER")
    async with open_escpos_printer(
        PrinterConfig(connection="serial", serial_device=path)
    ) as printer:
        with pytest.raises(
            PrinterOffline, match="no serial printer at .*set printer.serial_device"
        ):
            await printer.print_slip(make_slip())


async def test_a_serial_printer_on_a_pty_prints_and_answers_status() -> None:
    master, slave = os.openpty()
    received = bytearray()
    done = threading.Event()

    def printer_side() -> None:
        while not done.is_set():
            try:
                received.extend(os.read(master, 4096))
            except OSError:  # EIO: the terminal's side was closed
                return
            if received[-3:-1] == b"\x10\x04":
                os.write(master, b"\x1e" if received[-1] == 4 else b"\x12")  # paper near end

    threading.Thread(target=printer_side, daemon=True).start()
    cfg = PrinterConfig(connection="serial", serial_device=os.ttyname(slave), profile="RP-F10-58mm")
    try:
        async with open_escpos_printer(cfg) as printer:
            await printer.print_slip(make_slip())
            status = printer.status()
    finally:
        done.set()
        os.close(slave)
        os.close(master)

    assert parse_escpos(bytes(received)).qr_payloads == (QR,)
    assert (status.online, status.paper, status.detail) == (True, True, "paper low")


def test_network_gets_host_port_and_a_short_timeout() -> None:
    printer = open_escpos_printer(PrinterConfig(connection="network", host="192.0.2.7", port=9101))

    escpos = printer._printer  # type: ignore[union-attr]
    assert isinstance(escpos, Network)
    assert (escpos.host, escpos.port) == ("192.0.2.7", 9101)
    assert 0 < escpos.timeout <= 10
    assert printer.device == "tcp:192.0.2.7:9101"  # type: ignore[union-attr]


def test_a_network_printer_needs_a_host() -> None:
    with pytest.raises(ConfigError, match="printer.host"):
        open_escpos_printer(PrinterConfig(connection="network"))


async def test_a_network_printer_that_is_off_says_how_to_fix_it() -> None:
    port = _closed_port()
    cfg = PrinterConfig(connection="network", host="127.0.0.1", port=port)

    async with open_escpos_printer(cfg) as printer:
        with pytest.raises(PrinterOffline) as caught:
            await printer.print_slip(make_slip())
        status = await printer.aquery_status()

    assert f"no printer answered at 127.0.0.1:{port}: check it is on" in str(caught.value)
    assert isinstance(caught.value.__cause__, Exception)
    assert status.online is False


async def test_file_printer_writes_the_slip_to_its_file(tmp_path: Path) -> None:
    path = tmp_path / "lp0"
    cfg = PrinterConfig(connection="file", file=str(path), profile="RP-F10-58mm")

    async with open_escpos_printer(cfg) as printer:
        assert isinstance(printer._printer, File)  # type: ignore[union-attr]
        await printer.print_slip(make_slip())

    written = path.read_bytes()
    assert parse_escpos(written).qr_payloads == (QR,)
    assert b"\x10\x04" not in written  # a device file has no way back: no status requests


async def test_a_missing_device_file_says_how_to_fix_it(tmp_path: Path) -> None:
    cfg = PrinterConfig(connection="file", file=str(tmp_path / "usb" / "lp0"))

    async with open_escpos_printer(cfg) as printer:
        with pytest.raises(PrinterOffline, match=r"cannot open .*lp0: check the cable"):
            await printer.print_slip(make_slip())


async def test_no_printer_reports_offline_and_prints_nothing() -> None:
    async with open_escpos_printer(PrinterConfig(connection="none")) as printer:
        assert isinstance(printer, NoPrinter)
        assert printer.status().online is False
        with pytest.raises(PrinterOffline, match="none"):
            await printer.print_slip(make_slip())
        assert (await printer.aquery_status()).online is False


def test_an_injected_printer_is_used_as_it_is() -> None:
    dummy = Dummy(profile="RP-F10-58mm")

    printer = open_escpos_printer(PrinterConfig(connection="none"), printer=dummy)

    assert isinstance(printer, EscposPrinter)
    assert printer._printer is dummy


def test_too_many_columns_for_the_profile_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="hw.printer.escpos_printer"):
        open_escpos_printer(PrinterConfig(columns=48), printer=Dummy(profile="POS-5890"))

    assert "576 dots but profile 'POS5890 Series' prints 384" in caplog.text


# --- status requests on the loopback network printer ----------------------------------------


async def test_paper_near_end_prints_and_says_so(fake: LoopbackPrinter) -> None:
    fake.paper = "near_end"

    async with _network(fake) as printer:
        await printer.print_slip(make_slip())
        status = printer.status()

    assert fake.printed.cuts == 1
    assert (status.paper, status.detail) == (True, "paper low")


async def test_cover_open_is_paper_out_before_anything_prints(fake: LoopbackPrinter) -> None:
    fake.cover_open = True

    async with _network(fake) as printer:
        with pytest.raises(PaperOut, match="cover open"):
            await printer.print_slip(make_slip())

    assert fake.printed.items == ()


async def test_aquery_status_asks_and_status_does_not(fake: LoopbackPrinter) -> None:
    async with _network(fake) as printer:
        assert printer.status().detail == "not checked yet"
        fake.paper = "out"

        asked = await printer.aquery_status()
        requests = bytes(fake.jobs[0]).count(b"\x10\x04")
        told = printer.status()

    assert (asked.online, asked.paper, asked.detail) == (False, False, "out of paper")
    assert told == asked
    assert requests == 3  # printer, offline cause, paper: and status() sent nothing more
    assert bytes(fake.jobs[0]).count(b"\x10\x04") == 3


async def test_a_printer_that_never_answers_is_printed_on_without_asking_again(
    fake: LoopbackPrinter,
) -> None:
    fake.silent = True

    async with _network(fake) as printer:
        printer._printer.timeout = 0.2  # the read timeout a silent printer costs once
        await printer.print_slip(make_slip(copies=2))
        status = printer.status()

    assert fake.printed.cuts == 2
    assert bytes(fake.jobs[0]).count(b"\x10\x04") == 1
    assert (status.online, status.detail) == (True, "printer does not report its status")


async def test_a_printer_that_falls_silent_is_offline(fake: LoopbackPrinter) -> None:
    async with _network(fake) as printer:
        printer._printer.timeout = 0.2
        await printer.print_slip(make_slip())
        fake.silent = True

        status = await printer.aquery_status()

    assert status.online is False
    assert "stopped answering" in status.detail


# --- lost connections ----------------------------------------------------------------------


async def test_connection_dropped_mid_slip_is_offline_then_the_next_slip_reconnects(
    fake: LoopbackPrinter,
) -> None:
    fake.drop_after(200)  # in the middle of the first copy's text

    async with _network(fake) as printer:
        with pytest.raises(PrinterOffline) as caught:
            await printer.print_slip(make_slip(copies=2))
        assert printer.status().online is False

        await printer.print_slip(make_slip(order="T-000124"))

    assert f"tcp:127.0.0.1:{fake.port}" in str(caught.value)
    assert len(fake.jobs) == 2
    second = parse_escpos(bytes(fake.jobs[1]))
    assert second.cuts == 1
    assert second.barcodes == ("T-000124",)
    assert printer.status().online is True


async def test_a_connection_the_printer_closed_while_idle_is_reopened(
    fake: LoopbackPrinter,
) -> None:
    async with _network(fake) as printer:
        await printer.print_slip(make_slip())
        fake.close_connection()

        await printer.print_slip(make_slip(order="T-000124"))

    assert fake.printed.barcodes == ("T-000123", "T-000124")


async def test_a_printer_switched_on_later_is_found_by_the_next_slip() -> None:
    port = _closed_port()
    cfg = PrinterConfig(connection="network", host="127.0.0.1", port=port)

    async with open_escpos_printer(cfg) as printer:
        with pytest.raises(PrinterOffline):
            await printer.print_slip(make_slip())
        with LoopbackPrinter() as fake:
            printer._printer.port = fake.port  # type: ignore[union-attr]
            await printer.print_slip(make_slip())

    assert fake.printed.cuts == 1


# --- widths, profiles, QR and barcode -------------------------------------------------------


@pytest.mark.parametrize("columns", [32, 48])
async def test_lines_wrap_at_the_paper_width(fake: LoopbackPrinter, columns: int) -> None:
    text = "Платёж не завершён: нет связи с процессингом, деньги не списаны, повторите позже"
    slip = Slip(SlipKind.NOT_CONFIRMED, "o1", (SlipLine(text),))

    async with _network(fake, columns=columns) as printer:
        await printer.print_slip(slip)

    lines = fake.printed.text_lines
    assert max(len(line) for line in lines) <= columns
    assert max(len(line) for line in lines) > columns - 10
    assert " ".join(lines) == text


async def test_a_profile_without_native_qr_or_barcode_prints_both_as_images(
    fake: LoopbackPrinter,
) -> None:
    slip = replace(make_slip(), barcode="ORD-4711")

    async with _network(fake, profile="POS-5890") as printer:
        await printer.print_slip(slip)

    printed = fake.printed
    assert printed.qr_payloads == ()
    assert printed.barcodes == ()
    assert b"\x1bt\x3b" in bytes(fake.jobs[0])  # CP866 is page 59 on these printers
    assert "Сумма: 1 234,56 руб." in printed.text_lines
    found = [_decode(raster.to_image()) for raster in printed.rasters]
    assert found == [[("QR Code", QR)], [("Code 128", "ORD-4711")]]


async def test_native_qr_can_be_turned_off(fake: LoopbackPrinter) -> None:
    async with _network(fake, native_qr=False) as printer:
        await printer.print_slip(make_slip())

    assert fake.printed.qr_payloads == ()
    assert _decode(fake.printed.rasters[0].to_image()) == [("QR Code", QR)]


@pytest.mark.parametrize(
    ("code", "columns", "fits"),
    [
        ("T-000123", 32, True),
        (ALIPAY_TRADE_NO, 32, False),  # 189 modules + quiet zones: wider than 384 dots
        (ALIPAY_TRADE_NO, 48, True),
        (SBP_QRC_ID, 48, False),
    ],
)
async def test_a_long_provider_ref_prints_as_text_and_as_barcode_where_it_fits(
    fake: LoopbackPrinter, code: str, columns: int, fits: bool
) -> None:
    slip = Slip(SlipKind.PAYMENT, "o1", (SlipLine("Заказ"), SlipLine(code)), barcode=code)

    async with _network(fake, columns=columns) as printer:
        await printer.print_slip(slip)

    assert code in fake.printed.text_lines
    assert fake.printed.barcodes == ((code,) if fits else ())


@pytest.mark.parametrize(
    "code", ["ORD-4711", ALIPAY_TRADE_NO, "AB1234567890", "A12345B", "12345", "wx123456789012"]
)
def test_code128_sets_parse_back_and_are_no_wider_than_a_reference_encoder(code: str) -> None:
    from barcode.codex import Code128

    data = code128_data(code)

    assert data is not None
    assert parse_escpos(b"\x1dkI" + bytes([len(data)]) + data.encode("ascii")).barcodes == (code,)
    assert code128_modules(data) <= len(Code128(code).build()[0])


# --- DLE EOT parsing -----------------------------------------------------------------------


def test_status_bytes_without_the_fixed_bits_are_ignored() -> None:
    assert status_byte(b"\x12") == 0x12
    assert status_byte(b"\x00\xff") is None
    assert status_byte(b"\x1e\x12\x00") == 0x12  # a stale answer, then the current one


@pytest.mark.parametrize(
    ("printer", "cause", "paper", "expected"),
    [
        (0x12, None, 0x12, (True, True, "ready")),
        (0x12, None, 0x1E, (True, True, "paper low")),
        (0x1A, 0x32, 0x7E, (False, False, "out of paper")),
        (0x1A, 0x16, 0x12, (False, False, "cover open")),
        (0x1A, 0x52, 0x12, (False, True, "printer error: cutter jammed or head too hot")),
        (0x1A, 0x12, 0x12, (False, True, "offline")),
        (None, None, None, (True, True, "printer does not report its status")),
    ],
)
def test_status_readings_mean_what_the_manual_says(
    printer: int | None, cause: int | None, paper: int | None, expected: tuple[bool, bool, str]
) -> None:
    status = parse_reading(printer, cause, paper).to_status()

    assert (status.online, status.paper, status.detail) == expected


def test_a_missing_library_is_a_printer_error_not_a_crash() -> None:
    class NoLibusb(Dummy):  # type: ignore[misc]
        def _raw(self, msg: bytes) -> None:
            from usb.core import NoBackendError

            raise NoBackendError("No backend available")

    printer = EscposPrinter(printer=NoLibusb(profile="RP-F10-58mm"), check_status=False)

    with pytest.raises(PrinterError, match="libusb-1.0-0"):
        printer._print_blocking(make_slip())


# --- loading python-escpos -----------------------------------------------------------------

_LOAD = """
import json, os, sys
from pathlib import Path
from hw.printer.escpos_loader import load_escpos
cache = Path(sys.argv[1]) if sys.argv[1] else None
ms = load_escpos(cache)
print(json.dumps({"ms": ms, "env": os.environ.get("ESCPOS_CAPABILITIES_PICKLE_DIR")}))
"""


def _load_in_child(cache: Path | None, tmp: Path) -> dict[str, object]:
    import json

    env = {k: v for k, v in os.environ.items() if not k.startswith(("ESCPOS_", "XDG_"))}
    env.update(TMPDIR=str(tmp), HOME=str(tmp.parent / "home"))
    out = subprocess.run(
        [sys.executable, "-c", _LOAD, str(cache or "")],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    result: dict[str, object] = json.loads(out.stdout)
    return result


def test_capabilities_are_cached_and_no_temporary_folder_is_left(tmp_path: Path) -> None:
    cache, tmp = tmp_path / "cache", tmp_path / "tmp"
    tmp.mkdir()

    first = _load_in_child(cache, tmp)
    second = _load_in_child(cache, tmp)

    assert [p.name for p in cache.iterdir()] == [f"{sys.version.split()[0]}.capabilities.pickle"]
    assert list(tmp.iterdir()) == []
    assert first["env"] is None  # set only for the import
    assert second["env"] is None


def test_the_default_cache_is_under_the_home_cache(tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()

    _load_in_child(None, tmp)

    assert list((tmp_path / "home" / ".cache" / "payterm" / "escpos").iterdir())
    assert list(tmp.iterdir()) == []
