"""``payterm journal --recover``: a new journal from what a damaged one still holds.

Run by a technician, with the terminal stopped (a journal still held by a running
terminal is refused). The damaged journal and its write-ahead log are read from a copy
(``salvage``), a new journal is built beside them under a temporary name, checked, and
only then do the files trade places: the damaged ones are renamed with a time stamp
(``journal.sqlite3.damaged-20260302T091500Z``, its WAL beside it), never deleted, and the
new one takes the journal's name, with its marker. A journal that is sound is refused:
there is nothing to recover.

The epoch: order ids are ``<terminal>-<epoch>-<number>`` and are idempotency keys at the
providers, so none may ever be used twice. The old epoch (from the journal's meta, else
its marker, else the order ids read) is kept when numbering can go on above every
number ever used: the payments' last row was read and no history step or outbox item
names a higher number. Otherwise, or when no epoch can be read, a new epoch is made,
different from the old one: a number lost with the damage may then come again, but
never under the same epoch. Numbering goes on above the highest number read.
"""

from __future__ import annotations

import collections
import fcntl
import logging
import os
import secrets
import sqlite3
import struct
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from terminal.errors import JournalDamaged, JournalError
from terminal.journal import probe
from terminal.journal.database import open_database
from terminal.journal.marker import Marker, fsync_folder, marker_path, read_marker, write_marker
from terminal.journal.salvage import TABLES, Salvage, TableSalvage, epoch_of_order, salvage
from terminal.journal.snapshot import SIDE_FILES, copy_snapshot, side_file

__all__ = ["Recovered", "TableCount", "diagnose", "recover", "in_use"]

log = logging.getLogger(__name__)

_ORDER = ("meta", "shifts", "payments", "history", "outbox")


@dataclass(frozen=True, slots=True)
class TableCount:
    """How many rows of a table were carried into the new journal, and how many were not."""

    table: str
    recovered: int
    unreadable: int
    errors: tuple[str, ...]
    orphaned: int = 0  # history steps and outbox items whose payment was lost


@dataclass(frozen=True, slots=True)
class Recovered:
    """What a recovery did: the new journal, where the damaged files went, the counts."""

    journal: Path
    kept: tuple[Path, ...]
    epoch: str
    old_epoch: str
    epoch_kept: bool
    next_seq: int
    damage: str
    counts: tuple[TableCount, ...]

    def lines(self) -> list[str]:
        """The report a technician reads, line by line."""
        out = [f"damage found: {self.damage}"]
        out += [f"kept as it was: {path}" for path in self.kept]
        for count in self.counts:
            line = f"{count.table}: {count.recovered} recovered, {count.unreadable} unreadable"
            if count.orphaned:
                line += f", {count.orphaned} left out (their payment was not recovered)"
            if count.errors:
                line += f" ({len(count.errors)} reads broke off; first: {count.errors[0]})"
            out.append(line)
        if self.epoch_kept:
            out.append(f"epoch {self.epoch} kept; numbering goes on at {self.next_seq:06d}")
        else:
            was = f"epoch {self.old_epoch}" if self.old_epoch else "the old epoch (unreadable)"
            out.append(
                f"new epoch {self.epoch} (was {was}): the highest number used could not be "
                "read, so no order id of the old journal can be made again; numbering goes "
                f"on at {self.next_seq:06d}"
            )
        out.append(f"new journal: {self.journal}")
        return out


