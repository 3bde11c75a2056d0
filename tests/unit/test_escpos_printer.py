"""EscposPrinter over python-escpos's Dummy and the emulated printer; bytes parsed back."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import zxingcpp
from escpos.printer import Dummy

from hw.emulated import EMULATED_PRINTER_PROFILE, make_emulated_printer
from hw.errors import PaperOut, PrinterError, PrinterOffline
from hw.printer.escpos_printer import EscposPrinter
from hw.printer.escpos_slip import printable_text
from hw.printer.escpos_text import ParsedLine, parse_escpos
from terminal.views.model import Slip, SlipKind, SlipLine

QR = "https://pay.sandbox.invalid/p/AB12CD34EF"

SLIP = Slip(
    kind=SlipKind.PAYMENT,
    order_id="T-000123",
    lines=(
        SlipLine("ОПЛАТА", align="center", bold=True, large=True),
        SlipLine("Магазин «Ёлка»", align="center"),
        SlipLine("Сумма: 1 234,56 ₽", bold=True),
        SlipLine("Чек № 17", align="right"),
    ),
    qr=QR,
    barcode="ORD-4711",
)


def _dummy() -> Any:
    return Dummy(profile=EMULATED_PRINTER_PROFILE)


def _emulated() -> Any:
    return make_emulated_printer()


def _decode(image: Any) -> list[str]:
    found = zxingcpp.read_barcodes(image, try_invert=False)
    return [barcode.text for barcode in found]


async def test_slip_prints_and_parses_back_to_its_lines_qr_and_barcode() -> None:
    dummy = _dummy()

    await EscposPrinter(printer=dummy, check_status=False).print_slip(SLIP)

    parsed = parse_escpos(dummy.output)
    assert parsed.text_lines == tuple(printable_text(line.text) for line in SLIP.lines)
    printed = [line for line in parsed.lines if line.text]
    assert [(p.align, p.bold, p.large) for p in printed] == [
        (line.align, line.bold, line.large) for line in SLIP.lines
    ]
    assert parsed.qr_payloads == (QR,)
    assert parsed.barcodes == ("ORD-4711",)
    assert parsed.cuts == 1
    assert parsed.unknown == ()


async def test_cyrillic_goes_out_in_cp866_after_esc_t_17() -> None:
    dummy = _dummy()

    await EscposPrinter(printer=dummy, check_status=False).print_slip(SLIP)

    assert b"\x1bt\x11" in dummy.output
    assert "Сумма".encode("cp866") in dummy.output
    assert "Сумма".encode() not in dummy.output


def test_printable_text_replaces_what_cp866_lacks() -> None:
    assert printable_text("1 234,56 ₽ — «да»") == '1 234,56 руб. - "да"'
    assert printable_text("Ёлка № 5") == "Ёлка № 5"
    assert printable_text("支付") == "??"


async def test_two_copies_print_twice_with_two_cuts() -> None:
    dummy = _dummy()
    slip = Slip(SlipKind.PAYMENT, "o1", (SlipLine("Копия"),), copies=2)

    await EscposPrinter(printer=dummy, check_status=False).print_slip(slip)

    parsed = parse_escpos(dummy.output)
    assert parsed.cuts == 2
    assert parsed.text_lines == ("Копия", "Копия")


async def test_every_copy_selects_the_code_page_again() -> None:
    dummy = _dummy()
    slip = Slip(SlipKind.PAYMENT, "o1", (SlipLine("Копия"),), copies=2)

    await EscposPrinter(printer=dummy, check_status=False).print_slip(slip)

    assert dummy.output.count(b"\x1b@\x1bt\x11") == 2


async def test_long_lines_wrap_to_the_columns() -> None:
    dummy = _dummy()
    text = "Платёж не завершён: нет связи с процессингом, деньги не списаны"
    slip = Slip(SlipKind.NOT_CONFIRMED, "o1", (SlipLine(text),))

    await EscposPrinter(printer=dummy, columns=32, check_status=False).print_slip(slip)

    lines = parse_escpos(dummy.output).text_lines
    assert len(lines) > 1
    assert all(len(line) <= 32 for line in lines)
    assert " ".join(lines) == text


async def test_large_lines_wrap_at_half_the_columns() -> None:
    dummy = _dummy()
    slip = Slip(SlipKind.PAYMENT, "o1", (SlipLine("ОПЛАЧЕНО УСПЕШНО!", large=True),))

    await EscposPrinter(printer=dummy, columns=32, check_status=False).print_slip(slip)

    assert parse_escpos(dummy.output).text_lines == ("ОПЛАЧЕНО", "УСПЕШНО!")


async def test_image_qr_mode_prints_a_raster_that_decodes() -> None:
    dummy = _dummy()

    await EscposPrinter(printer=dummy, native_qr=False, check_status=False).print_slip(SLIP)

    parsed = parse_escpos(dummy.output)
    assert parsed.qr_payloads == ()
    assert parsed.images == 1
    assert _decode(parsed.rasters[0].to_image()) == [QR]


async def test_numeric_barcode_uses_code_set_c_and_reads_back() -> None:
    dummy = _dummy()
    slip = Slip(SlipKind.PAYMENT, "o1", (SlipLine("x"),), barcode="20250101123456")

    await EscposPrinter(printer=dummy, check_status=False).print_slip(slip)

    assert b"{C" in dummy.output
    assert parse_escpos(dummy.output).barcodes == ("20250101123456",)


@pytest.mark.parametrize("code", ["A" * 40, "не ascii", "{brace}"])
async def test_unprintable_barcode_is_skipped_with_a_warning(
    code: str, caplog: pytest.LogCaptureFixture
) -> None:
    dummy = _dummy()
    slip = Slip(SlipKind.PAYMENT, "o1", (SlipLine("Итого"),), barcode=code)

    with caplog.at_level(logging.WARNING, logger="hw.printer.escpos_slip"):
        await EscposPrinter(printer=dummy, check_status=False).print_slip(slip)

    parsed = parse_escpos(dummy.output)
    assert parsed.barcodes == ()
    assert parsed.text_lines == ("Итого",)
    assert "barcode" in caplog.text


async def test_paper_out_raises_and_prints_nothing() -> None:
    emulated = _emulated()
    emulated.paper = False
    printer = EscposPrinter(printer=emulated)

    with pytest.raises(PaperOut):
        await printer.print_slip(SLIP)

    assert emulated.output == b""
    assert emulated.printed == []
    assert printer.status().paper is False


async def test_offline_raises_printer_offline() -> None:
    emulated = _emulated()
    emulated.online = False
    printer = EscposPrinter(printer=emulated)

    with pytest.raises(PrinterOffline):
        await printer.print_slip(SLIP)

    assert emulated.printed == []
    assert printer.status().online is False


async def test_connection_lost_while_printing_is_printer_offline() -> None:
    emulated = _emulated()
    emulated.online = False
    printer = EscposPrinter(printer=emulated, check_status=False)

    with pytest.raises(PrinterOffline) as caught:
        await printer.print_slip(SLIP)

    assert isinstance(caught.value.__cause__, OSError)
    assert printer.status().online is False


async def test_status_reports_ready_after_a_print() -> None:
    printer = EscposPrinter(printer=_emulated())
    assert printer.status().detail == "not checked yet"

    await printer.print_slip(SLIP)

    assert printer.status().online is True
    assert printer.status().paper is True
    assert printer.status().detail == "ready"


async def test_aquery_status_asks_the_printer() -> None:
    emulated = _emulated()
    printer = EscposPrinter(printer=emulated)
    emulated.paper = False

    status = await printer.aquery_status()

    assert (status.online, status.paper) == (True, False)


async def test_printer_without_status_support_still_prints() -> None:
    dummy = _dummy()  # Dummy cannot read status back: NotImplementedError
    printer = EscposPrinter(printer=dummy)

    await printer.print_slip(SLIP)

    assert parse_escpos(dummy.output).cuts == 1
    assert printer.status().online is True


async def test_escpos_errors_become_printer_errors() -> None:
    class Broken(Dummy):  # type: ignore[misc]
        def cut(self, mode: str = "FULL", feed: bool = True) -> None:
            raise ValueError("Mode must be one of ('FULL', 'PART')")

    with pytest.raises(PrinterError) as caught:
        await EscposPrinter(printer=Broken(), check_status=False).print_slip(SLIP)

    assert not isinstance(caught.value, PrinterOffline | PaperOut)


def test_profile_without_the_code_page_is_refused() -> None:
    with pytest.raises(PrinterError, match="CP866"):
        EscposPrinter(printer=Dummy(profile="simple"))


async def test_closed_printer_refuses_and_aclose_is_idempotent() -> None:
    printer = EscposPrinter(printer=_dummy())

    await printer.aclose()
    await printer.aclose()

    assert printer.is_closed
    assert "closed" in repr(printer)
    with pytest.raises(PrinterOffline):
        await printer.print_slip(SLIP)


async def test_async_context_manager_closes() -> None:
    async with EscposPrinter(printer=_dummy()) as printer:
        assert "open" in repr(printer)
    assert printer.is_closed


# --- the byte parser on its own ---------------------------------------------------------------


def test_parser_reads_styles_code_pages_and_cuts() -> None:
    data = (
        b"\x1b@\x1bt\x11\x1ba\x01\x1bE\x01"
        + "Привет".encode("cp866")
        + b"\n\x1bE\x00\x1ba\x00\x1d!\x11BIG\n\x1d!\x00\x1bt\x00abc\n\x1dV\x00\x1bi"
    )

    parsed = parse_escpos(data)

    assert parsed.lines == (
        ParsedLine("Привет", "center", bold=True),
        ParsedLine("BIG", "left", large=True),
        ParsedLine("abc"),
    )
    assert parsed.cuts == 2


def test_parser_reads_native_qr_only_when_printed() -> None:
    store = b"\x1d(k\x08\x001P0hello\x1d(k\x08\x001P0world"
    printed = b"\x1d(k\x03\x001Q0"

    assert parse_escpos(store).qr_payloads == ()
    assert parse_escpos(store + printed).qr_payloads == ("world",)


def test_parser_counts_images_and_skips_their_data() -> None:
    raster = b"\x1dv0\x00\x01\x00\x02\x00" + b"\n\x1b"  # 1 byte x 2 rows that look like commands
    graphics = b"\x1d(L\x02\x0002"
    parsed = parse_escpos(raster + b"ok\n" + graphics)

    assert parsed.images == 2
    assert parsed.text_lines == ("ok",)
    assert parsed.rasters[0].data == b"\n\x1b"


def test_parser_lists_unknown_commands() -> None:
    assert parse_escpos(b"\x1b\x7fx\n").unknown == (b"\x1b\x7f",)


def test_to_text_shows_the_slip() -> None:
    parsed = parse_escpos(b"\x1ba\x01Hi\n\x1dV\x00")

    assert parsed.to_text(columns=8) == "   Hi\n✂-------"
