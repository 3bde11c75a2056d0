"""Reading what SQLite can still read out of a damaged journal, row by row.

Each table is read three ways, each going on past what the others could not read: a
forward scan, a backward scan, and a look-up of every key the scans suggest is missing
(through-numbers, outbox ids, shift numbers, the payments' history). A row is kept only
when every value decodes and has the type its column needs; the others are counted.
Columns are taken by position in the journal's own schema, so a changed byte in a
column's name does not hide the column. Nothing here writes to the file read.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from terminal.journal import schema
from terminal.journal.probe import sqlite_message
from terminal.payment import PaymentState

__all__ = ["TABLES", "Salvage", "TableSalvage", "salvage", "epoch_of_order"]


def _schema_columns() -> dict[str, tuple[str, ...]]:
    """Each table's columns in the order the migrations make them (the order rows are stored)."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        for statements in schema.MIGRATIONS:
            for statement in statements:
                conn.execute(statement)
        names = ("meta", "payments", "history", "shifts", "outbox")
        return {
            name: tuple(str(row[1]) for row in conn.execute(f"PRAGMA table_info({name})"))
            for name in names
        }
    finally:
        conn.close()


#: The tables a journal holds and their columns in schema order.
TABLES: dict[str, tuple[str, ...]] = _schema_columns()
_KEYS = {"meta": ("key",), "payments": ("seq",), "history": ("seq", "n"),
         "shifts": ("shift",), "outbox": ("id",)}  # fmt: skip
_ROWID = {"payments": "seq", "shifts": "shift", "outbox": "id"}
_INTEGER = {"seq", "shift", "amount_minor", "wall_synced", "forced", "needs_admin", "mismatch",
            "unresolved", "n", "id"}  # fmt: skip
_NULLABLE = {"provider_ref", "qr_payload", "closed_wall", "sent_wall"}
_STATES = frozenset(state.value for state in PaymentState)
_ORDER_EPOCH = re.compile(r"-([0-9a-f]{4})-\d+$")


@dataclass
class TableSalvage:
    """One table's rows read back (by key) and what could not be."""

    rows: dict[tuple[Any, ...], dict[str, Any]] = field(default_factory=dict)
    unreadable: int = 0  # rows SQLite returned whose values are damaged
    tail_read: bool = False  # the row with the highest key was read and kept
    errors: list[str] = field(default_factory=list)  # reads SQLite gave up on

    @property
    def whole(self) -> bool:
        """True when every read went through and every row was sound."""
        return not self.errors and not self.unreadable


@dataclass
class Salvage:
    """Everything read out of a damaged journal, table by table."""

    tables: dict[str, TableSalvage]
    check: str  # what PRAGMA integrity_check said about the file read

    def max_seq(self, table: str) -> int:
        """The highest through-number among ``table``'s rows read (0 when none)."""
        return max((int(row["seq"]) for row in self.tables[table].rows.values()), default=0)

    def tail_known(self) -> bool:
        """True when the highest through-number ever used is among the payments read.

        The payments table's last row was read and kept, and no history
        step or outbox item names a higher number, so numbering can go on from it.
        """
        if not self.tables["payments"].tail_read:
            return False
        top = self.max_seq("payments")
        return top >= self.max_seq("history") and top >= self.max_seq("outbox")


def epoch_of_order(order_id: str) -> str | None:
    """The journal epoch in an order id ``<terminal>-<epoch>-<number>``, or None."""
    match = _ORDER_EPOCH.search(order_id)
    return match.group(1) if match else None


def salvage(conn: sqlite3.Connection) -> Salvage:
    """Read every table of the damaged journal open on ``conn`` (a copy: it may be changed)."""
    conn.text_factory = bytes
    with contextlib.suppress(sqlite3.Error):
        conn.execute("PRAGMA writable_schema = ON")  # read past schema text SQLite rejects
    tables = {name: TableSalvage() for name in TABLES}
    for name in ("meta", "history", "outbox", "payments", "shifts"):
        _scan(conn, name, tables[name])
    _probe(conn, "meta", tables["meta"], ["epoch", "terminal_id", "outbox_sent_through"])
    _probe(conn, "outbox", tables["outbox"], _gaps(tables["outbox"], tables, "id"))
    _probe(conn, "payments", tables["payments"], _gaps(tables["payments"], tables))
    paid = tables["payments"].rows.values()
    _probe(conn, "history", tables["history"], sorted({int(r["seq"]) for r in paid}), "seq")
    _probe(conn, "shifts", tables["shifts"], sorted({int(r["shift"]) for r in paid}))
    return Salvage(tables, _integrity(conn))


