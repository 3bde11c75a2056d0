"""The journal: the terminal's durable SQLite record of payments, their history, shifts and outbox.

Written from one place (the runtime, on the asyncio loop's thread). A payment's intent
is recorded before any provider call; after a crash ``unresolved()`` finds every
payment still owed a provider's final word.

:class:`Journal` is the one object the terminal holds; each of its parts is a module of
its own: the file and its transactions (``database``), payments and their history
(``payments``), the look-up by the slip (``lookup``), numbering and shifts (``shifts``)
and the outbox (``outbox``). How the file is opened and kept is said in ``database``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType

from terminal.journal import outbox, payments, reports, schema, shifts
from terminal.journal.database import Database, check_writable, open_database
from terminal.journal.lookup import find_by_slip
from terminal.journal.outbox import OutboxItem
from terminal.journal.payments import HistoryEntry
from terminal.journal.reports import ReportData
from terminal.journal.shifts import ShiftSummary
from terminal.payment import Payment

__all__ = ["Journal"]


class Journal:
    """The durable record of payments; open it with ``Journal.open(path, terminal_id=...)``.

    All methods are synchronous and may be called from any one thread at a time (the
    runtime records on its journal thread, so the loop never waits for an fsync; reads
    from the loop meanwhile wait for that commit). Failures raise
    ``JournalError`` (``JournalFull`` when the disk is full); a failed write leaves
    nothing half-written and the journal stays readable.
    """

    def __init__(self, db: Database, *, terminal_id: str, epoch: str):
        self._db = db
        self._epoch = epoch
        self.terminal_id = terminal_id

    @classmethod
    def open(
        cls, path: Path, *, terminal_id: str, create: bool = True, marker: bool = True
    ) -> Journal:
        """Open (creating and migrating if needed) the journal at ``path``.

        ``create=False`` refuses where there is no journal; ``marker=False`` leaves the
        marker beside it alone (for copies read by a technician's command).

        :raises JournalDamaged: the journal is damaged, emptied or missing where one was kept.
        """
        db, epoch = open_database(path, terminal_id=terminal_id, create=create, marker=marker)
        return cls(db, terminal_id=terminal_id, epoch=epoch)

    @property
    def epoch(self) -> str:
        """Four random hex digits made when the journal was created; part of order ids."""
        return self._epoch

    @property
    def path(self) -> Path:
        """The journal's database file."""
        return self._db.path

    @property
    def database(self) -> Database:
        """The open file, for the stores that keep their own tables in it (the API's)."""
        return self._db

    @property
    def is_open(self) -> bool:
        """True until ``close()``."""
        return self._db.conn is not None

    @property
    def _conn(self) -> sqlite3.Connection | None:
        """The SQLite connection, None once closed."""
        return self._db.conn

    def next_seq(self) -> int:
        """Return 1 + the highest seq ever recorded (failed attempts keep their number)."""
        return shifts.next_seq(self._db)

    def current_shift(self) -> int:
        """Return the open shift's number (1 at first; +1 after each ``close_shift``).

        Reading it writes nothing: the shift's row is written with its first payment.
        """
        return shifts.current_shift(self._db)

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
        payments.record(self._db, payment, note=note, mono=mono, wall=wall, wall_synced=wall_synced)

    def get(self, order_id: str) -> Payment | None:
        """Return the payment with ``order_id`` (its ``history`` filled), or None."""
        return payments.get(self._db, order_id)

    def find(self, reference: str) -> Payment | None:
        """Return the payment a slip's ``reference`` names, or None.

        ``reference`` is what a refund scans or types from the slip: the provider's order
        number (the barcode), the terminal's order id, or the through-number ("000123").
        Where a provider reused a number, the newest payment wins.
        """
        return find_by_slip(self._db, reference)

    def history(self, order_id: str) -> list[HistoryEntry]:
        """Return every recorded step of ``order_id``, oldest first (empty if unknown)."""
        return payments.history(self._db, order_id)

    def unresolved(self) -> list[Payment]:
        """Return the payments still owed a provider's final word, in seq order."""
        return payments.unresolved(self._db)

    def cancelling_in_background(self) -> int:
        """How many orders whose cancel failed are still being closed with their provider."""
        return payments.cancelling_in_background(self._db)

    def recent(self, limit: int = 20) -> list[Payment]:
        """Return the latest ``limit`` payments, newest first."""
        return payments.recent(self._db, limit)

    def last_paid(self) -> Payment | None:
        """Return the newest payment in state PAID, or None."""
        return payments.last_paid(self._db)

    def shift_summary(self, shift: int | None = None) -> ShiftSummary:
        """Summarise ``shift`` (default: the current one) for an X or Z report."""
        return shifts.shift_summary(self._db, shift)

    def close_shift(self, *, wall: datetime, shift: int | None = None) -> ShiftSummary:
        """Close ``shift`` (default: the current one) at ``wall`` and return its summary."""
        return shifts.close_shift(self._db, wall=wall, shift=shift)

    def report(
        self, *, shift: int | None = None, since: str = "", until: str = "", detail: bool = False
    ) -> ReportData:
        """The figures of an X/Z/period report: of ``shift`` (default: the current one), or of
        the wall-clock range ``since``..``until`` (ISO 8601 UTC, ``until`` excluded)."""
        if shift is None and not since:
            shift = self.current_shift()
        return reports.read_report(self._db, shift=shift, since=since, until=until, detail=detail)

    def close_shift_report(self, *, wall: datetime, detail: bool = False) -> ReportData:
        """Close the current shift at ``wall`` (one small write) and return its Z figures."""
        number = self.current_shift()
        shifts.close_shift(self._db, wall=wall)
        return self.report(shift=number, detail=detail)

    def outbox_pending(self, limit: int = 100) -> list[OutboxItem]:
        """Return up to ``limit`` unsent outbox items, in id order."""
        return outbox.pending_items(
            self._db, terminal_id=self.terminal_id, epoch=self._epoch, limit=limit
        )

    def outbox_count(self, limit: int = 100) -> int:
        """How many outbox items wait to be sent, counted up to ``limit`` (no rows read)."""
        return outbox.count_pending(self._db, limit)

    def mark_sent(self, ids: Sequence[int], *, wall: datetime) -> None:
        """Mark outbox items as delivered upstream (unknown or already sent ids are ignored)."""
        outbox.mark_sent(self._db, ids, wall=wall)

    def check_writable(self) -> None:
        """Write and remove a small record (a few pages): raises JournalFull while there is no room.

        Used to leave the out-of-service state once a full disk has room again.
        """
        check_writable(self._db)

    def integrity_check(self) -> str:
        """Return "ok" when SQLite finds the file sound, else the problems it names."""
        rows = self._db.rows("check the journal", "PRAGMA integrity_check")
        return "; ".join(str(r[0]) for r in rows)

    def status(self) -> dict[str, object]:
        """Return a small status report for the self-check and the API."""
        if self._db.conn is None:
            return {"path": str(self.path), "open": False}
        return {
            "path": str(self.path),
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
        self._db.close()

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
        state = "open" if self._db.conn is not None else "closed"
        return f"<Journal path={str(self.path)!r} epoch={self._epoch} {state}>"
