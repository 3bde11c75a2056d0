"""``payterm journal``: the last payments of a terminal's journal, read without touching it;
``--check`` says whether it is sound, ``--recover`` salvages a damaged one (``recovery``).

The running service holds its journal exclusively (no other process can open it), and a
technician's command must never leave files behind that the service's user cannot write.
So the journal file and its write-ahead log are copied to a temporary folder and the copy
is read; a copy taken while the service wrote is taken again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from terminal.errors import JournalDamaged, JournalError
from terminal.journal import Journal, probe
from terminal.journal.snapshot import copy_snapshot
from terminal.payment import Payment

__all__ = [
    "check_journal",
    "journal_snapshot",
    "read_last_payments",
    "recover_journal",
    "payment_dict",
    "payments_table",
    "payments_json",
]


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
        probe.inspect(path)  # a journal this folder held and lost is said as such
        raise JournalError(f"{path}: no journal here (has the terminal run with this config?)")
    with tempfile.TemporaryDirectory(prefix="payterm-journal-") as folder:
        try:
            copy = copy_snapshot(path, Path(folder))
        except OSError as exc:
            raise JournalError(f"{path}: cannot read the journal: {exc.strerror or exc}") from exc
        try:
            journal = Journal.open(copy, terminal_id=terminal_id, create=False, marker=False)
        except JournalDamaged as exc:  # said of the journal, not of the copy read
            raise JournalDamaged(str(exc).replace(str(copy), str(path))) from exc
        try:
            yield journal
        finally:
            journal.close()


def check_journal(path: Path, *, terminal_id: str, as_json: bool, out: TextIO) -> int:
    """Say whether the journal at ``path`` is sound, reading every row of a copy; 0 if it is."""
    from terminal.journal.recovery import diagnose

    del terminal_id  # the check needs none; the signature matches recover_journal
    try:
        damage, found = diagnose(path)
    except JournalError as exc:
        damage, found = str(exc).removeprefix(f"{path}: "), None
    rows = {name: len(t.rows) for name, t in found.tables.items()} if found else {}
    if as_json:
        print(json.dumps({"path": str(path), "sound": not damage, "problem": damage,
                          "rows": rows}), file=out)  # fmt: skip
    elif damage:
        hint = f"; {probe.RECOVER_HINT}" if found is not None else ""
        print(f"{path}: {damage}{hint}", file=out)
    else:
        print(f"{path}: the journal is sound ({rows.get('payments', 0)} payments)", file=out)
    return 1 if damage else 0


def recover_journal(path: Path, *, terminal_id: str, as_json: bool, out: TextIO) -> int:
    """Salvage the damaged journal at ``path`` into a new one and print what was done; 0."""
    from terminal.journal.recovery import recover

    result = recover(path, terminal_id=terminal_id)
    if as_json:
        data = dataclasses.asdict(result)
        data["journal"], data["kept"] = str(result.journal), [str(p) for p in result.kept]
        print(json.dumps(data, ensure_ascii=False, indent=2), file=out)
    else:
        print("\n".join(result.lines()), file=out)
    return 0


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
