"""Refunds by the slip as rows of their own: written with their payment, read back with it.

A refund is recorded in the same transaction as its payment's step (so the payment's
state and its refunds never disagree on disk), before the refund goes to the provider.
Each refund that reaches a word of its own (refunded, refused, forced, reconciled) puts
one item in the outbox: the payment's snapshot plus a ``refund`` object (additive: a
reader that knows nothing of refunds reads the payment as before).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from terminal.money import Money
from terminal.payment import Payment, Refund, RefundState

__all__ = [
    "REFUND_FIELDS",
    "changed_refunds",
    "read_refunds",
    "refund_json",
    "refund_of_row",
    "write_refunds",
]

#: The refunds table's columns a Refund is made of, in order.
REFUND_FIELDS = (
    "key",
    "n",
    "amount_minor",
    "currency",
    "shift",
    "state",
    "forced",
    "reconciled",
    "mismatch",
    "provider_ref",
    "wall",
    "wall_synced",
    "done_wall",
)
_SELECT = f"SELECT {', '.join(REFUND_FIELDS)} FROM refunds"  # noqa: S608 - fixed column names
_STATES: frozenset[str] = frozenset({"requested", "refunded", "refused", "forced"})


def _values(refund: Refund) -> tuple[object, ...]:
    """The refunds row of ``refund`` in ``REFUND_FIELDS`` order, as SQLite returns it."""
    return (
        refund.key,
        refund.n,
        refund.amount.amount_minor,
        refund.amount.currency,
        refund.shift,
        refund.state,
        int(refund.forced),
        int(refund.reconciled),
        int(refund.mismatch),
        refund.provider_ref,
        refund.wall,
        int(refund.wall_synced),
        refund.done_wall,
    )


def refund_of_row(row: sqlite3.Row | tuple[object, ...]) -> Refund:
    """Build a Refund from a row of ``REFUND_FIELDS``."""
    values = tuple(row)
    state = str(values[5])
    return Refund(
        key=str(values[0]),
        n=int(str(values[1])),
        amount=Money(int(str(values[2])), str(values[3])),
        shift=int(str(values[4])),
        state=_state(state),
        forced=bool(values[6]),
        reconciled=bool(values[7]),
        mismatch=bool(values[8]),
        provider_ref=None if values[9] is None else str(values[9]),
        wall=str(values[10]),
        wall_synced=bool(values[11]),
        done_wall=str(values[12]),
    )


def _state(value: str) -> RefundState:
    if value not in _STATES:
        raise ValueError(f"unknown refund state {value!r}")
    return value  # type: ignore[return-value]


def read_refunds(conn: sqlite3.Connection, seq: int) -> tuple[Refund, ...]:
    """Every refund of the payment ``seq``, oldest first."""
    rows = conn.execute(f"{_SELECT} WHERE seq = ? ORDER BY n", (seq,)).fetchall()
    return tuple(refund_of_row(row) for row in rows)


def changed_refunds(stored: Iterable[Refund], payment: Payment) -> list[Refund]:
    """The refunds of ``payment`` that are new or differ from what is ``stored``."""
    known = {r.key: _values(r) for r in stored}
    return [r for r in payment.refunds if known.get(r.key) != _values(r)]


def write_refunds(conn: sqlite3.Connection, seq: int, refunds: Iterable[Refund]) -> None:
    """Insert or update each of ``refunds`` of payment ``seq``, inside the caller's transaction."""
    columns = ", ".join(REFUND_FIELDS)
    updates = ", ".join(f"{name} = excluded.{name}" for name in REFUND_FIELDS[1:])
    for refund in refunds:
        conn.execute(
            f"INSERT INTO refunds (seq, {columns}) VALUES (?, {', '.join('?' * len(REFUND_FIELDS))}) "  # noqa: S608, E501
            f"ON CONFLICT (key) DO UPDATE SET {updates}",
            (seq, *_values(refund)),
        )


def refund_json(refund: Refund) -> dict[str, object]:
    """A refund as the outbox and the API carry it."""
    return {
        "key": refund.key,
        "n": refund.n,
        "amount_minor": refund.amount.amount_minor,
        "currency": refund.amount.currency,
        "shift": refund.shift,
        "state": refund.state,
        "forced": refund.forced,
        "reconciled": refund.reconciled,
        "mismatch": refund.mismatch,
        "provider_ref": refund.provider_ref,
        "wall": refund.wall,
        "wall_synced": refund.wall_synced,
        "done_wall": refund.done_wall,
    }
