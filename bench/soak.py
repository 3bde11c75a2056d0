"""Benchmarks 3 and 4: memory over many paid payments, and disk bytes written per payment.

Payments alternate CPM (amount, scan) and MPM (amount, Enter, Enter); the customer pays
at the sandbox ledger, the fake clock moves to the first poll, which sees the payment
paid and prints the slip, then past the result screen back to idle. Everything runs in
this process: the journal on a real disk, the sandbox ledger on tmpfs (/dev/shm) so that
``write_bytes`` counts the journal alone.

The emulated printer keeps every slip it ever printed (for tests to read back); a real
printer's paper leaves the terminal. So the engine's figures are taken with that record
emptied every :data:`PAPER_EVERY` payments, and the growth it causes when kept is
measured apart.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.measure import KIB, MIB, IoCounters, io_counters, rss_bytes
from bench.report import Figure, error_figures
from bench.rig import pay_once, running_terminal
from bench.sysinfo import fs_type, tmpfs_dir
from terminal.app import Terminal
from terminal.clock import FakeClock

__all__ = ["SECTION_MEMORY", "SECTION_DISK", "SoakRun", "soak", "run", "run_retention"]

SECTION_MEMORY = "3. memory over many payments (fake clock, in-process sandbox)"
SECTION_DISK = "4. disk bytes written per completed payment"
FULL_PAYMENTS = 10_000
QUICK_PAYMENTS = 1_000
PAPER_EVERY = 100
RSS_LIMIT_MIB = 80.0
GROWTH_LIMIT_MIB = 5.0
WRITE_LIMIT_KIB = 32.0
PAIR_PAYMENTS = 300  # each of the two short runs that split journal and ledger writes
QUICK_PAIR_PAYMENTS = 100


@dataclass
class SoakRun:
    """What one soak saw: RSS at chosen payments, I/O counters between two of them."""

    payments: int
    rss_open: int = 0  # after the terminal is open, before the first payment
    rss_at: dict[int, int] = field(default_factory=dict)
    io_from: int = 0  # the payment after which I/O counting starts
    io: IoCounters = IoCounters(0, 0)
    elapsed_s: float = 0.0
    nudges: int = 0  # extra clock moves needed (0 when the runtime keeps up)
    errors: list[str] = field(default_factory=list)  # ERROR records the terminal logged

    def per_payment(self) -> IoCounters:
        """The I/O counters divided by the payments they cover."""
        n = max(1, self.payments - self.io_from)
        return IoCounters(self.io.wchar // n, self.io.write_bytes // n)


async def soak(
    payments: int,
    data_dir: Path,
    ledger_path: Path,
    *,
    samples: tuple[int, ...],
    io_from: int,
    keep_paper: bool = False,
) -> SoakRun:
    """Make ``payments`` paid payments; note RSS after each of ``samples``."""
    clock = FakeClock()
    result = SoakRun(payments, io_from=io_from)
    async with running_terminal(data_dir, ledger_path, clock) as (terminal, sandbox, watch):
        result.rss_open = rss_bytes()
        started, before = time.perf_counter(), io_counters()
        for number in range(1, payments + 1):
            result.nudges += await pay_once(terminal, sandbox, watch, clock, cpm=number % 2 == 1)
            if not keep_paper and number % PAPER_EVERY == 0:
                _tear_off_paper(terminal)
            if number == io_from:
                before = io_counters()
            if number in samples:
                result.rss_at[number] = rss_bytes()
        result.io = io_counters() - before
        result.elapsed_s = time.perf_counter() - started
        result.errors = list(watch.errors)
    return result


def _tear_off_paper(terminal: Terminal) -> None:
    """Forget the emulated printer's slips, as paper leaving a real printer."""
    escpos = terminal.device.escpos
    escpos.printed.clear()
    escpos.clear()


async def run(quick: bool, out_dir: Path) -> list[Figure]:
    """Benchmarks 3 and 4: the long soak, then a pair of short runs splitting the writes."""
    payments = QUICK_PAYMENTS if quick else FULL_PAYMENTS
    window_start = payments // 10
    base, shm = _fresh(out_dir, "soak-"), tmpfs_dir()
    ledger_base = Path(tempfile.mkdtemp(prefix="payterm-bench-", dir=shm)) if shm else base
    try:
        main = await soak(
            payments, base / "data", ledger_base / "sandbox.sqlite3",
            samples=(1, window_start, payments), io_from=window_start,
        )  # fmt: skip
        pair = QUICK_PAIR_PAYMENTS if quick else PAIR_PAYMENTS
        journal_only = await soak(
            pair, base / "pair-a", ledger_base / "pair-a.sqlite3", samples=(), io_from=pair // 5
        )
        both = await soak(
            pair, base / "pair-b", base / "pair-b" / "sandbox.sqlite3", samples=(),
            io_from=pair // 5,
        )  # fmt: skip
    finally:
        shutil.rmtree(base, ignore_errors=True)
        if ledger_base != base:
            shutil.rmtree(ledger_base, ignore_errors=True)
    notes = {"journal_fs": fs_type(out_dir), "ledger_fs": "tmpfs" if shm else fs_type(out_dir)}
    errors = main.errors + journal_only.errors + both.errors
    return [
        *_memory_figures(main, window_start, quick),
        *error_figures(SECTION_MEMORY, errors),
        *_disk_figures(main, journal_only, both, notes),
    ]


