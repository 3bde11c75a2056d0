"""The journal: the terminal's durable SQLite record of payments, their history, shifts and outbox.

Written from one place (the runtime, on the asyncio loop's thread). A payment's intent
is recorded before any provider call; after a crash ``unresolved()`` finds every
payment still owed a provider's final word.

Durability and wear: WAL with ``synchronous=FULL`` (each commit is fsynced), 512-byte
pages, only changed columns rewritten, and ``locking_mode=EXCLUSIVE`` so no
shared-memory file is kept on the SD card.
The exclusive lock also means a second process (or a second ``Journal`` in the same
process) cannot open the journal while it is open: it gets ``JournalError`` rather
than a chance to record payments twice. Reads never write.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import secrets
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, cast

from terminal.errors import JournalError, JournalFull
from terminal.journal import schema
from terminal.money import Money
from terminal.payment import Flow, Payment, PaymentState, mask_code

__all__ = ["Journal", "HistoryEntry", "ShiftSummary", "OutboxItem"]

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 1.0  # a journal held by another process is a fault to report, not to wait out
WAL_AUTOCHECKPOINT_PAGES = 4000  # ~2 MiB of WAL per checkpoint: hot pages are copied once
JOURNAL_SIZE_LIMIT_BYTES = 4 * 1024 * 1024  # above one checkpoint cycle, so the WAL is reused

# Fields fixed when a payment is first recorded; a later record() may not change them.
_IDENTITY = (
    "seq",
    "shift",
    "flow",
    "provider",
    "amount_minor",
    "currency",
    "created_wall",
    "wall_synced",
)
# Fields a later record() updates in place (only those that changed are written).
_MUTABLE = (
    "state",
    "provider_ref",
    "qr_payload",
    "code_masked",
    "raw_status",
    "message",
    "forced",
    "needs_admin",
    "mismatch",
)
_COLUMNS = ("order_id", *_IDENTITY, *_MUTABLE)
# The stored row: the payment, then the journal's own marks.
_STORED = (*_COLUMNS, "unresolved", "outboxed")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM payments"  # noqa: S608 - fixed column names
_SELECT_STORED = f"SELECT {', '.join(_STORED)} FROM payments"  # noqa: S608
_INSERT = (
    f"INSERT INTO payments ({', '.join(_STORED)}) "  # noqa: S608
    f"VALUES ({', '.join('?' * len(_STORED))})"
)
_SELECT_OUTBOX = (
    "SELECT o.id, o.snapshot, o.created_wall, "  # noqa: S608 - fixed column names
    f"{', '.join(f'p.{c}' for c in ('order_id', *_IDENTITY))} "
    "FROM outbox o JOIN payments p ON p.seq = o.seq "
    "WHERE o.id > ? AND o.sent_wall IS NULL ORDER BY o.id LIMIT ?"
)
_FLOWS: frozenset[str] = frozenset({"mpm", "cpm"})


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One recorded step of a payment: its state then, and when (monotonic and wall)."""

    state: str
    note: str
    raw_status: str
    mono: float
    wall: str
    wall_synced: bool


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


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A finished record waiting to be sent upstream; ``payload`` is JSON."""

    id: int
    order_id: str
    payload: str
    created_wall: str


class Journal:
    """The durable record of payments; open it with ``Journal.open(path, terminal_id=...)``.

    All methods are loop-thread only and synchronous (they are fast). Failures raise
    ``JournalError`` (``JournalFull`` when the disk is full); a failed write leaves
    nothing half-written and the journal stays readable.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, *, terminal_id: str, epoch: str):
        self._conn: sqlite3.Connection | None = conn
        self._path = path
        self._epoch = epoch
        self.terminal_id = terminal_id

    @classmethod
    def open(cls, path: Path, *, terminal_id: str) -> Journal:
        """Open (creating and migrating if needed) the journal at ``path``."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except OSError as exc:
            raise _os_error(path, exc) from exc
        except sqlite3.Error as exc:
            raise _journal_error(path, "open the journal", exc) from exc
        try:
            _configure(conn)
            schema.migrate(conn, path)
            epoch = _ensure_meta(conn, terminal_id)
        except sqlite3.Error as exc:
            conn.close()
            raise _journal_error(path, "open the journal", exc) from exc
        except BaseException:
            conn.close()
            raise
        return cls(conn, path, terminal_id=terminal_id, epoch=epoch)

    @property
    def epoch(self) -> str:
        """Four random hex digits made when the journal was created; part of order ids."""
        return self._epoch

    @property
    def path(self) -> Path:
        """The journal's database file."""
        return self._path

    @property
    def is_open(self) -> bool:
        """True until ``close()``."""
        return self._conn is not None

    def next_seq(self) -> int:
        """Return 1 + the highest seq ever recorded (failed attempts keep their number)."""
        rows = self._rows("read the next number", "SELECT coalesce(max(seq), 0) FROM payments")
        return int(rows[0][0]) + 1

    def current_shift(self) -> int:
        """Return the open shift's number (1 at first; +1 after each ``close_shift``).

        Reading it writes nothing: the shift's row is written with its first payment.
        """
        row = self._one(
            "read the current shift",
            "SELECT shift, closed_wall FROM shifts ORDER BY shift DESC LIMIT 1",
        )
        if row is None:
            return 1
        return int(row[0]) + (1 if row[1] is not None else 0)

    def record(
        self, payment: Payment, *, note: str, mono: float, wall: datetime, wall_synced: bool
    ) -> None:
        """Durably record ``payment`` as it stands now, with a history step, in one transaction.

        When nothing changed since the last record (same state, flags, references and
        texts) nothing is written at all, not even history, to spare the SD card. A
        payment that leaves the unresolved states gets one outbox item per final state.
        Changing a payment's identity (seq, shift, flow, provider, amount, creation
        time) is refused with ``JournalError``.
        """
        wall_iso = _iso(wall)
        payment = _masked(payment)
        new = (*_row_values(payment), int(payment.is_unresolved))
        old = self._one(
            f"read {payment.order_id}", f"{_SELECT_STORED} WHERE order_id = ?", (payment.order_id,)
        )
        if old is not None and tuple(old)[: len(_COLUMNS)] == new[: len(_COLUMNS)]:
            return
        if old is not None:
            _check_identity(payment.order_id, old, new)
        outboxed = str(old["outboxed"]) if old is not None else ""
        add_outbox = not payment.is_unresolved and payment.state.value not in outboxed.split(",")
        if add_outbox:
            outboxed = f"{outboxed},{payment.state.value}".lstrip(",")
        with self._write(f"record {payment.order_id}") as conn:
            if old is None:
                _insert_payment(conn, payment, (*new, outboxed), wall_iso)
            else:
                _update_payment(conn, payment.seq, old, (*new, outboxed))
            _insert_history(conn, payment, note, mono, wall_iso, wall_synced)
            if add_outbox:
                conn.execute(
                    "INSERT INTO outbox (seq, snapshot, created_wall) VALUES (?, ?, ?)",
                    (payment.seq, _snapshot(payment, wall_iso, wall_synced), wall_iso),
                )

    def get(self, order_id: str) -> Payment | None:
        """Return the payment with ``order_id`` (its ``history`` filled), or None."""
        rows = self._all(f"read {order_id}", f"{_SELECT} WHERE order_id = ?", (order_id,))
        return rows[0] if rows else None

    def find(self, reference: str) -> Payment | None:
        """Return the payment a slip's ``reference`` names, or None.

        ``reference`` is what a refund scans or types from the slip: the provider's order
        number (the barcode), the terminal's order id, or the through-number ("000123").
        Where a provider reused a number, the newest payment wins.
        """
        action = f"look up {reference!r}"
        rows = self._all(
            action, f"{_SELECT} WHERE provider_ref = ? ORDER BY seq DESC LIMIT 1", (reference,)
        )
        if not rows:
            rows = self._all(action, f"{_SELECT} WHERE order_id = ?", (reference,))
        if not rows and reference.isdigit() and len(reference) <= 18:
            rows = self._all(action, f"{_SELECT} WHERE seq = ?", (int(reference),))
        return rows[0] if rows else None

    def history(self, order_id: str) -> list[HistoryEntry]:
        """Return every recorded step of ``order_id``, oldest first (empty if unknown)."""
        rows = self._rows(
            f"read the history of {order_id}",
            "SELECT h.state, h.note, h.raw_status, h.mono, h.wall, h.wall_synced "
            "FROM payments p JOIN history h ON h.seq = p.seq "
            "WHERE p.order_id = ? ORDER BY h.n",
            (order_id,),
        )
        return [HistoryEntry(r[0], r[1], r[2], float(r[3]), r[4], bool(r[5])) for r in rows]

    def unresolved(self) -> list[Payment]:
        """Return the payments still owed a provider's final word, in seq order."""
        return self._all("read unresolved payments", f"{_SELECT} WHERE unresolved = 1 ORDER BY seq")

    def recent(self, limit: int = 20) -> list[Payment]:
        """Return the latest ``limit`` payments, newest first."""
        return self._all("read recent payments", f"{_SELECT} ORDER BY seq DESC LIMIT ?", (limit,))

    def last_paid(self) -> Payment | None:
        """Return the newest payment in state PAID, or None."""
        rows = self._all(
            "read the last paid payment",
            f"{_SELECT} WHERE state = ? ORDER BY seq DESC LIMIT 1",
            (PaymentState.PAID.value,),
        )
        return rows[0] if rows else None

    def shift_summary(self, shift: int | None = None) -> ShiftSummary:
        """Summarise ``shift`` (default: the current one) for an X or Z report."""
        number = self.current_shift() if shift is None else shift
        row = self._one(
            "read a shift", "SELECT opened_wall, closed_wall FROM shifts WHERE shift = ?", (number,)
        )
        payments = self._all(
            "read a shift's payments", f"{_SELECT} WHERE shift = ? ORDER BY seq", (number,)
        )
        return _summarise(number, row, payments)

    def close_shift(self, *, wall: datetime) -> ShiftSummary:
        """Close the current shift at ``wall`` and return its summary; the next one opens."""
        wall_iso = _iso(wall)
        number = self.current_shift()
        with self._write(f"close shift {number}") as conn:
            conn.execute(
                "INSERT INTO shifts (shift, opened_wall, closed_wall) VALUES (?, ?, ?) "
                "ON CONFLICT (shift) DO UPDATE SET closed_wall = excluded.closed_wall",
                (number, wall_iso, wall_iso),
            )
        return self.shift_summary(number)

    def outbox_pending(self, limit: int = 100) -> list[OutboxItem]:
        """Return up to ``limit`` unsent outbox items, in id order."""
        rows = self._rows(
            "read the outbox",
            _SELECT_OUTBOX,
            (self._sent_through(), limit),
        )
        return [self._outbox_item(row) for row in rows]

    def outbox_count(self, limit: int = 100) -> int:
        """How many outbox items wait to be sent, counted up to ``limit`` (no rows read)."""
        row = self._one(
            "count the outbox",
            "SELECT COUNT(*) FROM (SELECT 1 FROM outbox "
            "WHERE id > ? AND sent_wall IS NULL LIMIT ?)",
            (self._sent_through(), limit),
        )
        return int(row[0]) if row is not None else 0

    def mark_sent(self, ids: Sequence[int], *, wall: datetime) -> None:
        """Mark outbox items as delivered upstream (unknown or already sent ids are ignored)."""
        if not ids:
            return
        wall_iso = _iso(wall)
        with self._write("mark outbox items sent") as conn:
            conn.executemany(
                "UPDATE outbox SET sent_wall = ? WHERE id = ? AND sent_wall IS NULL",
                [(wall_iso, int(i)) for i in ids],
            )
            _advance_watermark(conn)

    def integrity_check(self) -> str:
        """Return "ok" when SQLite finds the file sound, else the problems it names."""
        rows = self._rows("check the journal", "PRAGMA integrity_check")
        return "; ".join(str(r[0]) for r in rows)

    def status(self) -> dict[str, object]:
        """Return a small status report for the self-check and the API."""
        if self._conn is None:
            return {"path": str(self._path), "open": False}
        return {
            "path": str(self._path),
            "open": True,
            "terminal_id": self.terminal_id,
            "epoch": self._epoch,
            "schema_version": schema.SCHEMA_VERSION,
            "current_shift": self.current_shift(),
            "unresolved": len(self.unresolved()),
            "outbox_pending": self.outbox_count(),
        }

    def close(self) -> None:
        """Close the journal (checkpointing its WAL); calling it again does nothing."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.close()
        except sqlite3.Error as exc:
            raise _journal_error(self._path, "close the journal", exc) from exc

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "open" if self._conn is not None else "closed"
        return f"<Journal path={str(self._path)!r} epoch={self._epoch} {state}>"

    # -- private helpers ----------------------------------------------------------------

    def _live(self) -> sqlite3.Connection:
        if self._conn is None:
            raise JournalError(f"{self._path}: the journal is closed")
        return self._conn

    @contextlib.contextmanager
    def _write(self, action: str) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed whole, or rolled back and reported."""
        conn = self._live()
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback(conn)
            raise _journal_error(self._path, action, exc) from exc
        except BaseException:
            self._rollback(conn)
            raise

    def _rollback(self, conn: sqlite3.Connection) -> None:
        if not conn.in_transaction:
            return
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            log.exception("journal:rollback_failed path=%s", self._path)

    def _rows(self, action: str, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        try:
            return self._live().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise _journal_error(self._path, action, exc) from exc

    def _one(self, action: str, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = self._rows(action, sql, params)
        return rows[0] if rows else None

    def _all(self, action: str, sql: str, params: Sequence[Any] = ()) -> list[Payment]:
        """Run a payments query and return its rows as Payments with history filled."""
        result = []
        for row in self._rows(action, sql, params):
            states = self._rows(
                action, "SELECT state FROM history WHERE seq = ? ORDER BY n", (row["seq"],)
            )
            result.append(_payment(row, tuple(str(s[0]) for s in states), self._path))
        return result

    def _sent_through(self) -> int:
        row = self._one(
            "read the outbox watermark", "SELECT value FROM meta WHERE key = 'outbox_sent_through'"
        )
        return int(row[0]) if row is not None else 0

    def _outbox_item(self, row: sqlite3.Row) -> OutboxItem:
        """Rebuild an outbox item's JSON payload: fixed fields plus the record's snapshot."""
        body: dict[str, object] = {"terminal_id": self.terminal_id, "epoch": self._epoch}
        body.update({name: row[name] for name in ("order_id", *_IDENTITY)})
        body["wall_synced"] = bool(body["wall_synced"])
        body.update(json.loads(row["snapshot"]))
        payload = json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
        return OutboxItem(int(row["id"]), str(row["order_id"]), payload, str(row["created_wall"]))


# -- module helpers ---------------------------------------------------------------------


def _configure(conn: sqlite3.Connection) -> None:
    """Set the pragmas; page_size first (it only applies to a new, empty file)."""
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA locking_mode = EXCLUSIVE")
    conn.execute(f"PRAGMA page_size = {schema.PAGE_SIZE:d}")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise sqlite3.OperationalError(f"cannot switch to WAL mode (got {mode!r})")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES:d}")
    conn.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT_BYTES:d}")
    conn.execute("PRAGMA temp_store = MEMORY")


