"""The journal's SQLite file: opening it, its transactions and reads, and its errors in words.

Opening checks the file first and never replaces a journal that is damaged, emptied or
gone (``probe``, ``marker``). Durability and wear: WAL with ``synchronous=FULL`` (each
commit is fsynced), 512-byte pages, only changed columns rewritten, and
``locking_mode=EXCLUSIVE`` so no shared-memory file is kept on the SD card.
The exclusive lock also means a second process (or a second ``Journal`` in the same
process) cannot open the journal while it is open: it gets ``JournalError`` rather
than a chance to record payments twice. Reads never write.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from terminal.errors import JournalDamaged, JournalError, JournalFull
from terminal.journal import probe, schema
from terminal.journal.marker import Marker, fsync_folder, read_marker, write_marker

__all__ = [
    "BUSY_TIMEOUT_S",
    "JOURNAL_SIZE_LIMIT_BYTES",
    "WAL_AUTOCHECKPOINT_PAGES",
    "STORAGE_ERRORS",
    "Database",
    "ROOM_CHECK_BYTES",
    "check_writable",
    "open_database",
    "journal_error",
    "wall_iso",
]

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 1.0  # a journal held by another process is a fault to report, not to wait out
WAL_AUTOCHECKPOINT_PAGES = 4000  # ~2 MiB of WAL per checkpoint: hot pages are copied once
JOURNAL_SIZE_LIMIT_BYTES = 4 * 1024 * 1024  # above one checkpoint cycle, so the WAL is reused

#: What the sqlite3 module raises about storing or reading: its own errors, and the Python
#: errors of a value it cannot bind (an int beyond 64 bits, a string that is not UTF-8).
STORAGE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, OverflowError, UnicodeError)


class Database:
    """The open journal file: reads and write transactions that report failures as JournalError.

    Any thread may use it, one at a time: each write transaction, each read and closing
    hold the connection's lock, so the runtime commits (and waits out the fsync) on a
    worker thread while the loop's thread reads. ``conn`` is None once closed.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn: sqlite3.Connection | None = conn
        self.path = path
        self._lock = threading.RLock()  # a read inside a write transaction is the writer's

    def live(self) -> sqlite3.Connection:
        """The open connection; ``JournalError`` once the journal is closed."""
        if self.conn is None:
            raise JournalError(f"{self.path}: the journal is closed", reason="journal: closed")
        return self.conn

    @contextlib.contextmanager
    def write(self, action: str) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed whole, or rolled back and reported."""
        with self._lock:
            conn = self.live()
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except STORAGE_ERRORS as exc:
                self._rollback(conn)
                raise journal_error(self.path, action, exc) from exc
            except UnicodeDecodeError as exc:
                self._rollback(conn)
                raise probe.damaged(self.path, probe.sqlite_message(exc)) from exc
            except BaseException:
                self._rollback(conn)
                raise

    def rows(self, action: str, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Every row ``sql`` returns; a failure is a JournalError naming ``action``."""
        with self._lock:
            try:
                return self.live().execute(sql, params).fetchall()
            except STORAGE_ERRORS as exc:
                raise journal_error(self.path, action, exc) from exc
            except UnicodeDecodeError as exc:  # text that is not UTF-8: damaged bytes
                raise probe.damaged(self.path, probe.sqlite_message(exc)) from exc

    def one(self, action: str, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        """The first row ``sql`` returns, or None."""
        rows = self.rows(action, sql, params)
        return rows[0] if rows else None

    def close(self) -> None:
        """Close the file (checkpointing its WAL); calling it again does nothing.

        A write under way on another thread is let finish first.
        """
        with self._lock:
            conn, self.conn = self.conn, None
        if conn is None:
            return
        try:
            conn.close()
        except sqlite3.Error as exc:
            raise journal_error(self.path, "close the journal", exc) from exc

    def _rollback(self, conn: sqlite3.Connection) -> None:
        if not conn.in_transaction:
            return
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            log.exception("journal:rollback_failed path=%s", self.path)


def open_database(
    path: Path, *, terminal_id: str, create: bool = True, marker: bool = True
) -> tuple[Database, str]:
    """Open (creating and migrating if needed) the journal file; return it and its epoch.

    The file is checked first without writing (``probe.inspect``): a damaged, emptied or
    vanished journal raises ``JournalDamaged`` and every file stays as it was. A new
    journal is made only where there is nothing at all (and ``create`` is true), under a
    temporary name renamed into place once whole. With ``marker``, the marker beside the
    journal is kept (written when missing): it is what makes a lost journal noticed.
    """
    path = Path(path)
    if not probe.inspect(path):
        if not create:
            raise JournalError(f"{path}: no journal here (has the terminal run with this config?)")
        _create(path, terminal_id)
    db, epoch = _open_existing(path, terminal_id)
    if marker:
        _keep_marker(path, epoch, terminal_id)
    return db, epoch


def _connect(path: Path) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )  # one thread at a time, under Database's lock
    except OSError as exc:
        raise _os_error(path, exc) from exc
    except sqlite3.Error as exc:
        raise journal_error(path, "open the journal", exc) from exc


