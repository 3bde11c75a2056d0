"""The sandbox provider's books: payments, charges and refunds in a durable SQLite file.

The ledger is the sandbox's proof of what really happened: every ``pay`` action the
customer makes is one row in ``charges``, so "exactly one charge per order" can be
checked after the terminal and the sandbox were killed and restarted. It works without
HTTP, for tests and the control endpoints alike. Loop-friendly but blocking: each call
is one short SQLite transaction.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from terminal.payment import mask_code

__all__ = [
    "SandboxLedger",
    "LedgerRecord",
    "RefundRecord",
    "LedgerRefusal",
    "CustomerAction",
    "QR_BASE",
    "STATUSES",
]

CustomerAction = Literal["pay", "decline", "abandon", "expire"]
SandboxFlow = Literal["mpm", "cpm"]

STATUSES = ("pending", "paid", "declined", "expired", "cancelled", "refunded")
QR_BASE = "https://pay.sandbox.invalid/p/"  # short, so the QR fits a 128x64 display
CODE_PATTERN = re.compile(r"[0-9]{6,32}")
INVALID_CODE_MESSAGE = "invalid payment code"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS payments (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id TEXT NOT NULL UNIQUE,
    payment_id TEXT NOT NULL UNIQUE,
    flow TEXT NOT NULL,
    status TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    code_masked TEXT NOT NULL DEFAULT '',
    qr_payload TEXT,
    message TEXT NOT NULL DEFAULT '',
    refunded_minor INTEGER NOT NULL DEFAULT 0,
    abandoned INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS charges (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS refunds (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    refund_id TEXT NOT NULL UNIQUE,
    order_id TEXT NOT NULL,
    amount_minor INTEGER NOT NULL
);
"""

_COLUMNS = (
    "order_id, payment_id, flow, status, amount_minor, currency, qr_payload, message, "
    "refunded_minor, abandoned, code_masked, description"
)


class LedgerRefusal(Exception):
    """The sandbox refuses a request; ``error`` is the protocol's word, ``http_status`` its code."""

    def __init__(self, error: str, http_status: int, *, status: str | None = None) -> None:
        super().__init__(error if status is None else f"{error} (payment is {status})")
        self.error = error
        self.http_status = http_status
        self.status = status

    def to_json(self) -> dict[str, object]:
        """Return the protocol's error body."""
        body: dict[str, object] = {"error": self.error}
        if self.status is not None:
            body["status"] = self.status
        return body