def _ensure_meta(conn: sqlite3.Connection, terminal_id: str) -> str:
    """Make the epoch on first creation; keep the stored terminal id current. Return the epoch."""
    rows = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    epoch = rows.get("epoch")
    if epoch is None:
        epoch = secrets.token_hex(2)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO meta (key, value) VALUES ('epoch', ?)", (epoch,))
        conn.execute("INSERT INTO meta (key, value) VALUES ('terminal_id', ?)", (terminal_id,))
        conn.execute("COMMIT")
    elif rows.get("terminal_id") != terminal_id:
        log.warning(
            "journal:terminal_id_changed old=%s new=%s", rows.get("terminal_id"), terminal_id
        )
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('terminal_id', ?)", (terminal_id,)
        )
    return str(epoch)


def _insert_payment(
    conn: sqlite3.Connection, payment: Payment, stored: tuple[object, ...], wall_iso: str
) -> None:
    """Insert a new payments row (refusing a seq already taken) and open its shift if new."""
    taken = conn.execute("SELECT order_id FROM payments WHERE seq = ?", (payment.seq,)).fetchone()
    if taken is not None:
        raise JournalError(f"{payment.order_id}: seq {payment.seq} is already used by {taken[0]}")
    conn.execute(_INSERT, stored)
    conn.execute(
        "INSERT OR IGNORE INTO shifts (shift, opened_wall) VALUES (?, ?)", (payment.shift, wall_iso)
    )


