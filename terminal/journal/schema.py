"""The journal's SQLite schema as an ordered list of migrations, versioned by ``user_version``.

Layout, chosen so that a payment costs few page writes on an SD card:

- ``payments`` is keyed by ``seq`` (the through-number, a rowid), so the newest rows
  and the next number sit at the right edge of one B-tree; a payment's row is
  rewritten in place when its state changes. ``order_id`` has the one unique index
  lookups need; ``shift`` is indexed for reports; a *partial* index on the
  ``unresolved`` flag holds only the payments still owed a provider's final word, so
  finding them after a restart never scans the table, and a step between two
  unresolved states (NEW to PENDING) does not touch it.
- ``history`` is keyed by ``(seq, n)`` without rowid: appends land on one hot page.
- ``outbox`` keeps every record to send upstream: the payment's seq and a small JSON
  snapshot of its changing fields at that record (its fixed fields are in
  ``payments``). ``meta.outbox_sent_through`` is a watermark (all ids up to it are
  sent), so pending items are found without a scan.
- ``provider_ref`` has a partial index (rows that have one), for refunds by the slip.
- ``shifts`` has one row per shift, written when the shift's first payment is
  recorded and when it is closed.
- ``refunds`` has one row per refund by the slip (its own key, amount, state, times and
  shift), indexed by payment and by shift; the payment's state follows from them.
- ``sync_targets`` has one row per sync target: its watermark (every outbox id up to
  ``acked_through`` was acknowledged by that receiver), a parked batch, the last error.
  ``meta.outbox_sent_through`` then follows the lowest watermark of the active targets.

Rows are never deleted, so ids and numbers are never reused; the one exception is the
outbox, whose items every target has are pruned after a while, never the newest one
(so an outbox id is never given twice).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from terminal.errors import JournalError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "PAGE_SIZE", "migrate", "version_of"]

#: Bytes per database page, fixed when the file is created (set it before WAL mode and
#: the first table). Small pages keep each commit's WAL frames (page + 24 bytes each)
#: within one or two 4 KiB filesystem pages.
PAGE_SIZE = 512

_V1 = (
    """CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE payments (
        seq INTEGER PRIMARY KEY,
        order_id TEXT NOT NULL UNIQUE,
        shift INTEGER NOT NULL,
        flow TEXT NOT NULL,
        provider TEXT NOT NULL,
        amount_minor INTEGER NOT NULL,
        currency TEXT NOT NULL,
        created_wall TEXT NOT NULL,
        wall_synced INTEGER NOT NULL,
        state TEXT NOT NULL,
        provider_ref TEXT,
        qr_payload TEXT,
        code_masked TEXT NOT NULL,
        raw_status TEXT NOT NULL,
        message TEXT NOT NULL,
        forced INTEGER NOT NULL,
        needs_admin INTEGER NOT NULL,
        mismatch INTEGER NOT NULL,
        unresolved INTEGER NOT NULL,
        outboxed TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE INDEX payments_by_shift ON payments (shift)",
    "CREATE INDEX payments_unresolved ON payments (seq) WHERE unresolved = 1",
    """CREATE TABLE history (
        seq INTEGER NOT NULL,
        n INTEGER NOT NULL,
        state TEXT NOT NULL,
        note TEXT NOT NULL,
        raw_status TEXT NOT NULL,
        mono REAL NOT NULL,
        wall TEXT NOT NULL,
        wall_synced INTEGER NOT NULL,
        PRIMARY KEY (seq, n)
    ) WITHOUT ROWID""",
    """CREATE TABLE shifts (
        shift INTEGER PRIMARY KEY,
        opened_wall TEXT NOT NULL,
        closed_wall TEXT
    )""",
    """CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        seq INTEGER NOT NULL,
        snapshot TEXT NOT NULL,
        created_wall TEXT NOT NULL,
        sent_wall TEXT
    )""",
    "INSERT INTO meta (key, value) VALUES ('outbox_sent_through', '0')",
)

#: Refund by the slip looks a payment up by the provider's order number printed on it.
_V2 = (
    "CREATE INDEX payments_by_provider_ref ON payments (provider_ref) "
    "WHERE provider_ref IS NOT NULL",
)

#: The integrator API (``terminal/journal/api_store.py``): the POS pairings (the hash of each
#: API key only), idempotency keys, what each API payment asked for, and one numbered event
#: per payment step (written by a trigger in the step's own transaction, so the event stream
#: resumes exactly from an id after a restart) or terminal condition.
_V3 = (
    """CREATE TABLE api_pairings (
        name TEXT PRIMARY KEY,
        key_hash TEXT NOT NULL UNIQUE,
        created_wall TEXT NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE api_requests (
        idempotency_key TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        body_hash TEXT NOT NULL,
        order_id TEXT NOT NULL,
        created_wall TEXT NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE api_payments (
        order_id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        reference TEXT NOT NULL,
        method TEXT NOT NULL,
        description TEXT NOT NULL,
        amount_minor INTEGER NOT NULL,
        currency TEXT NOT NULL,
        provider TEXT NOT NULL,
        status TEXT NOT NULL,
        created_wall TEXT NOT NULL
    ) WITHOUT ROWID""",
    "CREATE INDEX api_payments_by_reference ON api_payments (reference, seq)",
    """CREATE TABLE api_events (
        id INTEGER PRIMARY KEY,
        seq INTEGER,
        n INTEGER,
        kind TEXT NOT NULL,
        body TEXT NOT NULL DEFAULT '',
        wall TEXT NOT NULL DEFAULT ''
    )""",
    """CREATE TRIGGER api_event_per_step AFTER INSERT ON history BEGIN
        INSERT INTO api_events (seq, n, kind) VALUES (NEW.seq, NEW.n, 'payment');
    END""",
    """CREATE TRIGGER api_event_per_order AFTER INSERT ON api_payments
        WHEN NEW.status != 'started' BEGIN
        INSERT INTO api_events (seq, kind, body, wall)
            VALUES (NEW.seq, 'order', json_object('id', NEW.order_id), NEW.created_wall);
    END""",
    """CREATE TRIGGER api_event_per_abandon AFTER UPDATE OF status ON api_payments
        WHEN NEW.status = 'abandoned' AND OLD.status != 'abandoned' BEGIN
        INSERT INTO api_events (seq, kind, body, wall)
            VALUES (NEW.seq, 'order', json_object('id', NEW.order_id), '');
    END""",
)