@dataclass(frozen=True, slots=True)
class LedgerRecord:
    """One payment as the sandbox keeps it; the customer's code only ever masked."""

    order_id: str
    payment_id: str
    flow: str
    status: str
    amount_minor: int
    currency: str
    qr_payload: str | None
    message: str
    refunded_minor: int
    abandoned: bool = False
    code_masked: str = ""
    description: str = ""

    def to_json(self) -> dict[str, object]:
        """Return the record as the protocol sends it."""
        return {
            "order_id": self.order_id,
            "payment_id": self.payment_id,
            "flow": self.flow,
            "status": self.status,
            "amount_minor": self.amount_minor,
            "currency": self.currency,
            "qr_payload": self.qr_payload,
            "message": self.message,
            "refunded_minor": self.refunded_minor,
        }

    def to_ledger_json(self) -> dict[str, object]:
        """Return the record with the sandbox's own bookkeeping, for ``/control/ledger``."""
        return {
            **self.to_json(),
            "abandoned": self.abandoned,
            "code_masked": self.code_masked,
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class RefundRecord:
    """One refund, kept under its ``refund_id`` so a repeat refunds nothing more."""

    refund_id: str
    order_id: str
    amount_minor: int
    status: str = "refunded"

    def to_json(self) -> dict[str, object]:
        """Return the refund as the protocol sends it."""
        return {
            "refund_id": self.refund_id,
            "order_id": self.order_id,
            "status": self.status,
            "amount_minor": self.amount_minor,
        }


class SandboxLedger:
    """The sandbox's SQLite ledger (WAL, ``synchronous=FULL``); open with :meth:`open`."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path

    @classmethod
    def open(cls, path: Path) -> SandboxLedger:
        """Open (creating if needed) the ledger file at ``path``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, isolation_level=None, timeout=5.0)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(_SCHEMA)
        return cls(db, path)

    def close(self) -> None:
        """Close the file; idempotent."""
        self._db.close()

    def __repr__(self) -> str:
        return f"<SandboxLedger {self.path}>"

    # -- payments ----------------------------------------------------------------------

    def create(
        self,
        order_id: str,
        amount_minor: int,
        currency: str,
        *,
        flow: SandboxFlow = "mpm",
        description: str = "",
        code: str = "",
    ) -> LedgerRecord:
        """Create an MPM invoice or a CPM payment, or return the one already under ``order_id``.

        CPM: a code of 6 to 32 digits makes a pending payment (the customer confirms in
        the app); any other code makes a declined one. Raises ``LedgerRefusal("conflict")``
        when ``order_id`` exists with another amount, currency or flow.
        """
        with self._write():
            existing = self.get(order_id)
            if existing is not None:
                same = (existing.amount_minor, existing.currency, existing.flow)
                if same != (amount_minor, currency, flow):
                    raise LedgerRefusal("conflict", 409)
                return existing
            payment_id = secrets.token_hex(6)
            qr = f"{QR_BASE}{payment_id}" if flow == "mpm" else None
            status, message = "pending", ""
            if flow == "cpm" and not CODE_PATTERN.fullmatch(code):
                status, message = "declined", INVALID_CODE_MESSAGE
            self._db.execute(
                "INSERT INTO payments (order_id, payment_id, flow, status, amount_minor, currency,"
                " description, code_masked, qr_payload, message) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (order_id, payment_id, flow, status, amount_minor, currency, description,
                 mask_code(code) if code else "", qr, message),
            )  # fmt: skip
            return self._get_required(order_id)

    def get(self, order_id: str) -> LedgerRecord | None:
        """Return the payment under ``order_id``, or None."""
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM payments WHERE order_id = ?",  # noqa: S608 - constant columns
            (order_id,),
        ).fetchone()
        return None if row is None else _record(row)

    def payments(self) -> list[LedgerRecord]:
        """Return every payment, oldest first."""
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM payments ORDER BY seq")  # noqa: S608
        return [_record(row) for row in rows]

    def customer(self, action: CustomerAction, order_id: str | None = None) -> LedgerRecord | None:
        """Act as the customer on ``order_id`` or on the most recent pending, not abandoned one.

        ``pay`` makes it paid and counts one charge; ``decline`` and ``expire`` make it
        final; ``abandon`` leaves it pending but nobody will pay it. Returns the updated
        record, or None when there is no pending payment to act on.
        """
        with self._write():
            target = self._pending(order_id)
            if target is None:
                return None
            if action == "pay":
                self._db.execute("UPDATE payments SET status='paid' WHERE order_id=?", (target,))
                self._db.execute(
                    "INSERT INTO charges (order_id, amount_minor, currency)"
                    " SELECT order_id, amount_minor, currency FROM payments WHERE order_id=?",
                    (target,),
                )
            elif action in ("decline", "expire"):
                status = "declined" if action == "decline" else "expired"
                message = "declined by the customer" if action == "decline" else "invoice expired"
                self._db.execute(
                    "UPDATE payments SET status=?, message=? WHERE order_id=?",
                    (status, message, target),
                )
            elif action == "abandon":
                self._db.execute("UPDATE payments SET abandoned=1 WHERE order_id=?", (target,))
            else:
                raise ValueError(f"unknown customer action {action!r}")
            return self._get_required(target)

    def cancel(self, order_id: str) -> LedgerRecord:
        """Cancel a pending payment; other final ones are returned unchanged.

        Raises ``LedgerRefusal`` ``not_found`` (404) or ``already_paid`` (409).
        """
        with self._write():
            record = self.get(order_id)
            if record is None:
                raise LedgerRefusal("not_found", 404)
            if record.status == "paid":
                raise LedgerRefusal("already_paid", 409, status="paid")
            if record.status == "pending":
                self._db.execute(
                    "UPDATE payments SET status='cancelled', message='cancelled by the merchant'"
                    " WHERE order_id=?",
                    (order_id,),
                )
            return self._get_required(order_id)

    # -- refunds -----------------------------------------------------------------------

    def refund(self, order_id: str, refund_id: str, amount_minor: int) -> RefundRecord:
        """Refund ``amount_minor`` of a paid payment; a repeated ``refund_id`` refunds nothing.

        Raises ``LedgerRefusal``: ``not_found`` (404), ``not_paid``, ``exceeds`` or
        ``conflict`` (a known ``refund_id`` with another order or amount), all 409.
        """
        with self._write():
            done = self._refund(refund_id)
            if done is not None and (done.order_id, done.amount_minor) == (order_id, amount_minor):
                return done
            record = self.get(order_id)
            if record is None:
                raise LedgerRefusal("not_found", 404)
            if done is not None:
                raise LedgerRefusal("conflict", 409, status=record.status)
            if record.status != "paid":
                raise LedgerRefusal("not_paid", 409, status=record.status)
            refunded = record.refunded_minor + amount_minor
            if refunded > record.amount_minor:
                raise LedgerRefusal("exceeds", 409, status=record.status)
            status = "refunded" if refunded == record.amount_minor else "paid"
            self._db.execute(
                "INSERT INTO refunds (refund_id, order_id, amount_minor) VALUES (?,?,?)",
                (refund_id, order_id, amount_minor),
            )
            self._db.execute(
                "UPDATE payments SET refunded_minor=?, status=? WHERE order_id=?",
                (refunded, status, order_id),
            )
            return RefundRecord(refund_id, order_id, amount_minor)

    def refund_of(self, refund_id: str) -> RefundRecord | None:
        """The refund booked under ``refund_id``, or None when that id was never refunded."""
        return self._refund(refund_id)

    def refunds(self) -> list[RefundRecord]:
        """Return every refund, oldest first."""
        rows = self._db.execute(
            "SELECT refund_id, order_id, amount_minor FROM refunds ORDER BY seq"
        )
        return [RefundRecord(str(r[0]), str(r[1]), int(r[2])) for r in rows]

    def charges(self, order_id: str | None = None) -> int:
        """Return how many ``pay`` actions were ever applied (to ``order_id``, if given)."""
        if order_id is None:
            row = self._db.execute("SELECT COUNT(*) FROM charges").fetchone()
        else:
            row = self._db.execute(
                "SELECT COUNT(*) FROM charges WHERE order_id=?", (order_id,)
            ).fetchone()
        return int(row[0])

    def snapshot(self) -> dict[str, object]:
        """Return the whole ledger as ``/control/ledger`` answers it."""
        return {
            "payments": [record.to_ledger_json() for record in self.payments()],
            "charges": self.charges(),
            "refunds": [refund.to_json() for refund in self.refunds()],
        }

    # -- private -----------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[None]:
        """One write transaction, taken at once so two writers never interleave."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _get_required(self, order_id: str) -> LedgerRecord:
        record = self.get(order_id)
        assert record is not None, order_id
        return record

    def _pending(self, order_id: str | None) -> str | None:
        """Return the order id a customer action applies to, or None."""
        if order_id is not None:
            row = self._db.execute(
                "SELECT order_id FROM payments WHERE order_id=? AND status='pending'",
                (order_id,),
            ).fetchone()
        else:
            row = self._db.execute(
                "SELECT order_id FROM payments WHERE status='pending' AND abandoned=0"
                " ORDER BY seq DESC LIMIT 1"
            ).fetchone()
        return None if row is None else str(row[0])

    def _refund(self, refund_id: str) -> RefundRecord | None:
        row = self._db.execute(
            "SELECT refund_id, order_id, amount_minor FROM refunds WHERE refund_id=?",
            (refund_id,),
        ).fetchone()
        return None if row is None else RefundRecord(str(row[0]), str(row[1]), int(row[2]))


def _record(row: tuple[Any, ...]) -> LedgerRecord:
    (order_id, payment_id, flow, status, amount, currency, qr, message, refunded, abandoned,
     code_masked, description) = row  # fmt: skip
    return LedgerRecord(
        order_id=str(order_id),
        payment_id=str(payment_id),
        flow=str(flow),
        status=str(status),
        amount_minor=int(amount),
        currency=str(currency),
        qr_payload=None if qr is None else str(qr),
        message=str(message),
        refunded_minor=int(refunded),
        abandoned=bool(abandoned),
        code_masked=str(code_masked),
        description=str(description),
    )
