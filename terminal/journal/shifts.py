"""Through-numbering and shifts: the next number, the open shift, and a shift's figures."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from terminal.journal.database import Database, wall_iso
from terminal.journal.rows import SELECT, read_payments
from terminal.payment import Payment, PaymentState

__all__ = ["ShiftSummary", "close_shift", "current_shift", "next_seq", "shift_summary"]


@dataclass(frozen=True, slots=True)
class ShiftSummary:
    """A shift's figures for X/Z reports: only PAID is summed; FORCED is reported apart."""

    shift: int
    opened_wall: str  # "" while nothing has been recorded in the shift
    closed_wall: str | None
    paid_count: int
    paid_total: dict[str, int]  # currency -> minor units
    forced_count: int
    forced_total: dict[str, int]
    voided_count: int
    payments: tuple[Payment, ...]  # every payment of the shift, in seq order


def next_seq(db: Database) -> int:
    """Return 1 + the highest seq ever recorded (failed attempts keep their number)."""
    rows = db.rows("read the next number", "SELECT coalesce(max(seq), 0) FROM payments")
    return int(rows[0][0]) + 1


def current_shift(db: Database) -> int:
    """Return the open shift's number (1 at first; +1 after each ``close_shift``).

    Reading it writes nothing: the shift's row is written with its first payment.
    """
    row = db.one(
        "read the current shift",
        "SELECT shift, closed_wall FROM shifts ORDER BY shift DESC LIMIT 1",
    )
    if row is None:
        return 1
    return int(row[0]) + (1 if row[1] is not None else 0)


def shift_summary(db: Database, shift: int | None = None) -> ShiftSummary:
    """Summarise ``shift`` (default: the current one) for an X or Z report."""
    number = current_shift(db) if shift is None else shift
    row = db.one(
        "read a shift", "SELECT opened_wall, closed_wall FROM shifts WHERE shift = ?", (number,)
    )
    payments = read_payments(
        db, "read a shift's payments", f"{SELECT} WHERE shift = ? ORDER BY seq", (number,)
    )
    return _summarise(number, row, payments)


def close_shift(db: Database, *, wall: datetime, shift: int | None = None) -> ShiftSummary:
    """Close ``shift`` (default: the current one) at ``wall`` and return its summary.

    The next shift opens with its first payment. A shift already closed keeps the time it
    was closed at (closing it again writes nothing).
    """
    closed_wall = wall_iso(wall)
    number = current_shift(db) if shift is None else shift
    with db.write(f"close shift {number}") as conn:
        conn.execute(
            "INSERT INTO shifts (shift, opened_wall, closed_wall) VALUES (?, ?, ?) "
            "ON CONFLICT (shift) DO UPDATE SET closed_wall = excluded.closed_wall "
            "WHERE shifts.closed_wall IS NULL",
            (number, closed_wall, closed_wall),
        )
    return shift_summary(db, number)


def _summarise(number: int, shift_row: sqlite3.Row | None, payments: list[Payment]) -> ShiftSummary:
    paid: dict[str, int] = {}
    forced: dict[str, int] = {}
    counts = {PaymentState.PAID: 0, PaymentState.FORCED: 0, PaymentState.VOIDED: 0}
    for p in payments:
        if p.state in counts:
            counts[p.state] += 1
        totals = {PaymentState.PAID: paid, PaymentState.FORCED: forced}.get(p.state)
        if totals is not None:
            totals[p.amount.currency] = totals.get(p.amount.currency, 0) + p.amount.amount_minor
    return ShiftSummary(
        shift=number,
        opened_wall=str(shift_row[0]) if shift_row is not None else "",
        closed_wall=shift_row[1] if shift_row is not None else None,
        paid_count=counts[PaymentState.PAID],
        paid_total=paid,
        forced_count=counts[PaymentState.FORCED],
        forced_total=forced,
        voided_count=counts[PaymentState.VOIDED],
        payments=tuple(payments),
    )
