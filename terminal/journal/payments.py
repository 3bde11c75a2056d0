"""Payments and their history: recording each step durably, and reading payments back."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from terminal.errors import JournalError
from terminal.journal import outbox, refunds
from terminal.journal.database import Database, wall_iso
from terminal.journal.rows import (
    COLUMNS,
    INSERT,
    SELECT,
    SELECT_STORED,
    STORED,
    check_identity,
    masked,
    read_payments,
    row_values,
)
from terminal.payment import Payment, PaymentState

__all__ = [
    "HistoryEntry",
    "cancelling_in_background",
    "get",
    "history",
    "last_paid",
    "recent",
    "record",
    "unresolved",
]


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One recorded step of a payment: its state then, and when (monotonic and wall)."""

    state: str
    note: str
    raw_status: str
    mono: float
    wall: str
    wall_synced: bool


def record(
    db: Database, payment: Payment, *, note: str, mono: float, wall: datetime, wall_synced: bool
) -> None:
    """Durably record ``payment`` as it stands now, with a history step, in one transaction.

    When nothing changed since the last record (same state, flags, references and
    texts) nothing is written at all, not even history, to spare the SD card. A
    payment that leaves the unresolved states gets one outbox item per final state.
    Changing a payment's identity (seq, shift, flow, provider, amount, creation
    time) is refused with ``JournalError``.
    """
    recorded_wall = wall_iso(wall)
    payment = masked(payment)
    new = (*row_values(payment), int(payment.is_unresolved))
    old = db.one(
        f"read {payment.order_id}", f"{SELECT_STORED} WHERE order_id = ?", (payment.order_id,)
    )
    stored_refunds = refunds.read_refunds(db.live(), payment.seq) if payment.refunds else ()
    changed = refunds.changed_refunds(stored_refunds, payment)
    if old is not None and tuple(old)[: len(COLUMNS)] == new[: len(COLUMNS)] and not changed:
        return
    if old is not None:
        check_identity(payment.order_id, old, new)
    marks = str(old["outboxed"]) if old is not None else ""
    new_marks = outbox.marks_with(marks, payment)
    stored = (*new, marks if new_marks is None else new_marks)
    told = [r for r in changed if r.state != "requested"]
    with db.write(f"record {payment.order_id}") as conn:
        if old is None:
            _insert_payment(conn, payment, stored, recorded_wall)
        else:
            _update_payment(conn, payment.seq, old, stored)
        _insert_history(conn, payment, note, mono, recorded_wall, wall_synced)
        refunds.write_refunds(conn, payment.seq, changed)
        for refund in told:
            outbox.add_item(conn, payment, recorded_wall, wall_synced, refund=refund)
        if new_marks is not None and not told:
            outbox.add_item(conn, payment, recorded_wall, wall_synced)


def get(db: Database, order_id: str) -> Payment | None:
    """Return the payment with ``order_id`` (its ``history`` filled), or None."""
    rows = read_payments(db, f"read {order_id}", f"{SELECT} WHERE order_id = ?", (order_id,))
    return rows[0] if rows else None


def history(db: Database, order_id: str) -> list[HistoryEntry]:
    """Return every recorded step of ``order_id``, oldest first (empty if unknown)."""
    rows = db.rows(
        f"read the history of {order_id}",
        "SELECT h.state, h.note, h.raw_status, h.mono, h.wall, h.wall_synced "
        "FROM payments p JOIN history h ON h.seq = p.seq "
        "WHERE p.order_id = ? ORDER BY h.n",
        (order_id,),
    )
    return [HistoryEntry(r[0], r[1], r[2], float(r[3]), r[4], bool(r[5])) for r in rows]


def unresolved(db: Database) -> list[Payment]:
    """Return the payments still owed a provider's final word, in seq order."""
    return read_payments(
        db, "read unresolved payments", f"{SELECT} WHERE unresolved = 1 ORDER BY seq"
    )


def cancelling_in_background(db: Database) -> int:
    """How many cancel-failed payments are still unsettled (closed in the background)."""
    rows = db.rows(
        "count the orders being cancelled",
        "SELECT count(*) FROM payments WHERE unresolved = 1 AND state = ?",
        (PaymentState.CANCEL_FAILED.value,),
    )
    return int(rows[0][0])


def recent(db: Database, limit: int = 20) -> list[Payment]:
    """Return the latest ``limit`` payments, newest first."""
    return read_payments(
        db, "read recent payments", f"{SELECT} ORDER BY seq DESC LIMIT ?", (limit,)
    )


def last_paid(db: Database) -> Payment | None:
    """Return the newest payment in state PAID, or None."""
    rows = read_payments(
        db,
        "read the last paid payment",
        f"{SELECT} WHERE state = ? ORDER BY seq DESC LIMIT 1",
        (PaymentState.PAID.value,),
    )
    return rows[0] if rows else None


def _insert_payment(
    conn: sqlite3.Connection, payment: Payment, stored: tuple[object, ...], recorded_wall: str
) -> None:
    """Insert a new payments row (refusing a seq already taken) and open its shift if new."""
    taken = conn.execute("SELECT order_id FROM payments WHERE seq = ?", (payment.seq,)).fetchone()
    if taken is not None:
        raise JournalError(f"{payment.order_id}: seq {payment.seq} is already used by {taken[0]}")
    conn.execute(INSERT, stored)
    conn.execute(
        "INSERT OR IGNORE INTO shifts (shift, opened_wall) VALUES (?, ?)",
        (payment.shift, recorded_wall),
    )


def _update_payment(
    conn: sqlite3.Connection, seq: int, old: sqlite3.Row, stored: tuple[object, ...]
) -> None:
    """Write only the columns that changed, so indexes on unchanged columns are not touched."""
    changed = [
        (name, value) for name, value in zip(STORED, stored, strict=True) if old[name] != value
    ]
    if not changed:
        return
    assignments = ", ".join(f"{name} = ?" for name, _ in changed)
    conn.execute(
        f"UPDATE payments SET {assignments} WHERE seq = ?",  # noqa: S608 - fixed column names
        (*(value for _, value in changed), seq),
    )


def _insert_history(
    conn: sqlite3.Connection,
    payment: Payment,
    note: str,
    mono: float,
    recorded_wall: str,
    wall_synced: bool,
) -> None:
    conn.execute(
        "INSERT INTO history (seq, n, state, note, raw_status, mono, wall, wall_synced) "
        "VALUES (?, (SELECT coalesce(max(n) + 1, 0) FROM history WHERE seq = ?), ?, ?, ?, ?, ?, ?)",
        (
            payment.seq,
            payment.seq,
            payment.state.value,
            note,
            payment.raw_status,
            float(mono),
            recorded_wall,
            int(wall_synced),
        ),
    )
