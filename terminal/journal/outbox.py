"""The outbox: finished records waiting to be sent upstream, in id order, once each.

A payment that leaves the unresolved states gets one outbox item per final state it
reaches (its ``outboxed`` column lists the states already queued). An item keeps the
payment's seq and a small JSON snapshot of its changing fields; its fixed fields are
read from ``payments`` when the item is. ``meta.outbox_sent_through`` is a watermark
(every id up to it is sent), so pending items are found without a scan.

A sender reads :func:`pending_items` and, once the receiver acknowledged them, calls
:func:`mark_sent`; the journal writes the items as it records payments. The sync task reads
:func:`items_after` instead, one watermark per target (``sync_marks``): once targets are
configured, ``outbox_sent_through`` follows the lowest of their watermarks.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from terminal.journal.database import Database, wall_iso
from terminal.journal.refunds import refund_json
from terminal.journal.rows import IDENTITY
from terminal.payment import Payment, Refund

__all__ = [
    "OutboxItem",
    "add_item",
    "count_pending",
    "items_after",
    "mark_sent",
    "marks_with",
    "pending_items",
]

_SELECT_ITEMS = (
    "SELECT o.id, o.snapshot, o.created_wall, "  # noqa: S608 - fixed column names
    f"{', '.join(f'p.{c}' for c in ('order_id', *IDENTITY))} "
    "FROM outbox o JOIN payments p ON p.seq = o.seq "
)
_SELECT_PENDING = f"{_SELECT_ITEMS} WHERE o.id > ? AND o.sent_wall IS NULL ORDER BY o.id LIMIT ?"
_SELECT_AFTER = f"{_SELECT_ITEMS} WHERE o.id > ? ORDER BY o.id LIMIT ?"


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A finished record waiting to be sent upstream; ``payload`` is JSON."""

    id: int
    order_id: str
    payload: str
    created_wall: str


def marks_with(marks: str, payment: Payment) -> str | None:
    """The ``outboxed`` marks with the payment's final state added; None if no item is due."""
    if payment.is_unresolved or payment.state.value in marks.split(","):
        return None
    return f"{marks},{payment.state.value}".lstrip(",")


def add_item(
    conn: sqlite3.Connection,
    payment: Payment,
    recorded_wall: str,
    wall_synced: bool,
    *,
    refund: Refund | None = None,
) -> None:
    """Queue the record of ``payment`` as it stands, inside the caller's transaction.

    With ``refund`` the item is that refund's record: the payment's snapshot plus a
    ``refund`` object (its key, amount, state, times and shift).
    """
    steps = conn.execute("SELECT count(*) FROM history WHERE seq = ?", (payment.seq,)).fetchone()
    snapshot = _snapshot(payment, recorded_wall, wall_synced, int(steps[0]), refund)
    conn.execute(
        "INSERT INTO outbox (seq, snapshot, created_wall) VALUES (?, ?, ?)",
        (payment.seq, snapshot, recorded_wall),
    )


def pending_items(
    db: Database, *, terminal_id: str, epoch: str, limit: int = 100
) -> list[OutboxItem]:
    """Return up to ``limit`` unsent outbox items, in id order."""
    rows = db.rows("read the outbox", _SELECT_PENDING, (_sent_through(db), limit))
    return [_item(row, terminal_id, epoch) for row in rows]


def items_after(
    db: Database, after: int, *, terminal_id: str, epoch: str, limit: int = 100
) -> list[OutboxItem]:
    """Return up to ``limit`` outbox items with ids above ``after`` (one target's watermark)."""
    rows = db.rows("read the outbox", _SELECT_AFTER, (after, limit))
    return [_item(row, terminal_id, epoch) for row in rows]


def count_pending(db: Database, limit: int = 100) -> int:
    """How many outbox items wait to be sent, counted up to ``limit`` (no rows read)."""
    row = db.one(
        "count the outbox",
        "SELECT COUNT(*) FROM (SELECT 1 FROM outbox WHERE id > ? AND sent_wall IS NULL LIMIT ?)",
        (_sent_through(db), limit),
    )
    return int(row[0]) if row is not None else 0


def mark_sent(db: Database, ids: Sequence[int], *, wall: datetime) -> None:
    """Mark outbox items as delivered upstream (unknown or already sent ids are ignored)."""
    if not ids:
        return
    sent_wall = wall_iso(wall)
    with db.write("mark outbox items sent") as conn:
        conn.executemany(
            "UPDATE outbox SET sent_wall = ? WHERE id = ? AND sent_wall IS NULL",
            [(sent_wall, int(i)) for i in ids],
        )
        _advance_watermark(conn)


def _snapshot(
    payment: Payment, recorded_wall: str, wall_synced: bool, steps: int, refund: Refund | None
) -> str:
    """The changing fields of a finished record, as compact JSON for the outbox.

    ``history_steps`` is how many history steps the payment had then (the record's
    history is those steps, however many come later).
    """
    body: dict[str, object] = {
        "history_steps": steps,
        "state": payment.state.value,
        "provider_ref": payment.provider_ref,
        "code_masked": payment.code_masked,
        "wallet": payment.wallet,
        "raw_status": payment.raw_status,
        "message": payment.message,
        "forced": payment.forced,
        "needs_admin": payment.needs_admin,
        "mismatch": payment.mismatch,
        "recorded_wall": recorded_wall,
        "recorded_wall_synced": wall_synced,
    }
    if refund is not None:
        body["refund"] = refund_json(refund)
    return json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def _sent_through(db: Database) -> int:
    row = db.one(
        "read the outbox watermark", "SELECT value FROM meta WHERE key = 'outbox_sent_through'"
    )
    return int(row[0]) if row is not None else 0


def _item(row: sqlite3.Row, terminal_id: str, epoch: str) -> OutboxItem:
    """Rebuild an outbox item's JSON payload: fixed fields plus the record's snapshot."""
    body: dict[str, object] = {"terminal_id": terminal_id, "epoch": epoch}
    body.update({name: row[name] for name in ("order_id", *IDENTITY)})
    body["wall_synced"] = bool(body["wall_synced"])
    body.update(json.loads(row["snapshot"]))
    payload = json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return OutboxItem(int(row["id"]), str(row["order_id"]), payload, str(row["created_wall"]))


def _advance_watermark(conn: sqlite3.Connection) -> None:
    """Move ``outbox_sent_through`` up to just below the oldest unsent item."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'outbox_sent_through'").fetchone()
    mark = int(row[0]) if row is not None else 0
    oldest = conn.execute(
        "SELECT min(id) FROM outbox WHERE id > ? AND sent_wall IS NULL", (mark,)
    ).fetchone()[0]
    if oldest is None:
        oldest = int(conn.execute("SELECT coalesce(max(id), 0) FROM outbox").fetchone()[0]) + 1
    if int(oldest) - 1 != mark:
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('outbox_sent_through', ?)",
            (str(int(oldest) - 1),),
        )
