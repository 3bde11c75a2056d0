"""Benchmark: slip bytes with the printer's own QR against a raster QR, at 58 and 80 mm, the
time to send them at 9600 baud, one slip over a loopback network printer, and what
loading python-escpos costs with and without its capabilities cache.

Run from the repository root: ``.venv/bin/python -m bench.bench_printer [--json]``.
The slip is the real "scan to pay" slip of a dynamic SBP link, built by the terminal's
slip builder, printed through :class:`hw.printer.escpos_printer.EscposPrinter` on python-escpos's
``Dummy``. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import Figure, print_figures
from terminal.money import Money
from terminal.payment import Payment, PaymentState
from terminal.views.model import Slip, SlipKind
from terminal.views.slips import build_slip

SECTION_BYTES = "printer: slip bytes and time on a 9600 baud serial line"
SECTION_LOAD = "printer: loading python-escpos"
SERIAL_BAUD = 9600
BITS_PER_BYTE = 10  # 8N1: start, eight data bits, stop
SBP_LINK = (
    "https://qr.nspk.ru/AD100004BAL7227F9BNP6KNE007J9B3K"
    "?type=02&bank=100000000111&sum=123456&cur=RUB&crc=C08B"
)
PROFILES = {32: "RP-F10-58mm", 48: "RP-F10-80mm"}
NATIVE_SEND_LIMIT_S = 1.0  # a QR slip on a serial printer should be out within a second
LOAD_RUNS = 5


def qr_slip(columns: int) -> Slip:
    """The "scan to pay" slip of a 1 234,56 RUB SBP payment, ``columns`` wide."""
    payment = Payment(
        order_id="T1-000123",
        seq=123,
        shift=7,
        flow="mpm",
        provider="sbp",
        amount=Money(123456, "RUB"),
        state=PaymentState.PENDING,
        provider_ref="AD100004BAL7227F9BNP6KNE007J9B3K",
        qr_payload=SBP_LINK,
        created_wall="2025-01-01T12:00:00+00:00",
    )
    return build_slip(SlipKind.QR, payment, terminal_id="T1", language="ru", columns=columns)


def slip_bytes(columns: int, *, native_qr: bool) -> int:
    """Bytes python-escpos sends for the QR slip."""
    from escpos.printer import Dummy

    from hw.printer.escpos_printer import EscposPrinter

    dummy = Dummy(profile=PROFILES[columns])
    printer = EscposPrinter(printer=dummy, columns=columns, native_qr=native_qr, check_status=False)
    asyncio.run(printer.print_slip(qr_slip(columns)))
    return len(dummy.output)


def byte_figures() -> list[Figure]:
    """Bytes and 9600-baud send time for native and raster QR at 58 and 80 mm."""
    figures = []
    for columns, paper in ((32, "58 mm"), (48, "80 mm")):
        for native in (True, False):
            kind = "native QR" if native else "image QR"
            size = slip_bytes(columns, native_qr=native)
            seconds = size * BITS_PER_BYTE / SERIAL_BAUD
            key = f"{paper.split()[0]}mm_{'native' if native else 'image'}"
            figures.append(Figure(SECTION_BYTES, f"{key}_bytes", f"{paper}, {kind}: bytes",
                                  float(size), "B"))  # fmt: skip
            figures.append(Figure(SECTION_BYTES, f"{key}_send_s", f"{paper}, {kind}: at 9600 Bd",
                                  round(seconds, 2), "s",
                                  NATIVE_SEND_LIMIT_S if native else None))  # fmt: skip
    return figures


def loopback_figure() -> Figure:
    """Median wall time of one QR slip over a loopback TCP printer, status requests included."""
    from hw.printer.escpos_printer import open_escpos_printer
    from terminal.config.model import PrinterConfig
    from tests.contract.test_printer_contract import LoopbackPrinter

    async def run(fake: LoopbackPrinter) -> list[float]:
        cfg = PrinterConfig(connection="network", host=fake.host, port=fake.port)
        times = []
        async with open_escpos_printer(cfg) as printer:
            for _ in range(10):
                started = time.perf_counter()
                await printer.print_slip(qr_slip(32))
                times.append((time.perf_counter() - started) * 1000)
        return times

    with LoopbackPrinter() as fake:
        times = asyncio.run(run(fake))
    return Figure(SECTION_BYTES, "loopback_ms", "one QR slip over loopback TCP (median)",
                  round(statistics.median(times), 1), "ms",
                  note="2 status requests before the copy, 2 after: each a round trip")  # fmt: skip


_CHILD = """
import json, sys, time
from pathlib import Path
started = time.perf_counter()
from hw.printer.escpos_loader import load_escpos
cache = Path(sys.argv[1]) if sys.argv[1] else None
ms = load_escpos(cache)
print(json.dumps({"ms": ms}))
"""
_CHILD_RAW = """
import json, time
started = time.perf_counter()
import escpos.printer
print(json.dumps({"ms": (time.perf_counter() - started) * 1000}))
"""


def _child_ms(code: str, arg: str, env: dict[str, str]) -> float:
    out = subprocess.run(
        [sys.executable, "-c", code, arg], capture_output=True, text=True, check=True, env=env
    )
    return float(json.loads(out.stdout)["ms"])


def load_figures() -> list[Figure]:
    """python-escpos import time: as shipped, and through load_escpos with a warm cache."""
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch) / "tmp"
        tmp.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ESCPOS_", "XDG_"))}
        env.update(TMPDIR=str(tmp), HOME=scratch)
        root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        raw = [_child_ms(_CHILD_RAW, "", env) for _ in range(LOAD_RUNS)]
        left = len(list(tmp.iterdir()))
        for stray in tmp.iterdir():
            for inner in stray.iterdir():
                inner.unlink()
            stray.rmdir()
        cache = str(Path(scratch) / "cache")
        _child_ms(_CHILD, cache, env)  # the first start writes the cache
        cached = [_child_ms(_CHILD, cache, env) for _ in range(LOAD_RUNS)]
        left_cached = len(list(tmp.iterdir()))
    return [
        Figure(SECTION_LOAD, "import_raw_ms", "import escpos.printer, as shipped (median)",
               round(statistics.median(raw), 1), "ms"),
        Figure(SECTION_LOAD, "import_cached_ms", "load_escpos() with its cache warm (median)",
               round(statistics.median(cached), 1), "ms"),
        Figure(SECTION_LOAD, "tmp_left_raw", f"folders left in TMPDIR by {LOAD_RUNS} raw imports",
               float(left), ""),
        Figure(SECTION_LOAD, "tmp_left_cached", f"folders left by {LOAD_RUNS + 1} load_escpos()",
               float(left_cached), "", 0.0),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Measure and print the table (or JSON); 0 whatever the figures say."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument("--quick", action="store_true", help="accepted; this run is short anyway")
    args = parser.parse_args(argv)
    figures = [*byte_figures(), loopback_figure(), *load_figures()]
    print_figures(figures, as_json=args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
