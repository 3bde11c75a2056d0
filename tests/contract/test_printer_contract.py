"""The Printer Protocol's contract, run on every backend: emulated, a loopback network printer,
and (with ``PAYTERM_HW_TEST=1`` on the terminal) the real printer of ``PAYTERM_CONFIG``.

:class:`LoopbackPrinter` is a network printer on 127.0.0.1: it collects what it is sent,
answers ``DLE EOT`` status requests with the bytes a real one sends, and can drop the
connection in the middle of a slip.
"""

from __future__ import annotations

import fcntl
import os
import select
import socket
import struct
import tempfile
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest

from hw.base import Printer
from hw.emulated import EmulatedPrinterHw, make_emulated_printer
from hw.errors import PaperOut, PrinterOffline
from hw.printer.escpos_printer import EscposPrinter, open_escpos_printer
from hw.printer.escpos_text import ParsedSlip, parse_escpos
from terminal.config.model import PrinterConfig
from terminal.views.model import Slip, SlipKind, SlipLine

# Read at collection: the autouse clean_environ fixture removes PAYTERM_* before each test.
REAL = os.environ.get("PAYTERM_HW_TEST") == "1"
REAL_CONFIG = os.environ.get("PAYTERM_CONFIG", "/etc/payterm/payterm.toml")

Paper = Literal["ok", "near_end", "out"]


