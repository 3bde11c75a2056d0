"""Per-target watermarks of the outbox: what each sync target acknowledged, parked, failed on.

One row of ``sync_targets`` per target. A watermark moves only up, and only once its
receiver acknowledged every record up to it. ``meta.outbox_sent_through`` follows the
lowest watermark of the active targets, so the status line, the reports and pruning count
what some target still lacks. Each change is one small write transaction: a batch costs
one row update (two when the lowest watermark moves), never one write per record.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from terminal.journal.database import Database, wall_iso

__all__ = [
    "TargetMark",
    "acknowledge",
    "backlog",
    "ensure_targets",
    "histories",
    "note_error",
    "oldest_unsent_wall",
    "park",
    "prune",
    "target_marks",
    "unpark",
]

_COLUMNS = "name, acked_through, acked_wall, parked_through, parked_reason, last_error, error_wall"


@dataclass(frozen=True, slots=True)
class TargetMark:
    """One sync target as the journal keeps it: watermark, parked batch, last error."""

    name: str
    acked_through: int  # every outbox id up to this one was acknowledged
    acked_wall: str | None
    parked_through: int | None  # the batch up to this id was refused; None = not parked
    parked_reason: str
    last_error: str
    error_wall: str | None

    @property
    def parked(self) -> bool:
        """True while a refused batch waits for ``payterm sync retry``."""
        return self.parked_through is not None


def ensure_targets(db: Database, names: Sequence[str]) -> None:
    """Make ``names`` the active targets (a new one starts at 0: it gets every record kept)."""
    with db.write("set up the sync targets") as conn:
        conn.execute("UPDATE sync_targets SET active = 0 WHERE active = 1")
        for name in names:
            conn.execute(
                "INSERT INTO sync_targets (name) VALUES (?) "
                "ON CONFLICT (name) DO UPDATE SET active = 1",
                (name,),
            )
        _follow_lowest(conn)


def target_marks(db: Database) -> list[TargetMark]:
    """Every active target's row, by name."""
    rows = db.rows(
        "read the sync targets",
        f"SELECT {_COLUMNS} FROM sync_targets WHERE active = 1 ORDER BY name",  # noqa: S608
    )
    return [TargetMark(*tuple(row)) for row in rows]


def acknowledge(db: Database, name: str, through: int, *, wall: datetime) -> None:
    """``name``'s receiver acknowledged every record up to ``through``: move its watermark."""
    with db.write(f"move the watermark of {name}") as conn:
        conn.execute(
            "UPDATE sync_targets SET acked_through = max(acked_through, ?), acked_wall = ?, "
            "last_error = '', error_wall = NULL WHERE name = ?",
            (int(through), wall_iso(wall), name),
        )
        _follow_lowest(conn)


def park(db: Database, name: str, through: int, reason: str, *, wall: datetime) -> None:
    """The receiver refused the batch up to ``through``: hold the target until a retry."""
    with db.write(f"park the batch of {name}") as conn:
        conn.execute(
            "UPDATE sync_targets SET parked_through = ?, parked_reason = ?, last_error = ?, "
            "error_wall = ? WHERE name = ?",
            (int(through), reason, reason, wall_iso(wall), name),
        )


def unpark(db: Database, name: str | None = None) -> list[str]:
    """Release the parked batch of ``name`` (default: every target); the names released."""
    where, params = ("AND name = ?", (name,)) if name is not None else ("", ())
    with db.write("release a parked batch") as conn:
        rows = conn.execute(
            "SELECT name FROM sync_targets "  # noqa: S608 - fixed text
            f"WHERE active = 1 AND parked_through IS NOT NULL {where} ORDER BY name",
            params,
        ).fetchall()
        conn.execute(
            f"UPDATE sync_targets SET parked_through = NULL, parked_reason = '' "  # noqa: S608
            f"WHERE active = 1 {where}",
            params,
        )
    return [str(row[0]) for row in rows]


def note_error(db: Database, name: str, error: str, *, wall: datetime) -> None:
    """Keep ``name``'s last error; nothing is written when it is the one already kept."""
    row = db.one(
        "read a sync target", "SELECT last_error FROM sync_targets WHERE name = ?", (name,)
    )
    if row is not None and row[0] == error:
        return
    with db.write(f"note the error of {name}") as conn:
        conn.execute(
            "UPDATE sync_targets SET last_error = ?, error_wall = ? WHERE name = ?",
            (error, wall_iso(wall), name),
        )


def backlog(db: Database, after: int, limit: int = 1_000_000) -> int:
    """How many outbox items lie above the watermark ``after``, counted up to ``limit``."""
    row = db.one(
        "count the outbox",
        "SELECT count(*) FROM (SELECT 1 FROM outbox WHERE id > ? LIMIT ?)",
        (int(after), int(limit)),
    )
    return int(row[0]) if row is not None else 0


def oldest_unsent_wall(db: Database) -> str | None:
    """The wall time the oldest record some target still lacks was queued; None if none."""
    row = db.one(
        "read the outbox",
        "SELECT created_wall FROM outbox WHERE id > (SELECT CAST(value AS INTEGER) FROM meta "
        "WHERE key = 'outbox_sent_through') ORDER BY id LIMIT 1",
    )
    return str(row[0]) if row is not None else None


def histories(db: Database, seqs: Sequence[int]) -> dict[int, list[sqlite3.Row]]:
    """Every history step of each payment in ``seqs``, oldest first, in one read."""
    wanted = sorted({int(seq) for seq in seqs})
    if not wanted:
        return {}
    marks = ",".join("?" * len(wanted))
    rows = db.rows(
        "read payments' history",
        "SELECT seq, state, note, wall, wall_synced FROM history "  # noqa: S608 - placeholders
        f"WHERE seq IN ({marks}) ORDER BY seq, n",
        wanted,
    )
    found: dict[int, list[sqlite3.Row]] = {seq: [] for seq in wanted}
    for row in rows:
        found[int(row[0])].append(row)
    return found


def prune(db: Database, *, before: datetime, limit: int = 500) -> int:
    """Delete up to ``limit`` items every target has, queued before ``before``; how many.

    The newest item is always kept, so SQLite never gives its id to a later item.
    """
    with db.write("prune the outbox") as conn:
        cursor = conn.execute(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE id <= (SELECT "
            "CAST(value AS INTEGER) FROM meta WHERE key = 'outbox_sent_through') AND id < "
            "(SELECT max(id) FROM outbox) AND created_wall < ? ORDER BY id LIMIT ?)",
            (wall_iso(before), int(limit)),
        )
        return int(cursor.rowcount)


def _follow_lowest(conn: sqlite3.Connection) -> None:
    """Set ``outbox_sent_through`` to the lowest watermark of the active targets, if any."""
    lowest = conn.execute("SELECT min(acked_through) FROM sync_targets WHERE active = 1").fetchone()
    if lowest is None or lowest[0] is None:
        return
    current = conn.execute("SELECT value FROM meta WHERE key = 'outbox_sent_through'").fetchone()
    if current is not None and int(current[0]) == int(lowest[0]):
        return
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('outbox_sent_through', ?)",
        (str(int(lowest[0])),),
    )