#: Sync upstream: one watermark per target, moved only once its receiver acknowledged.
_SYNC_WATERMARKS = (
    """CREATE TABLE sync_targets (
        name TEXT PRIMARY KEY,
        active INTEGER NOT NULL DEFAULT 1,
        acked_through INTEGER NOT NULL DEFAULT 0,
        acked_wall TEXT,
        parked_through INTEGER,
        parked_reason TEXT NOT NULL DEFAULT '',
        last_error TEXT NOT NULL DEFAULT '',
        error_wall TEXT
    ) WITHOUT ROWID""",
)

#: Refunds as records of their own (``terminal/journal/refunds.py``): one row per refund,
#: with its key, amount, state, provider reference, times and the shift it was made in.
#: Old journals: a payment refunded by its slip (VOIDED with a "refunded" step) becomes
#: REFUNDED with one refund of the whole amount under its old key ``<order id>-void``, made
#: at that step's time in the shift open then; one whose refund by the slip was still under
#: way (VOIDING after "refund requested") becomes REFUNDING with that refund requested. A
#: void right after payment stays VOIDED. ``shifts_by_close`` serves reports by date.
_REFUNDS = (
    """CREATE TABLE refunds (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        seq INTEGER NOT NULL,
        n INTEGER NOT NULL,
        amount_minor INTEGER NOT NULL,
        currency TEXT NOT NULL,
        shift INTEGER NOT NULL,
        state TEXT NOT NULL,
        forced INTEGER NOT NULL DEFAULT 0,
        reconciled INTEGER NOT NULL DEFAULT 0,
        mismatch INTEGER NOT NULL DEFAULT 0,
        provider_ref TEXT,
        wall TEXT NOT NULL,
        wall_synced INTEGER NOT NULL,
        done_wall TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE UNIQUE INDEX refunds_by_payment ON refunds (seq, n)",
    "CREATE INDEX refunds_by_shift ON refunds (shift)",
    """INSERT INTO refunds (key, seq, n, amount_minor, currency, shift, state, wall,
            wall_synced, done_wall)
        SELECT p.order_id || '-void', p.seq, 1, p.amount_minor, p.currency,
            coalesce((SELECT min(s.shift) FROM shifts s
                      WHERE s.closed_wall IS NULL OR s.closed_wall >= h.wall), p.shift),
            CASE p.state WHEN 'voided' THEN 'refunded' ELSE 'requested' END,
            h.wall, h.wall_synced, CASE p.state WHEN 'voided' THEN h.wall ELSE '' END
        FROM payments p JOIN history h ON h.seq = p.seq
        WHERE h.n = (SELECT max(n) FROM history WHERE seq = p.seq)
          AND ((p.state = 'voided' AND h.note = 'refunded')
               OR (p.state = 'voiding' AND h.note = 'refund requested'))""",
    """UPDATE payments SET state = CASE state WHEN 'voided' THEN 'refunded' ELSE 'refunding' END
        WHERE seq IN (SELECT seq FROM refunds)""",
)


#: The wallet or payment type each payment was made with (the cashier's choice for a QR,
#: the route's wallet for a code), for the slip, the listing and the reports; older rows
#: have "".
_PAYMENT_WALLET = ("ALTER TABLE payments ADD COLUMN wallet TEXT NOT NULL DEFAULT ''",)

#: Migration ``i`` (0-based) takes the schema from version ``i`` to ``i + 1``.
#: Append new steps; never edit a step that has shipped.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    _V1,
    _V2,
    _V3,
    _SYNC_WATERMARKS,
    _PAYMENT_WALLET,
    _REFUNDS,
)

#: The schema version this code writes.
SCHEMA_VERSION = len(MIGRATIONS)


def version_of(conn: sqlite3.Connection) -> int:
    """Return the schema version stored in the database (0 for a new file)."""
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(conn: sqlite3.Connection, path: Path) -> int:
    """Bring the database up to ``SCHEMA_VERSION``, one transaction per step; return it.

    ``conn`` must be in autocommit mode (``isolation_level=None``). A database newer
    than this code raises ``JournalError``; sqlite3 errors propagate to the caller.
    """
    found = version_of(conn)
    if found > SCHEMA_VERSION:
        raise JournalError(
            f"{path}: journal schema version {found} is newer than this software knows "
            f"({SCHEMA_VERSION}); install the newer software or open a matching journal"
        )
    for version in range(found, SCHEMA_VERSION):
        _apply(conn, MIGRATIONS[version], version + 1)
    return SCHEMA_VERSION


def _apply(conn: sqlite3.Connection, statements: tuple[str, ...], version: int) -> None:
    """Run one migration step and stamp its version, all in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in statements:
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {version:d}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
