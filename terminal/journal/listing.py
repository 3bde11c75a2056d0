"""``payterm journal``: the last payments of a terminal's journal, read without touching it.

The running service holds its journal exclusively (no other process can open it), and a
technician's command must never leave files behind that the service's user cannot write.
So the journal file and its write-ahead log are copied to a temporary folder and the copy
is read; a copy taken while the service wrote is taken again.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from terminal.errors import JournalError
from terminal.journal import Journal
from terminal.payment import Payment

__all__ = [
    "read_last_payments",
    "journal_snapshot",
    "payment_dict",
    "payments_table",
    "payments_json",
]

_SNAPSHOT_ATTEMPTS = 5
_SIDE_FILES = ("-wal",)


def _signature(path: Path) -> tuple[tuple[int, int], ...]:
    """Size and modification time of the journal and its WAL (absent: (-1, -1))."""
    result = []
    for name in (path, *(Path(f"{path}{side}") for side in _SIDE_FILES)):
        try:
            stat = os.stat(name)
            result.append((stat.st_size, stat.st_mtime_ns))
        except FileNotFoundError:
            result.append((-1, -1))
    return tuple(result)


def _copy_snapshot(path: Path, folder: Path) -> Path:
    """Copy the journal and its WAL into ``folder`` while neither changes; the copy's path."""
    copy = folder / path.name
    for _ in range(_SNAPSHOT_ATTEMPTS):
        before = _signature(path)
        for side in ("", *_SIDE_FILES):
            source, target = Path(f"{path}{side}"), Path(f"{copy}{side}")
            target.unlink(missing_ok=True)
            try:
                shutil.copyfile(source, target)
            except FileNotFoundError:
                if not side:
                    raise
        if _signature(path) == before:
            return copy
    return copy  # busy all along: read the last copy (its newest payments may be missing)


def read_last_payments(path: Path, *, terminal_id: str, last: int) -> list[Payment]:
    """The last ``last`` payments of the journal at ``path``, oldest first; nothing written.

    :raises JournalError: no journal there, it cannot be read, or it is damaged.
    """
    with journal_snapshot(path, terminal_id=terminal_id) as journal:
        return list(reversed(journal.recent(last)))


@contextlib.contextmanager
def journal_snapshot(path: Path, *, terminal_id: str) -> Iterator[Journal]:
    """A copy of the journal at ``path``, opened, for reading while the service runs.

    :raises JournalError: no journal there, it cannot be read, or it is damaged.
    """
    try:
        found = path.is_file()
    except OSError as exc:  # e.g. the data folder is not readable by this user
        raise JournalError(f"{path}: cannot read the journal: {exc.strerror or exc}") from exc
    if not found:
        raise JournalError(f"{path}: no journal here (has the terminal run with this config?)")
    with tempfile.TemporaryDirectory(prefix="payterm-journal-") as folder:
        try:
            copy = _copy_snapshot(path, Path(folder))
        except OSError as exc:
            raise JournalError(f"{path}: cannot read the journal: {exc.strerror or exc}") from exc
        journal = Journal.open(copy, terminal_id=terminal_id)
        try:
            yield journal
        finally:
            journal.close()


def payment_dict(payment: Payment) -> dict[str, Any]:
    """The fields a technician checks, as JSON-ready values."""
    return {
        "order_id": payment.order_id,
        "seq": payment.seq,
        "state": payment.state.value,
        "amount_minor": payment.amount.amount_minor,
        "currency": payment.amount.currency,
        "amount": str(payment.amount),
        "provider": payment.provider,
        "provider_order": payment.provider_ref,
        "flow": payment.flow,
        "created": payment.created_wall,
        "flags": _flags(payment),
    }


def _flags(payment: Payment) -> list[str]:
    flags = []
    if payment.forced:
        flags.append("forced")
    if payment.needs_admin:
        flags.append("needs_admin")
    if payment.mismatch:
        flags.append("mismatch")
    if not payment.wall_synced:
        flags.append("clock_unsynced")
    return flags


def payments_json(payments: Sequence[Payment]) -> str:
    """The payments as one JSON list, oldest first."""
    return json.dumps([payment_dict(p) for p in payments], ensure_ascii=False, indent=2)


_COLUMNS = ("seq", "order id", "state", "amount", "provider", "provider order", "flags")


def payments_table(payments: Sequence[Payment]) -> str:
    """The payments as an aligned text table, oldest first ("no payments" when empty)."""
    if not payments:
        return "no payments in the journal"
    rows = [
        (
            f"{p.seq:06d}",
            p.order_id,
            p.state.value,
            str(p.amount),
            p.provider,
            p.provider_ref or "-",
            ",".join(_flags(p)) or "-",
        )  # fmt: skip
        for p in payments
    ]
    widths = [max(len(row[i]) for row in (_COLUMNS, *rows)) for i in range(len(_COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in (_COLUMNS, *rows)]  # fmt: skip
    return "\n".join(lines)