def _update_payment(
    conn: sqlite3.Connection, seq: int, old: sqlite3.Row, stored: tuple[object, ...]
) -> None:
    """Write only the columns that changed, so indexes on unchanged columns are not touched."""
    changed = [
        (name, value) for name, value in zip(_STORED, stored, strict=True) if old[name] != value
    ]
    if not changed:
        return
    assignments = ", ".join(f"{name} = ?" for name, _ in changed)
    conn.execute(
        f"UPDATE payments SET {assignments} WHERE seq = ?",  # noqa: S608 - fixed column names
        (*(value for _, value in changed), seq),
    )


def _snapshot(payment: Payment, wall_iso: str, wall_synced: bool) -> str:
    """The changing fields of a finished record, as compact JSON for the outbox."""
    body = {
        "state": payment.state.value,
        "provider_ref": payment.provider_ref,
        "code_masked": payment.code_masked,
        "raw_status": payment.raw_status,
        "message": payment.message,
        "forced": payment.forced,
        "needs_admin": payment.needs_admin,
        "mismatch": payment.mismatch,
        "recorded_wall": wall_iso,
        "recorded_wall_synced": wall_synced,
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def _insert_history(
    conn: sqlite3.Connection,
    payment: Payment,
    note: str,
    mono: float,
    wall_iso: str,
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
            wall_iso,
            int(wall_synced),
        ),
    )


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