async def run_retention(quick: bool, out_dir: Path) -> list[Figure]:
    """What the emulated printer's record of every slip costs in memory when it is kept."""
    payments = 1_000 if quick else 2_000
    start = payments // 10
    base = _fresh(out_dir, "paper-")
    shm = tmpfs_dir() or base
    try:
        kept = await soak(
            payments, base / "data", shm / f"{base.name}-sandbox.sqlite3",
            samples=(start, payments), io_from=payments, keep_paper=True,
        )  # fmt: skip
    finally:
        shutil.rmtree(base, ignore_errors=True)
        for leftover in shm.glob(f"{base.name}-sandbox.sqlite3*"):
            leftover.unlink(missing_ok=True)
    per_payment = (kept.rss_at[payments] - kept.rss_at[start]) / (payments - start)
    note = (
        f"RSS {kept.rss_at[start] / MIB:.1f} -> {kept.rss_at[payments] / MIB:.1f} MiB over "
        f"payments {start}..{payments}; about {per_payment * 9_000 / MIB:.0f} MiB more "
        "between payment 1 000 and 10 000 in a demo that runs that long"
    )
    return [
        *error_figures(SECTION_MEMORY, kept.errors),
        Figure(SECTION_MEMORY, "emulated_printer_kept_kib_per_payment",
               "RSS growth per payment if the emulated printer keeps its slips",
               per_payment / KIB, "KiB", note=note),
    ]  # fmt: skip


def _memory_figures(main: SoakRun, window_start: int, quick: bool) -> list[Figure]:
    n = main.payments
    end, start = main.rss_at[n], main.rss_at[window_start]
    rate = n / main.elapsed_s if main.elapsed_s else 0.0
    window = f"payment {window_start} -> {n}"
    return [
        Figure(SECTION_MEMORY, "rss_end_mib", f"RSS after {n} payments", end / MIB, "MiB",
               RSS_LIMIT_MIB,
               f"open {main.rss_open / MIB:.1f} MiB, after payment 1 {main.rss_at[1] / MIB:.1f}"
               f" MiB; slips torn off every {PAPER_EVERY} payments"),
        Figure(SECTION_MEMORY, "rss_growth_mib", f"RSS growth, {window}", (end - start) / MIB,
               "MiB", None if quick else GROWTH_LIMIT_MIB,
               "quick run: the target is for payment 1 000 -> 10 000" if quick else ""),
        Figure(SECTION_MEMORY, "payments_per_s", "paid payments per second (fake clock)",
               rate, "/s", note=f"{main.elapsed_s:.0f} s in all; extra clock nudges: "
               f"{main.nudges}"),
    ]  # fmt: skip


def _disk_figures(
    main: SoakRun, journal_only: SoakRun, both: SoakRun, notes: dict[str, str]
) -> list[Figure]:
    per, a, b = main.per_payment(), journal_only.per_payment(), both.per_payment()
    where = f"journal on {notes['journal_fs']}, ledger on {notes['ledger_fs']}"
    return [
        Figure(SECTION_DISK, "journal_write_bytes_kib", "write_bytes per payment (journal)",
               per.write_bytes / KIB, "KiB", WRITE_LIMIT_KIB,
               f"{where}; payments {main.io_from}..{main.payments}"),
        Figure(SECTION_DISK, "wchar_kib", "wchar per payment (journal + tmpfs ledger)",
               per.wchar / KIB, "KiB", note="bytes passed to write(); the in-process sandbox's "
               "ledger writes are in it too"),
        Figure(SECTION_DISK, "ledger_write_bytes_kib", "write_bytes per payment (sandbox ledger)",
               (b.write_bytes - a.write_bytes) / KIB, "KiB",
               note=f"two {journal_only.payments}-payment runs: ledger on disk "
               f"{b.write_bytes / KIB:.1f} KiB minus ledger on tmpfs "
               f"{a.write_bytes / KIB:.1f} KiB"),
    ]  # fmt: skip


def _fresh(out_dir: Path, prefix: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=out_dir))