class LoopbackPrinter:
    """A network ESC/POS printer on 127.0.0.1:<free port>, served from a thread.

    ``jobs`` holds the bytes of each connection. A ``DLE EOT n`` the client then waits on
    (the last bytes received) is answered from ``online``, ``paper``, ``cover_open``;
    ``silent`` answers nothing. ``drop_after(n)`` resets the next connection once it has
    received ``n`` bytes, as a printer does when its cable is pulled.
    """

    def __init__(self) -> None:
        self.online = True
        self.paper: Paper = "ok"
        self.cover_open = False
        self.silent = False
        self.jobs: list[bytearray] = []
        self._drop_at: int | None = None
        self._close_now = threading.Event()
        self._closed = threading.Event()
        self._stop = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.host, self.port = self._server.getsockname()[:2]
        self._thread = threading.Thread(target=self._serve, name="loopback-printer", daemon=True)

    def __enter__(self) -> LoopbackPrinter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._server.close()

    def drop_after(self, count: int) -> None:
        """Reset the next connection (RST) once it has received ``count`` bytes."""
        self._drop_at = count

    def close_connection(self) -> None:
        """Close the open connection (FIN), as a printer does with an idle client; waits."""
        self._closed.clear()
        self._close_now.set()
        if not self._closed.wait(timeout=10):
            raise RuntimeError("the loopback printer did not close its connection")

    @property
    def printed(self) -> ParsedSlip:
        """Everything received, over all connections, parsed back."""
        return parse_escpos(b"".join(bytes(job) for job in self.jobs))

    def answer(self, n: int) -> bytes:
        """The reply to ``DLE EOT n``, bit for bit as the ESC/POS manual gives it."""
        paper_out = self.paper == "out"
        offline = not self.online or self.cover_open or paper_out
        if n == 1:
            return bytes([0x12 | (0x08 if offline else 0)])
        if n == 2:
            return bytes([0x12 | (0x04 if self.cover_open else 0) | (0x20 if paper_out else 0)])
        near = 0x0C if self.paper != "ok" else 0
        return bytes([0x12 | near | (0x60 if paper_out else 0)])

    def _serve(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._server], [], [], 0.05)
            if ready:
                conn, _ = self._server.accept()
                with conn:
                    self._handle(conn)
                self._closed.set()

    def _handle(self, conn: socket.socket) -> None:
        job = bytearray()
        self.jobs.append(job)
        drop_at, self._drop_at = self._drop_at, None
        self._close_now.clear()
        while not self._stop.is_set() and not self._close_now.is_set():
            ready, _, _ = select.select([conn], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = conn.recv(65536)
            except ConnectionError:
                return
            if not chunk:
                return
            job.extend(chunk)
            if drop_at is not None and len(job) >= drop_at:
                # SO_LINGER 0: close with RST, like a printer that lost power.
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            if len(job) >= 3 and job[-3:-1] == b"\x10\x04" and not self.silent:
                conn.sendall(self.answer(job[-1]))


QR = "https://qr.nspk.ru/AD100004BAL7227F9BNP6KNE007J9B3K?type=02&bank=100000000111&sum=123456&cur=RUB&crc=C08B"


def make_slip(copies: int = 1, *, order: str = "T-000123") -> Slip:
    """A payment slip with Cyrillic, a QR and the provider's order number as a barcode."""
    return Slip(
        kind=SlipKind.PAYMENT,
        order_id=order,
        lines=(
            SlipLine("ОПЛАТА", align="center", bold=True, large=True),
            SlipLine("Сумма: 1 234,56 ₽", bold=True),
            SlipLine(f"Заказ {order}"),
        ),
        qr=QR,
        barcode=order,
        copies=copies,
    )


@dataclass
class Rig:
    """A printer under contract, and the switches of the hardware behind it."""

    printer: Printer
    set_paper: Callable[[Paper], None]
    set_online: Callable[[bool], None]
    output: Callable[[], ParsedSlip] | None  # None: the paper is the only record


@asynccontextmanager
async def emulated_rig() -> AsyncIterator[Rig]:
    hw: EmulatedPrinterHw = make_emulated_printer()

    def set_paper(paper: Paper) -> None:
        hw.paper = paper != "out"

    def set_online(online: bool) -> None:
        hw.online = online

    def output() -> ParsedSlip:
        return parse_escpos(b"".join(slip.raw for slip in hw.printed))

    async with EscposPrinter(printer=hw) as printer:
        yield Rig(printer, set_paper, set_online, output)


@asynccontextmanager
async def network_rig() -> AsyncIterator[Rig]:
    with LoopbackPrinter() as fake:

        def set_paper(paper: Paper) -> None:
            fake.paper = paper

        def set_online(online: bool) -> None:
            fake.online = online

        cfg = PrinterConfig(connection="network", host=fake.host, port=fake.port)
        async with open_escpos_printer(cfg) as printer:
            yield Rig(printer, set_paper, set_online, lambda: fake.printed)


@asynccontextmanager
async def real_rig() -> AsyncIterator[Rig]:
    from terminal.config.loader import load_config

    cfg = load_config(Path(REAL_CONFIG)).printer

    def unsupported(*_: Any) -> None:
        pytest.skip("the real printer's paper and power are switched by hand")

    # One test run at a time owns the real printer.
    with open(Path(tempfile.gettempdir()) / "payterm-hw-test.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        async with open_escpos_printer(cfg) as printer:
            yield Rig(printer, unsupported, unsupported, None)


RIGS = {"emulated": emulated_rig, "network": network_rig, "real": real_rig}


@pytest.fixture(params=["emulated", "network", "real"])
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    if request.param == "real" and not REAL:
        pytest.skip("set PAYTERM_HW_TEST=1 on a terminal with its printer to run")
    async with RIGS[request.param]() as made:
        yield made


async def test_prints_every_copy_with_text_qr_and_barcode(rig: Rig) -> None:
    await rig.printer.print_slip(make_slip(copies=2))

    if rig.output is None:
        return  # the real printer: check the paper
    printed = rig.output()
    assert printed.cuts == 2
    assert printed.text_lines.count("Сумма: 1 234,56 руб.") == 2
    assert printed.qr_payloads == (QR, QR)
    assert printed.barcodes == ("T-000123", "T-000123")


async def test_status_answers_without_blocking_and_is_ready_after_a_slip(rig: Rig) -> None:
    status = rig.printer.status()
    assert status.online
    assert status.paper

    await rig.printer.print_slip(make_slip())

    status = rig.printer.status()
    assert (status.online, status.paper) == (True, True)


async def test_paper_out_raises_paper_out_and_prints_nothing(rig: Rig) -> None:
    rig.set_paper("out")

    with pytest.raises(PaperOut):
        await rig.printer.print_slip(make_slip())

    assert rig.printer.status().paper is False
    assert rig.output is not None
    assert rig.output().cuts == 0


async def test_offline_raises_printer_offline(rig: Rig) -> None:
    rig.set_online(False)

    with pytest.raises(PrinterOffline):
        await rig.printer.print_slip(make_slip())

    assert rig.printer.status().online is False


async def test_printing_resumes_when_paper_is_back(rig: Rig) -> None:
    rig.set_paper("out")
    with pytest.raises(PaperOut):
        await rig.printer.print_slip(make_slip())

    rig.set_paper("ok")
    await rig.printer.print_slip(make_slip())

    assert rig.output is not None
    assert rig.output().cuts == 1
    assert rig.printer.status().paper is True


async def test_aclose_is_idempotent(rig: Rig) -> None:
    await rig.printer.aclose()
    await rig.printer.aclose()

    with pytest.raises(PrinterOffline):
        await rig.printer.print_slip(make_slip())
