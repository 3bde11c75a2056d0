"""Shift reports: building a Z report over a busy shift, and the bytes a shift close writes.

    .venv/bin/python -m bench.bench_reports            # the table
    .venv/bin/python -m bench.bench_reports --json     # one JSON document on stdout
    .venv/bin/python -m bench.bench_reports --quick    # 1 000 payments instead of 5 000

A journal on disk is filled with one shift of payments (paid, a refund in every tenth, a
void, a forced one, one in doubt), then the Z report's figures are read and its slip built
(with and without one line per transaction), and the shift is closed while the bytes
handed to write() are counted. Targets: 50 ms for the report, 16 KiB for the close.
It exits 0 whatever the figures say.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` and the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.measure import io_counters  # noqa: E402
from bench.report import Figure, print_figures  # noqa: E402
from terminal.journal import Journal  # noqa: E402
from terminal.money import Money  # noqa: E402
from terminal.payment import Payment, PaymentState, Refund, refund_key  # noqa: E402
from terminal.views.model import SlipKind  # noqa: E402
from terminal.views.reports import build_report  # noqa: E402

__all__ = ["main", "measure"]

SECTION = "reports"
REPORT_LIMIT_MS = 50.0
CLOSE_LIMIT_KIB = 16.0
WALL = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_STATES = (PaymentState.VOIDED, PaymentState.FORCED, PaymentState.PENDING)


def _fill(journal: Journal, count: int) -> None:
    for seq in range(1, count + 1):
        state = _STATES[seq % 50] if seq % 50 < len(_STATES) else PaymentState.PAID
        payment = Payment(
            f"T0001-{journal.epoch}-{seq:06d}", seq, 1, "cpm", "sandbox", Money(150_000, "RUB"),
            state, forced=state is PaymentState.FORCED, created_wall=WALL.isoformat(),
        )  # fmt: skip
        if seq % 10 == 5:
            refund = Refund(refund_key(payment.order_id, 1), 1, Money(50_000, "RUB"), 1,
                            "refunded", wall=WALL.isoformat())  # fmt: skip
            payment = payment.with_refund(refund)
            payment = payment.with_state(payment.state_after_refunds())
        journal.record(payment, note="paid", mono=0.0, wall=WALL, wall_synced=True)


def _best_ms(action: object, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        best = min(best, (time.perf_counter() - started) * 1000)
    return best


def measure(count: int) -> list[Figure]:
    """Fill a journal with a shift of ``count`` payments; time its report; close it."""
    with tempfile.TemporaryDirectory() as folder:
        journal = Journal.open(Path(folder) / "journal.database", terminal_id="T0001")
        try:
            _fill(journal, count)

            def report(detail: bool) -> None:
                data = journal.report(shift=1, detail=detail)
                build_report(data, SlipKind.Z_REPORT, terminal_id="T0001",
                             printed_wall=WALL.isoformat(), language="en")  # fmt: skip

            plain = _best_ms(lambda: report(False), 5)
            detail = _best_ms(lambda: report(True), 3)
            before = io_counters()
            journal.close_shift_report(wall=WALL)
            written = (io_counters() - before).wchar / 1024
        finally:
            journal.close()
    where = f"shift of {count} payments, journal on disk"
    return [
        Figure(SECTION, "z_report_ms", f"Z report (figures + slip), {where}", plain, "ms",
               REPORT_LIMIT_MS),
        Figure(SECTION, "z_detail_ms", f"Z report with one line per transaction, {where}",
               detail, "ms"),
        Figure(SECTION, "close_kib", "close a shift and read its Z: bytes written", written,
               "KiB", CLOSE_LIMIT_KIB),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Print the figures (a table, or JSON with ``--json``); always returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument("--quick", action="store_true", help="1 000 payments instead of 5 000")
    args = parser.parse_args(argv)
    print_figures(measure(1000 if args.quick else 5000), as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