def _select(table: str) -> str:
    rowid = _ROWID.get(table)
    return f"SELECT {'rowid, ' if rowid else ''}* FROM {table}"  # noqa: S608 - fixed names


def _scan(conn: sqlite3.Connection, table: str, found: TableSalvage) -> None:
    """A forward scan; when it breaks off, a backward one for the rows past the damage."""
    rowid = _ROWID.get(table)
    keys = ("rowid",) if rowid else _KEYS[table]
    for how, direction in (("forward", "ASC"), ("backward", "DESC")):
        order = ", ".join(f"{key} {direction}" for key in keys)
        first = _take(conn, table, found, how, f"{_select(table)} ORDER BY {order}", ())
        if how == "forward" and not found.errors:
            found.tail_read = True
            return
        if how == "backward":
            found.tail_read = first


def _probe(
    conn: sqlite3.Connection,
    table: str,
    found: TableSalvage,
    keys: Iterable[Any],
    column: str | None = None,
) -> None:
    """Look up each key the scans did not read (only when a scan broke off)."""
    if not found.errors:
        return
    name = column or _KEYS[table][0]
    rowid = _ROWID.get(table)
    where = "rowid = ?" if rowid == name else f"{name} = ?"
    for key in keys:
        if column or (key,) not in found.rows:
            _take(conn, table, found, f"{name} {key}", f"{_select(table)} WHERE {where}", (key,))


def _take(
    conn: sqlite3.Connection,
    table: str,
    found: TableSalvage,
    how: str,
    sql: str,
    params: tuple[Any, ...],
) -> bool:
    """Read the rows ``sql`` returns into ``found``; True when the first one was sound."""
    first: bool | None = None
    try:
        for raw in _rows(conn, sql, params):
            row = _row(table, raw)
            if first is None:
                first = row is not None
            if row is None:
                found.unreadable += 1
                continue
            key = tuple(row[name] for name in _KEYS[table])
            found.rows.setdefault(key, row)
    except (sqlite3.Error, UnicodeDecodeError, OverflowError) as exc:
        found.errors.append(f"{how}: {sqlite_message(exc)}")
    return bool(first)


def _rows(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
    cursor = conn.execute(sql, params)
    while True:
        row = cursor.fetchone()
        if row is None:
            return
        yield tuple(row)


def _row(table: str, raw: tuple[Any, ...]) -> dict[str, Any] | None:
    """The row as column -> value when every value is sound, else None."""
    columns = TABLES[table]
    rowid_column = _ROWID.get(table)
    if rowid_column:
        rowid, raw = raw[0], raw[1:]
    if len(raw) != len(columns):
        return None
    row: dict[str, Any] = {}
    for name, value in zip(columns, raw, strict=True):
        if name == rowid_column and value is None:
            value = rowid  # the through-number is the row's id, even when its column is not
        decoded = _value(name, value)
        if decoded is _BAD:
            return None
        row[name] = decoded
    if table == "payments" and (row["state"] not in _STATES or row["flow"] not in ("mpm", "cpm")):
        return None
    if table == "history" and row["state"] not in _STATES:
        return None
    return row


_BAD = object()


def _value(name: str, value: Any) -> Any:
    if value is None:
        return None if name in _NULLABLE else _BAD
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return _BAD
    if name in _INTEGER:
        return value if isinstance(value, int) else _BAD
    if name == "mono":
        return float(value) if isinstance(value, int | float) else _BAD
    return value if isinstance(value, str) else _BAD


def _gaps(found: TableSalvage, tables: dict[str, TableSalvage], key: str = "seq") -> list[int]:
    """The numbers below the highest one seen anywhere that the scans did not read."""
    seen = {k[0] for k in found.rows}
    top = max(seen, default=0)
    if key == "seq":
        for other in ("history", "outbox"):
            top = max(top, *(int(r["seq"]) for r in tables[other].rows.values()), 0)
    return [n for n in range(1, top + 64) if n not in seen]  # and a little past the end


def _integrity(conn: sqlite3.Connection) -> str:
    try:
        rows = conn.execute("PRAGMA integrity_check(20)").fetchall()
    except (sqlite3.Error, UnicodeDecodeError) as exc:
        return sqlite_message(exc)
    return "; ".join(
        row[0].decode("utf-8", errors="replace") if isinstance(row[0], bytes) else str(row[0])
        for row in rows
    )