def _open_existing(path: Path, terminal_id: str) -> tuple[Database, str]:
    conn = _connect(path)
    try:
        _configure(conn)
        schema.migrate(conn, path)
        epoch = _ensure_meta(conn, terminal_id)
    except sqlite3.Error as exc:
        conn.close()
        raise journal_error(path, "open the journal", exc) from exc
    except UnicodeDecodeError as exc:
        conn.close()
        raise probe.damaged(path, probe.sqlite_message(exc)) from exc
    except BaseException:
        conn.close()
        raise
    return Database(conn, path), epoch


def _create(path: Path, terminal_id: str) -> None:
    """Make a new journal at ``path``: built under a temporary name, renamed once whole."""
    building = path.with_name(path.name + ".new")
    for name in (building, Path(f"{building}-wal")):
        try:
            name.unlink(missing_ok=True)  # a creation cut short: it never held a payment
        except OSError as exc:
            raise _os_error(path, exc) from exc
    db, epoch = _open_existing(building, terminal_id)
    db.close()
    try:
        os.replace(building, path)
    except OSError as exc:
        raise _os_error(path, exc) from exc
    fsync_folder(path.parent)
    log.info("journal:created path=%s epoch=%s", path, epoch)


def _keep_marker(path: Path, epoch: str, terminal_id: str) -> None:
    """Write the marker when it is missing or names another epoch; a failure is only logged."""
    found = read_marker(path)
    if found is not None and found.epoch == epoch:
        return
    if found is not None:
        log.warning("journal:marker_epoch_changed path=%s old=%s new=%s", path, found.epoch, epoch)
    made = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        write_marker(path, Marker(epoch, terminal_id, made))
    except OSError as exc:
        log.warning("journal:marker_not_written path=%s error=%s", path, exc)


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


#: The size of the record a room check writes: several pages, as a payment's step may need.
ROOM_CHECK_BYTES = 2048


def check_writable(db: Database) -> None:
    """Write a record of ``ROOM_CHECK_BYTES`` to ``meta`` and remove it, each committed."""
    with db.write("check the journal has room") as conn:
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('room_check', ?)",
            ("0" * ROOM_CHECK_BYTES,),
        )
    with db.write("check the journal has room") as conn:
        conn.execute("DELETE FROM meta WHERE key = 'room_check'")


def wall_iso(wall: datetime) -> str:
    """A timezone-aware datetime as an ISO 8601 UTC string, as the journal stores wall time."""
    if wall.tzinfo is None or wall.utcoffset() is None:
        raise ValueError(f"journal timestamps must be timezone-aware, got {wall!r}")
    return wall.astimezone(UTC).isoformat()


def journal_error(path: Path, action: str, exc: Exception) -> JournalError:
    """Translate a storage error (see ``STORAGE_ERRORS``) into the terminal's tree, in words.

    The message names the file, the action and what went wrong; ``reason`` is the short
    form the out-of-service screen shows.
    """
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
    hint: str | None
    if primary in hints:
        hint, reason = hints[primary], _REASONS.get(primary)
    else:
        hint, reason = _value_hint(exc)
    detail = f"{hint} ({exc})" if hint else str(exc)
    if str(exc).startswith("Could not decode to UTF-8"):  # text whose bytes were changed
        detail, reason = f"the journal file is damaged ({exc})", "journal: damaged"
    if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB) or "damaged" in detail:
        message = f"{path}: cannot {action}: {detail}; {probe.RECOVER_HINT}"
        return JournalDamaged(message, reason=reason or "journal: damaged")
    return JournalError(f"{path}: cannot {action}: {detail}", reason=reason or "")


#: The out-of-service screen's words for each SQLite result code that has a hint.
_REASONS = {
    sqlite3.SQLITE_BUSY: "journal: in use",
    sqlite3.SQLITE_LOCKED: "journal: in use",
    sqlite3.SQLITE_CORRUPT: "journal: damaged",
    sqlite3.SQLITE_NOTADB: "journal: not a journal",
    sqlite3.SQLITE_CANTOPEN: "journal: cannot open",
    sqlite3.SQLITE_READONLY: "journal: read-only",
    sqlite3.SQLITE_IOERR: "journal: I/O error",
}


def _value_hint(exc: Exception) -> tuple[str | None, str | None]:
    """The hint and screen words for an error of a value rather than of the file."""
    if isinstance(exc, OverflowError):
        return "a number is beyond the 64-bit integers SQLite stores", "journal: value too big"
    if isinstance(exc, UnicodeError):
        return "a text is not valid Unicode and cannot be stored", "journal: bad text"
    if isinstance(exc, sqlite3.DataError):
        return "a value is too long or out of range for the journal", "journal: bad value"
    if isinstance(exc, sqlite3.InterfaceError | sqlite3.ProgrammingError):
        return "a value of a kind the journal does not store was given", "journal: bad value"
    return None, None


def _os_error(path: Path, exc: OSError) -> JournalError:
    """Translate an OSError met while preparing the journal's directory."""
    if exc.errno == errno.ENOSPC:
        return JournalFull(f"{path}: cannot create the journal: the disk is full ({exc})")
    return JournalError(f"{path}: cannot create the journal: {exc}")
