"""Opening the journal at start, with the check that refuses a damaged one; and a recovery.

    .venv/bin/python -m bench.bench_journal_open            # the table
    .venv/bin/python -m bench.bench_journal_open --json     # one JSON document on stdout
    .venv/bin/python -m bench.bench_journal_open --quick    # 2 000 payments instead of 50 000

A journal is filled with paid payments, then opened as the terminal opens it at start:
after a clean stop (the file is checked in place, read-only) and after a power cut (a
write-ahead log lies beside it, so a copy of both is checked). ``probe.inspect`` alone is
timed too: it is what the check adds to every start. Then the journal is damaged (a page
of the payments table) and ``payterm journal --recover``'s salvage is timed. The start
target is what a boot may spend on it: 2 s on this machine for the larger journal. It
exits 0 whatever the figures say.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` and the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import Figure, print_figures  # noqa: E402
from terminal.journal import Journal, probe  # noqa: E402
from terminal.journal.recovery import recover  # noqa: E402
from terminal.money import Money  # noqa: E402
from terminal.payment import Payment, PaymentState  # noqa: E402

__all__ = ["main", "measure"]

SECTION = "journal open and recovery"
OPEN_LIMIT_S = 2.0
WALL = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RUNS = 3


def _fill(journal: Journal, count: int) -> None:
    for _ in range(count):
        seq = journal.next_seq()
        payment = Payment(
            f"T0001-{journal.epoch}-{seq:06d}", seq, 1, "mpm", "paymaster",
            Money(150_000, "RUB"), PaymentState.PAID, provider_ref=f"PM-{seq:08d}",
        )  # fmt: skip
        journal.record(payment, note="paid", mono=0.0, wall=WALL, wall_synced=True)


def _best(action: object) -> float:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def measure(count: int) -> list[Figure]:
    """Fill a journal with ``count`` payments; time its opens, its check and a recovery."""
    with tempfile.TemporaryDirectory() as folder:
        clean = Path(folder) / "clean" / "journal.sqlite3"
        journal = Journal.open(clean, terminal_id="T0001")
        _fill(journal, count)
        hot = Path(folder) / "hot"
        hot.mkdir()
        for name in (clean.name, f"{clean.name}-wal", f"{clean.name}.marker"):
            if (clean.parent / name).exists():
                shutil.copyfile(clean.parent / name, hot / name)
        journal.close()
        size_mb = clean.stat().st_size / 1e6
        where = f"{count} payments, {size_mb:.1f} MB"

        def open_clean() -> None:
            Journal.open(clean, terminal_id="T0001").close()

        def hot_copy() -> Path:
            target = Path(folder) / "cut"
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(hot, target)
            return target / clean.name

        cut_samples = []
        for _ in range(RUNS):
            path = hot_copy()
            started = time.perf_counter()
            Journal.open(path, terminal_id="T0001").close()
            cut_samples.append(time.perf_counter() - started)
        figures = [
            Figure(SECTION, "open_clean", f"open after a clean stop, {where}",
                   _best(open_clean), "s", OPEN_LIMIT_S),
            Figure(SECTION, "check_clean", f"of which the check (read-only), {where}",
                   _best(lambda: probe.inspect(clean)), "s"),
            Figure(SECTION, "open_after_cut", f"open after a power cut (WAL beside it), {where}",
                   statistics.median(cut_samples), "s", OPEN_LIMIT_S),
        ]  # fmt: skip
        data = bytearray(clean.read_bytes())
        needle, offset = f"T0001-{journal.epoch}-{count // 2:06d}".encode(), 0
        while True:  # the payments table's page (the unique index holds the id too)
            offset = data.index(needle, offset + 1)
            page = offset // 512 * 512
            if b"paymaster" in data[page : page + 512]:
                break
        data[page : page + 8] = b"\xff" * 8
        clean.write_bytes(bytes(data))
        started = time.perf_counter()
        result = recover(clean, terminal_id="T0001", now=WALL)
        took = time.perf_counter() - started
        payments = next(c for c in result.counts if c.table == "payments")
        figures.append(
            Figure(
                SECTION,
                "recover",
                f"recover a damaged page ({payments.recovered} of {count} payments read back)",
                took,
                "s",
            )  # fmt: skip
        )
        return figures


def main(argv: list[str] | None = None) -> int:
    """Print the figures (a table, or JSON with ``--json``); always returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument("--quick", action="store_true", help="2 000 payments instead of 50 000")
    args = parser.parse_args(argv)
    logging.disable(logging.ERROR)  # the damage found and the report are not figures
    print_figures(measure(2000 if args.quick else 50_000), as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
