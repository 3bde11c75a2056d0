"""The reference receiver's SQLite file: each record kept once, keyed by its id.

The dedupe rule of docs/sync.md: the first record of an ``id`` is kept, any other with
that ``id`` is dropped. ``INSERT OR IGNORE`` on the primary key does it in one statement,
committed before the message is acknowledged to the broker, so a receiver that dies
between the two gets the record again and drops it then.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["RecordStore", "Stored"]

_SCHEMA = """CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY,
    terminal_id TEXT NOT NULL,
    epoch TEXT NOT NULL,
    outbox_id INTEGER NOT NULL,
    order_id TEXT NOT NULL,
    state TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    received_wall TEXT NOT NULL,
    body TEXT NOT NULL
)"""


@dataclass(frozen=True, slots=True)
class Stored:
    """What storing one record did: ``new`` is False for a duplicate (dropped)."""

    id: str
    new: bool
    record: dict[str, Any]


class RecordStore:
    """An SQLite file of records, one row per record id, in arrival order (the rowid)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._conn = sqlite3.connect(self.path, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = FULL")
        self._conn.execute(_SCHEMA)
        self.duplicates = 0

    def add_batch(self, payloads: list[bytes | str]) -> list[Stored | ValueError]:
        """:meth:`add` each payload, all in one transaction (one commit for the batch)."""
        results: list[Stored | ValueError] = []
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            for payload in payloads:
                try:
                    results.append(self.add(payload))
                except ValueError as exc:
                    results.append(exc)
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return results

    def add(self, payload: bytes | str) -> Stored:
        """Keep the record in ``payload`` unless its id is already kept; ValueError if bad."""
        record = json.loads(payload)
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            raise ValueError("not a payterm record (no id)")
        try:
            cursor = self._conn.execute(
                "INSERT OR IGNORE INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record["id"], record["terminal_id"], record["epoch"],
                    int(record["outbox_id"]), record["order_id"], record["state"],
                    int(record["amount_minor"]), record["currency"],
                    datetime.now(UTC).isoformat(), json.dumps(record, sort_keys=True),
                ),
            )  # fmt: skip
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a payterm record: {exc}") from exc
        new = cursor.rowcount == 1
        if not new:
            self.duplicates += 1
        return Stored(record["id"], new, record)

    def ids(self) -> list[str]:
        """Every kept record id, in arrival order."""
        return [str(r[0]) for r in self._conn.execute("SELECT id FROM records ORDER BY rowid")]

    def outbox_ids(self, terminal_id: str) -> list[int]:
        """The outbox ids kept for ``terminal_id``, in arrival order."""
        rows = self._conn.execute(
            "SELECT outbox_id FROM records WHERE terminal_id = ? ORDER BY rowid", (terminal_id,)
        )
        return [int(r[0]) for r in rows]

    def count(self) -> int:
        """How many records are kept."""
        return int(self._conn.execute("SELECT count(*) FROM records").fetchone()[0])

    def close(self) -> None:
        """Close the file."""
        self._conn.close()
