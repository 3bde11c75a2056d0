"""The check before a journal is opened: is it there, whole and readable, or is it damaged?

Nothing here writes: the journal file is read (``immutable``, so SQLite takes no lock and
writes nothing), or, when a write-ahead log lies beside it (after a power cut), a copy of
both is read, because SQLite folds the log into the file when a connection closes. What
it refuses (``JournalDamaged``), the terminal refuses with every file left as it was:

- a journal file cut to zero bytes, with or without its WAL (the terminal makes a journal
  under a temporary name and renames it into place only once it is whole, so an empty
  journal file is never its own doing);
- a missing journal file where the marker or a WAL says one was kept;
- a file that is not SQLite, or that ``PRAGMA quick_check`` finds
  damaged, or whose schema or meta SQLite cannot read (bytes that are not UTF-8 included).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sqlite3
import tempfile
from pathlib import Path

from terminal.errors import JournalDamaged
from terminal.journal import schema
from terminal.journal.marker import Marker, read_marker
from terminal.journal.snapshot import SIDE_FILES, copy_snapshot, side_file

__all__ = ["RECOVER_HINT", "damaged", "inspect", "quick_check", "sqlite_message"]

log = logging.getLogger(__name__)

#: What the technician is told to do about a refused journal.
RECOVER_HINT = (
    "the terminal will not start a new journal by itself; every file is kept as it was. "
    "Stop the terminal and run `payterm journal --recover` (see docs/journal.md)"
)


def damaged(path: Path, what: str) -> JournalDamaged:
    """The refusal of the journal at ``path`` because of ``what``, with the way out."""
    return JournalDamaged(f"{path}: the journal file is damaged: {what}; {RECOVER_HINT}")


def sqlite_message(exc: BaseException) -> str:
    """An SQLite error's text; one whose bytes are not UTF-8 is decoded with replacements."""
    if isinstance(exc, UnicodeDecodeError):
        return bytes(exc.object).decode("utf-8", errors="replace")
    return str(exc)


def inspect(path: Path) -> bool:
    """Check the journal at ``path`` without writing: True if one is there and sound.

    False when there is nothing at all (no journal, no WAL, no marker): a brand-new data
    directory, where a journal may be made.

    :raises JournalDamaged: emptied, missing where one was kept, or damaged.
    """
    main = _size(path)
    wal = max((_size(side_file(path, side)) or 0) for side in SIDE_FILES)
    marker = read_marker(path)
    if not main:
        if main is None and not wal and marker is None:
            return False
        raise _lost(path, emptied=main == 0, wal=wal, marker=marker)
    if wal:
        _check_copy(path)
    else:
        _check_file(path)
    return True


def quick_check(conn: sqlite3.Connection) -> str:
    """``PRAGMA quick_check`` and a read of ``meta``: "ok", or the problems found in words.

    ``conn`` should have ``text_factory = bytes`` so damaged text cannot stop the check.
    """
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
        conn.execute("SELECT key, value FROM meta").fetchall()
    except (sqlite3.Error, UnicodeDecodeError) as exc:
        return sqlite_message(exc)
    found = "; ".join(_text(row[0]) for row in rows[:5])
    return "ok" if found == "ok" else found


def _size(path: Path) -> int | None:
    """The file's size in bytes, or None when it does not exist."""
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise JournalDamaged(f"{path}: cannot read the journal: {exc.strerror or exc}") from exc


def _lost(path: Path, *, emptied: bool, wal: int, marker: Marker | None) -> JournalDamaged:
    state = "is empty (0 bytes)" if emptied else "is missing"
    evidence = []
    if marker is not None:
        since = f", made {marker.created}" if marker.created else ""
        epoch = f"journal {marker.epoch}" if marker.epoch else "a journal"
        evidence.append(f"this data directory has held {epoch}{since}")
    if wal:
        evidence.append(f"its write-ahead log ({wal} bytes) is still there")
    why = f" but {' and '.join(evidence)}" if evidence else ""
    return JournalDamaged(f"{path}: the journal file {state}{why}; {RECOVER_HINT}")


def _check_file(path: Path) -> None:
    """quick_check the file itself, read-only (no lock taken, nothing written)."""
    _run_check(path, f"file:{path}?immutable=1", path)


def _check_copy(path: Path) -> None:
    """quick_check a copy of the file and its WAL (a connection on them would fold the WAL)."""
    try:
        with tempfile.TemporaryDirectory(prefix="payterm-check-") as folder:
            copy = copy_snapshot(path, Path(folder))
            _run_check(copy, f"file:{copy}", path)
    except OSError as exc:  # no room for the copy: the open's own checks still apply
        log.warning("journal:not_checked path=%s error=%s", path, exc)


def _run_check(target: Path, uri: str, path: Path) -> None:
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise damaged(path, sqlite_message(exc)) from exc
    try:
        conn.text_factory = bytes
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        rows = conn.execute("PRAGMA quick_check").fetchall()
        conn.execute("SELECT key, value FROM meta").fetchall()
        found = "; ".join(_text(row[0]) for row in rows[:5])
        if found == "ok":
            found = _schema_problem(conn)
    except (sqlite3.Error, UnicodeDecodeError) as exc:
        raise damaged(path, _describe(exc)) from exc
    finally:
        with contextlib.suppress(sqlite3.Error):
            conn.close()
    if found != "ok":
        log.error("journal:damaged path=%s check=%s", path, found)
        raise damaged(path, found)
    log.debug("journal:checked path=%s via=%s", path, target)


def _schema_problem(conn: sqlite3.Connection) -> str:
    """ "ok" when the tables and indexes are exactly those the migrations make, else what differs.

    One byte changed in a table's text can turn a column into another, or the through-number
    into a plain column SQLite fills with NULL; quick_check does not read that text.
    """
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if not 0 < version <= schema.SCHEMA_VERSION:
        return "ok"  # a newer schema is refused by the open with its own message
    stored = {
        (_text(row[0]), _text(row[1])): _text(row[2]) if row[2] is not None else None
        for row in conn.execute("SELECT type, name, sql FROM sqlite_master")
    }
    expected = _expected_schema(version)
    for key, sql in expected.items():
        if key not in stored:
            return f"the {key[0]} {key[1]} is missing from its schema"
        if stored[key] != sql:
            return f"the schema text of the {key[0]} {key[1]} is not the journal's (bytes changed)"
    extra = sorted(set(stored) - set(expected))
    if extra:
        return f"its schema has {extra[0][0]} {extra[0][1]!r}, which no journal has"
    return "ok"


@functools.cache
def _expected_schema(version: int) -> dict[tuple[str, str], str | None]:
    """The schema rows a journal of ``version`` has, made by the migrations in memory."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        for statements in schema.MIGRATIONS[:version]:
            for statement in statements:
                conn.execute(statement)
        rows = conn.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
    finally:
        conn.close()
    return {(str(r[0]), str(r[1])): r[2] for r in rows}


def _describe(exc: BaseException) -> str:
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF == sqlite3.SQLITE_NOTADB:
        return f"the file is not a journal (not an SQLite database: {exc})"
    return sqlite_message(exc)


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)
