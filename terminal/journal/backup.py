"""A consistent, self-contained copy of the journal, taken while the terminal may run and write.

The running terminal holds its journal under SQLite's exclusive lock, so no other process
can read it through SQLite. The copy is therefore made in two steps: the journal file and
its write-ahead log are copied while neither changes (``snapshot``), then SQLite's online
backup API copies that snapshot, page by page, into one file with the log folded in and no
log of its own (``journal_mode = DELETE``). The copy is checked (``PRAGMA integrity_check``
and the open's own checks) before it is handed back: a copy that does not check out is
refused, never exported.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sqlite3
import tempfile
from pathlib import Path

from terminal.errors import JournalError
from terminal.journal import outbox, probe, shifts
from terminal.journal.database import Database
from terminal.journal.snapshot import copy_snapshot

__all__ = ["JournalFacts", "backup_copy", "journal_facts"]

#: More outbox items than a journal ever holds: the count is exact.
_ALL = 1 << 62


@dataclasses.dataclass(frozen=True, slots=True)
class JournalFacts:
    """What a journal file says of itself: its terminal and epoch, and what it holds."""

    terminal_id: str
    epoch: str
    payments: int
    last_number: int
    outbox_unsent: int


def backup_copy(journal: Path, target: Path, *, scratch: Path | None = None) -> JournalFacts:
    """Copy the journal at ``journal`` to ``target`` (one file, sound); what it holds.

    ``scratch`` is the folder for the snapshot of the file and its log (default: the
    system's temporary folder).

    :raises JournalError: there is no journal, it cannot be read, or the copy is not sound.
    """
    if not journal.is_file():
        probe.inspect(journal)  # a journal this folder held and lost is said as such
        raise JournalError(f"{journal}: no journal here (has the terminal run on this card?)")
    with tempfile.TemporaryDirectory(prefix="payterm-backup-", dir=scratch) as folder:
        try:
            snapshot = copy_snapshot(journal, Path(folder))
        except OSError as exc:
            raise JournalError(
                f"{journal}: cannot read the journal: {exc.strerror or exc}"
            ) from exc
        target.unlink(missing_ok=True)
        try:
            _backup(snapshot, target)
        except sqlite3.Error as exc:
            target.unlink(missing_ok=True)
            raise JournalError(f"{journal}: cannot copy the journal: {exc}") from exc
    try:
        return journal_facts(target)
    except JournalError:
        target.unlink(missing_ok=True)
        raise


def journal_facts(path: Path) -> JournalFacts:
    """Check the one-file journal at ``path`` (integrity and schema) and say what it holds.

    :raises JournalDamaged: it does not check out.
    """
    problem = _integrity(path)
    if problem != "ok":
        raise probe.damaged(path, problem)
    probe.inspect(path)  # the schema, exactly as the migrations make it
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    conn.row_factory = sqlite3.Row
    db = Database(conn, path)
    try:
        meta = {
            str(r[0]): str(r[1]) for r in db.rows("read the meta", "SELECT key, value FROM meta")
        }
        count = db.one("count the payments", "SELECT COUNT(*) FROM payments")
        return JournalFacts(
            terminal_id=meta.get("terminal_id", ""),
            epoch=meta.get("epoch", ""),
            payments=int(count[0]) if count is not None else 0,
            last_number=shifts.next_seq(db) - 1,
            outbox_unsent=outbox.count_pending(db, _ALL),
        )
    finally:
        db.close()


def _backup(snapshot: Path, target: Path) -> None:
    """SQLite's backup API from the snapshot into ``target``, then one file, no log."""
    source = sqlite3.connect(snapshot, isolation_level=None)
    try:
        source.execute("PRAGMA locking_mode = EXCLUSIVE")  # no -shm beside the snapshot
        copy = sqlite3.connect(target, isolation_level=None)
        try:
            source.backup(copy)
            mode = copy.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
            if str(mode).lower() != "delete":
                raise sqlite3.OperationalError(f"the copy stayed in {mode} mode")
        finally:
            copy.close()
    finally:
        source.close()


def _integrity(path: Path) -> str:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        return probe.sqlite_message(exc)
    try:
        conn.text_factory = bytes
        rows = conn.execute("PRAGMA integrity_check").fetchall()
        return "; ".join(bytes(r[0]).decode("utf-8", errors="replace") for r in rows[:5])
    except (sqlite3.Error, UnicodeDecodeError) as exc:
        return probe.sqlite_message(exc)
    finally:
        with contextlib.suppress(sqlite3.Error):
            conn.close()