def _row_values(payment: Payment) -> tuple[object, ...]:
    """The payments row for ``payment``, in ``_COLUMNS`` order, as SQLite returns it."""
    return (
        payment.order_id,
        payment.seq,
        payment.shift,
        payment.flow,
        payment.provider,
        payment.amount.amount_minor,
        payment.amount.currency,
        payment.created_wall,
        int(payment.wall_synced),
        payment.state.value,
        payment.provider_ref,
        payment.qr_payload,
        payment.code_masked,
        payment.raw_status,
        payment.message,
        int(payment.forced),
        int(payment.needs_admin),
        int(payment.mismatch),
    )


def _check_identity(order_id: str, old: sqlite3.Row, new: tuple[object, ...]) -> None:
    """Refuse a record() that would change a payment's fixed fields."""
    for index, name in enumerate(_IDENTITY, start=1):
        if old[index] != new[index]:
            raise JournalError(
                f"{order_id}: {name} cannot change once recorded ({old[index]!r} -> {new[index]!r})"
            )


def _payment(row: sqlite3.Row, history: tuple[str, ...], path: Path) -> Payment:
    """Build a Payment from a payments row."""
    if row["flow"] not in _FLOWS:
        raise JournalError(f"{path}: payment {row['order_id']} has unknown flow {row['flow']!r}")
    try:
        state = PaymentState(row["state"])
    except ValueError as exc:
        raise JournalError(
            f"{path}: payment {row['order_id']} has unknown state {row['state']!r}"
        ) from exc
    return Payment(
        order_id=row["order_id"],
        seq=int(row["seq"]),
        shift=int(row["shift"]),
        flow=cast(Flow, row["flow"]),
        provider=row["provider"],
        amount=Money(int(row["amount_minor"]), row["currency"]),
        state=state,
        provider_ref=row["provider_ref"],
        qr_payload=row["qr_payload"],
        code_masked=row["code_masked"],
        raw_status=row["raw_status"],
        message=row["message"],
        forced=bool(row["forced"]),
        needs_admin=bool(row["needs_admin"]),
        mismatch=bool(row["mismatch"]),
        created_wall=row["created_wall"],
        wall_synced=bool(row["wall_synced"]),
        history=history,
    )


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