def in_use(path: Path) -> bool:
    """True when another process holds the journal at ``path`` open (SQLite's lock on it).

    For a separate command only: closing the descriptor it opens drops every POSIX lock
    the calling process holds on the file, so it must not run beside an open journal.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        shared_first, shared_size = 0x40000002, 510  # SQLite's lock bytes
        request = struct.pack("hhxxxxqqixxxx", fcntl.F_WRLCK, os.SEEK_SET, shared_first,
                              shared_size, 0)  # fmt: skip
        answer = fcntl.fcntl(fd, fcntl.F_OFD_GETLK, request)
        return bool(struct.unpack("hhxxxxqqixxxx", answer)[0] != fcntl.F_UNLCK)
    except OSError:
        return False
    finally:
        os.close(fd)


def diagnose(path: Path) -> tuple[str, Salvage]:
    """What is wrong with the journal at ``path`` ("" when nothing), and every row it holds.

    Reads it whole (from a copy, nothing written): the open's checks, then every row.

    :raises JournalError: there is no journal and none was kept.
    """
    try:
        sound = probe.inspect(path)
        damage = ""
    except JournalDamaged as exc:
        sound, damage = False, str(exc).split(f"; {probe.RECOVER_HINT}")[0]
    if not sound and not damage:
        raise JournalError(f"{path}: no journal here (has the terminal run with this config?)")
    found = _read_damaged(path)
    if sound:
        broken = [name for name, table in found.tables.items() if not table.whole]
        if broken:
            damage = f"rows that cannot be read in {', '.join(broken)}"
    return damage.removeprefix(f"{path}: "), found


def recover(path: Path, *, terminal_id: str, now: datetime | None = None) -> Recovered:
    """Salvage the damaged journal at ``path`` into a new one in its place; keep the old.

    :raises JournalError: the journal is sound, in use, or the new one cannot be made.
    """
    now = now or datetime.now(UTC)
    if in_use(path):
        raise JournalError(
            f"{path}: the journal is in use by a running terminal; stop it first "
            "(systemctl stop payterm), then recover"
        )
    damage, found = diagnose(path)
    if not damage:
        raise JournalError(f"{path}: the journal is sound; there is nothing to recover")
    marker = read_marker(path)
    old_epoch = _old_epoch(found, marker)
    keep = bool(old_epoch) and found.tail_known()
    epoch = old_epoch if keep else _new_epoch(old_epoch, found)
    building = path.with_name(path.name + ".recovering")
    counts = _build(building, found, terminal_id=terminal_id, epoch=epoch)
    kept = _swap(path, building, now)
    write_marker(path, Marker(epoch, terminal_id, now.isoformat(timespec="seconds")))
    _give_to_owner(path)
    result = Recovered(
        journal=path, kept=kept, epoch=epoch, old_epoch=old_epoch, epoch_kept=keep,
        next_seq=found.max_seq("payments") + 1, damage=damage, counts=counts,
    )  # fmt: skip
    log.warning("journal:recovered %s", " | ".join(result.lines()))
    return result


def _read_damaged(path: Path) -> Salvage:
    """Read the damaged journal from a copy (an empty or missing one reads as nothing)."""
    if not (path.is_file() and path.stat().st_size):
        return Salvage({name: TableSalvage() for name in TABLES}, "the journal file is empty")
    with tempfile.TemporaryDirectory(prefix="payterm-recover-") as folder:
        copy = copy_snapshot(path, Path(folder))
        conn = sqlite3.connect(copy, isolation_level=None)
        try:
            return salvage(conn)
        finally:
            conn.close()


def _old_epoch(found: Salvage, marker: Marker | None) -> str:
    meta = found.tables["meta"].rows.get(("epoch",))
    if meta and _is_epoch(meta["value"]):
        return str(meta["value"])
    if marker is not None and _is_epoch(marker.epoch):
        return marker.epoch
    seen = collections.Counter(
        epoch_of_order(str(row["order_id"])) for row in found.tables["payments"].rows.values()
    )
    seen.pop(None, None)
    return str(seen.most_common(1)[0][0]) if seen else ""


def _is_epoch(text: object) -> bool:
    return isinstance(text, str) and len(text) == 4 and all(c in "0123456789abcdef" for c in text)


def _new_epoch(old: str, found: Salvage) -> str:
    used = {old} | {
        epoch_of_order(str(r["order_id"])) for r in found.tables["payments"].rows.values()
    }
    while True:
        epoch = secrets.token_hex(2)
        if epoch not in used:
            return epoch


def _build(
    building: Path, found: Salvage, *, terminal_id: str, epoch: str
) -> tuple[TableCount, ...]:
    """Make the new journal at ``building`` with the rows read; the count of each table."""
    for name in (building, *(side_file(building, side) for side in SIDE_FILES)):
        name.unlink(missing_ok=True)
    db, _ = open_database(building, terminal_id=terminal_id, marker=False)
    counts = []
    try:
        with db.write("write the recovered journal") as conn:
            conn.execute("UPDATE meta SET value = ? WHERE key = 'epoch'", (epoch,))
            mark = found.tables["meta"].rows.get(("outbox_sent_through",))
            if mark is not None and str(mark["value"]).isdigit():
                conn.execute(
                    "UPDATE meta SET value = ? WHERE key = 'outbox_sent_through'", (mark["value"],)
                )
            seqs = {key[0] for key in found.tables["payments"].rows}
            for table in _ORDER:
                counts.append(_insert(conn, table, found.tables[table], seqs))
        check = db.rows("check the recovered journal", "PRAGMA integrity_check")
        if [str(row[0]) for row in check] != ["ok"]:
            raise JournalError(f"{building}: the recovered journal does not check out: {check}")
    finally:
        db.close()
    return tuple(counts)


def _insert(
    conn: sqlite3.Connection, table: str, found: TableSalvage, seqs: set[int]
) -> TableCount:
    columns = TABLES[table]
    if table == "meta":
        return TableCount(table, len(found.rows), found.unreadable, tuple(found.errors))
    sql = (
        f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) "  # noqa: S608 - fixed names
        f"VALUES ({', '.join('?' * len(columns))})"
    )
    done, orphans = 0, 0
    for row in found.rows.values():
        if table in ("history", "outbox") and row["seq"] not in seqs:
            orphans += 1  # its payment was lost; kept only in the damaged file
            continue
        try:
            done += conn.execute(sql, [row[c] for c in columns]).rowcount
        except sqlite3.IntegrityError:
            orphans += 1
    return TableCount(table, done, found.unreadable, tuple(found.errors), orphans)


def _swap(path: Path, building: Path, now: datetime) -> tuple[Path, ...]:
    """Rename the damaged files aside (time-stamped) and the new journal into place."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    kept = []
    for side in ("", *SIDE_FILES):
        source = side_file(path, side)
        if source.exists():
            target = side_file(aside, side)
            os.replace(source, target)
            kept.append(target)
    os.replace(building, path)
    fsync_folder(path.parent)
    return tuple(kept)


def _give_to_owner(path: Path) -> None:
    """Run as root, hand the new journal and marker to whoever owns the data directory."""
    if os.geteuid() != 0:
        return
    owner = path.parent.stat()
    for name in (path, marker_path(path)):
        try:
            os.chown(name, owner.st_uid, owner.st_gid)
        except OSError as exc:
            log.warning("journal:chown_failed path=%s error=%s", name, exc)
