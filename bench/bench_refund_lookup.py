"""Refund by the slip: how long the journal takes to find the payment a slip names.

    .venv/bin/python -m bench.bench_refund_lookup            # the table
    .venv/bin/python -m bench.bench_refund_lookup --json     # one JSON document on stdout
    .venv/bin/python -m bench.bench_refund_lookup --quick    # 1 000 payments instead of 20 000

A journal is filled with paid payments (a shift's worth many times over), then
``Journal.find`` is timed for the scanned provider order number (the slip's barcode, through
the partial index) and for the typed through-number. The lookup runs on the event loop, so
the target is what the loop may spend without a countdown stuttering: 5 ms at p99.
It exits 0 whatever the figures say.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` and the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import Figure, print_figures  # noqa: E402
from terminal.journal import Journal  # noqa: E402
from terminal.money import Money  # noqa: E402
from terminal.payment import Payment, PaymentState  # noqa: E402

__all__ = ["main", "measure"]

SECTION = "refund lookup"
LIMIT_MS = 5.0
WALL = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _fill(journal: Journal, count: int) -> None:
    for _ in range(count):
        seq = journal.next_seq()
        payment = Payment(
            f"T0001-{journal.epoch}-{seq:06d}", seq, 1, "mpm", "paymaster",
            Money(150_000, "RUB"), PaymentState.PAID, provider_ref=f"PM-{seq:08d}",
        )  # fmt: skip
        journal.record(payment, note="paid", mono=0.0, wall=WALL, wall_synced=True)


def _percentiles(samples: list[float]) -> tuple[float, float]:
    samples.sort()
    return samples[len(samples) // 2], samples[int(len(samples) * 0.99)]


def measure(count: int, lookups: int = 2000) -> list[Figure]:
    """Fill a journal with ``count`` paid payments and time ``lookups`` of each kind."""
    with tempfile.TemporaryDirectory() as folder:
        journal = Journal.open(Path(folder) / "journal.database", terminal_id="T0001")
        try:
            _fill(journal, count)
            rng = random.Random(7)
            wanted = [rng.randint(1, count) for _ in range(lookups)]
            figures: list[Figure] = []
            for key, label, reference in (
                ("barcode", "provider order (the slip's barcode)", "PM-{:08d}"),
                ("number", "through-number typed on the keypad", "{:06d}"),
            ):
                samples = []
                for seq in wanted:
                    started = time.perf_counter()
                    found = journal.find(reference.format(seq))
                    samples.append((time.perf_counter() - started) * 1000)
                    assert found is not None
                    assert found.seq == seq
                p50, p99 = _percentiles(samples)
                where = f"among {count} payments"
                figures.append(Figure(SECTION, f"{key}_p50", f"{label}, p50, {where}", p50, "ms"))
                figures.append(
                    Figure(SECTION, f"{key}_p99", f"{label}, p99, {where}", p99, "ms", LIMIT_MS)
                )
            return figures
        finally:
            journal.close()


def main(argv: list[str] | None = None) -> int:
    """Print the figures (a table, or JSON with ``--json``); always returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument("--quick", action="store_true", help="1 000 payments instead of 20 000")
    args = parser.parse_args(argv)
    figures = measure(1000 if args.quick else 20_000)
    print_figures(figures, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
