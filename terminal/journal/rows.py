"""A payment as a row of the ``payments`` table and back, and the reads that return payments."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

from terminal.errors import JournalError
from terminal.journal.database import Database
from terminal.journal.refunds import REFUND_FIELDS, refund_of_row
from terminal.money import Money
from terminal.payment import Flow, Payment, PaymentState, mask_code

__all__ = [
    "COLUMNS",
    "IDENTITY",
    "SELECT",
    "SELECT_STORED",
    "STORED",
    "INSERT",
    "check_identity",
    "masked",
    "read_payments",
    "row_values",
]

log = logging.getLogger(__name__)

#: Fields fixed when a payment is first recorded; a later record() may not change them.
IDENTITY = (
    "seq",
    "shift",
    "flow",
    "provider",
    "amount_minor",
    "currency",
    "created_wall",
    "wall_synced",
    "wallet",
)
#: Fields a later record() updates in place (only those that changed are written).
MUTABLE = (
    "state",
    "provider_ref",
    "qr_payload",
    "code_masked",
    "raw_status",
    "message",
    "forced",
    "needs_admin",
    "mismatch",
)
COLUMNS = ("order_id", *IDENTITY, *MUTABLE)
#: The stored row: the payment, then the journal's own marks.
STORED = (*COLUMNS, "unresolved", "outboxed")
SELECT = f"SELECT {', '.join(COLUMNS)} FROM payments"  # noqa: S608 - fixed column names
SELECT_STORED = f"SELECT {', '.join(STORED)} FROM payments"  # noqa: S608
INSERT = (
    f"INSERT INTO payments ({', '.join(STORED)}) "  # noqa: S608
    f"VALUES ({', '.join('?' * len(STORED))})"
)
_FLOWS: frozenset[str] = frozenset({"mpm", "cpm"})


def read_payments(db: Database, action: str, sql: str, params: Sequence[Any] = ()) -> list[Payment]:
    """Run a payments query (``SELECT ...``) and return its rows as Payments with history filled."""
    refund_sql = f"SELECT {', '.join(REFUND_FIELDS)} FROM refunds WHERE seq = ? ORDER BY n"  # noqa: S608
    result = []
    for row in db.rows(action, sql, params):
        states = db.rows(
            action, "SELECT state FROM history WHERE seq = ? ORDER BY n", (row["seq"],)
        )
        payment = _payment(row, tuple(str(s[0]) for s in states), db.path)
        refunds = tuple(refund_of_row(r) for r in db.rows(action, refund_sql, (row["seq"],)))
        result.append(replace(payment, refunds=refunds) if refunds else payment)
    return result


def row_values(payment: Payment) -> tuple[object, ...]:
    """The payments row for ``payment``, in ``COLUMNS`` order, as SQLite returns it."""
    return (
        payment.order_id,
        payment.seq,
        payment.shift,
        payment.flow,
        payment.provider,
        payment.amount.amount_minor,
        payment.amount.currency,
        payment.created_wall,
        int(payment.wall_synced),
        payment.wallet,
        payment.state.value,
        payment.provider_ref,
        payment.qr_payload,
        payment.code_masked,
        payment.raw_status,
        payment.message,
        int(payment.forced),
        int(payment.needs_admin),
        int(payment.mismatch),
    )


def check_identity(order_id: str, old: sqlite3.Row, new: tuple[object, ...]) -> None:
    """Refuse a record() that would change a payment's fixed fields."""
    for index, name in enumerate(IDENTITY, start=1):
        if old[index] != new[index]:
            raise JournalError(
                f"{order_id}: {name} cannot change once recorded ({old[index]!r} -> {new[index]!r})"
            )


def masked(payment: Payment) -> Payment:
    """Make sure no customer code reaches the disk in clear."""
    code = payment.code_masked
    if not code or "*" in code:
        return payment
    log.warning("journal:unmasked_code order_id=%s (masked before storing)", payment.order_id)
    return payment.with_state(payment.state, code_masked=mask_code(code))


def _payment(row: sqlite3.Row, history: tuple[str, ...], path: Path) -> Payment:
    """Build a Payment from a payments row."""
    if row["flow"] not in _FLOWS:
        raise JournalError(f"{path}: payment {row['order_id']} has unknown flow {row['flow']!r}")
    try:
        state = PaymentState(row["state"])
    except ValueError as exc:
        raise JournalError(
            f"{path}: payment {row['order_id']} has unknown state {row['state']!r}"
        ) from exc
    return Payment(
        order_id=row["order_id"],
        seq=int(row["seq"]),
        shift=int(row["shift"]),
        flow=cast(Flow, row["flow"]),
        provider=row["provider"],
        amount=Money(int(row["amount_minor"]), row["currency"]),
        state=state,
        provider_ref=row["provider_ref"],
        qr_payload=row["qr_payload"],
        code_masked=row["code_masked"],
        raw_status=row["raw_status"],
        message=row["message"],
        forced=bool(row["forced"]),
        needs_admin=bool(row["needs_admin"]),
        mismatch=bool(row["mismatch"]),
        created_wall=row["created_wall"],
        wall_synced=bool(row["wall_synced"]),
        wallet=row["wallet"],
        history=history,
    )