def _masked(payment: Payment) -> Payment:
    """Make sure no customer code reaches the disk in clear."""
    code = payment.code_masked
    if not code or "*" in code:
        return payment
    log.warning("journal:unmasked_code order_id=%s (masked before storing)", payment.order_id)
    return payment.with_state(payment.state, code_masked=mask_code(code))


def _iso(wall: datetime) -> str:
    """A timezone-aware datetime as an ISO 8601 UTC string."""
    if wall.tzinfo is None or wall.utcoffset() is None:
        raise ValueError(f"journal timestamps must be timezone-aware, got {wall!r}")
    return wall.astimezone(UTC).isoformat()


def _journal_error(path: Path, action: str, exc: sqlite3.Error) -> JournalError:
    """Translate a sqlite3 error into the terminal's tree, naming the file and the action."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary == sqlite3.SQLITE_FULL:
        return JournalFull(f"{path}: cannot {action}: the disk is full ({exc})")
    hints = {
        sqlite3.SQLITE_BUSY: "the journal is in use by another process or connection",
        sqlite3.SQLITE_LOCKED: "the journal is in use by another connection",
        sqlite3.SQLITE_CORRUPT: "the journal file is damaged",
        sqlite3.SQLITE_NOTADB: "the file is not a journal (not an SQLite database)",
        sqlite3.SQLITE_CANTOPEN: "the file cannot be opened (missing directory or permission)",
        sqlite3.SQLITE_READONLY: "the journal is read-only",
        sqlite3.SQLITE_IOERR: "the storage reported an I/O error",
    }
    hint = hints.get(primary) if primary is not None else None
    detail = f"{hint} ({exc})" if hint else str(exc)
    return JournalError(f"{path}: cannot {action}: {detail}")


def _os_error(path: Path, exc: OSError) -> JournalError:
    """Translate an OSError met while preparing the journal's directory."""
    if exc.errno == errno.ENOSPC:
        return JournalFull(f"{path}: cannot create the journal: the disk is full ({exc})")
    return JournalError(f"{path}: cannot create the journal: {exc}")
