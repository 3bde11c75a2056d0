"""The integrator API's records in the journal: pairings, idempotency keys, API payments, events.

Kept in the same SQLite file as the payments, so that they survive a restart with them
and an API payment's record is written before its payment's intent. Only the SHA-256 of
an API key is stored; keys are 32 random bytes, so a plain hash cannot be reversed.
Event ids are the ``api_events`` rowids: payment steps get theirs from a trigger on
``history``, in the step's own transaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import cast

from terminal.journal.database import Database
from terminal.machine.api_events import ApiMethod, ApiOrder, ApiOrderStatus
from terminal.money import Money

__all__ = ["ApiStore", "Pairing", "StoredRequest", "StoredEvent", "key_hash"]


def key_hash(key: str) -> str:
    """The stored form of an API key: its SHA-256, in hex."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Pairing:
    """A POS paired with the terminal: its name and when."""

    name: str
    created_wall: str


@dataclass(frozen=True, slots=True)
class StoredRequest:
    """An idempotency key already used: what for, the hash of its body, and its payment."""

    kind: str
    body_hash: str
    order_id: str


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One numbered event: a payment's step (``seq``, ``n``) or a terminal condition."""

    id: int
    kind: str
    seq: int | None
    n: int | None
    body: str
    wall: str


_SELECT_ORDERS = (
    "SELECT p.order_id, p.seq, p.reference, p.method, p.description, p.amount_minor, "
    "p.currency, p.provider, p.status, coalesce(r.idempotency_key, ''), "
    "coalesce(r.body_hash, '') FROM api_payments p LEFT JOIN api_requests r "
    "ON r.order_id = p.order_id AND r.kind = 'payment'"
)


class ApiStore:
    """Reads and writes of the API's tables; loop-thread only, like the journal."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # --- pairings ----------------------------------------------------------------------

    def add_pairing(self, name: str, hashed: str, *, wall: str) -> None:
        """Pair ``name`` with the key whose hash is ``hashed`` (a name paired again is replaced)."""
        with self._db.write(f"pair {name}") as conn:
            conn.execute(
                "INSERT OR REPLACE INTO api_pairings (name, key_hash, created_wall) "
                "VALUES (?, ?, ?)",
                (name, hashed, wall),
            )

    def paired_name(self, hashed: str) -> str | None:
        """The name paired with the key of ``hashed``, or None."""
        row = self._db.one(
            "check an API key", "SELECT name FROM api_pairings WHERE key_hash = ?", (hashed,)
        )
        return None if row is None else str(row[0])

    def paired_keys(self) -> dict[str, str]:
        """Every paired key's hash, to its POS's name (the API checks keys against these)."""
        rows = self._db.rows("list API keys", "SELECT key_hash, name FROM api_pairings")
        return {str(r[0]): str(r[1]) for r in rows}

    def pairings(self) -> list[Pairing]:
        """Every pairing, by name."""
        rows = self._db.rows(
            "list pairings", "SELECT name, created_wall FROM api_pairings ORDER BY name"
        )
        return [Pairing(str(r[0]), str(r[1])) for r in rows]

    def revoke(self, name: str) -> bool:
        """Forget the pairing ``name``; False when there was none."""
        with self._db.write(f"revoke {name}") as conn:
            cursor = conn.execute("DELETE FROM api_pairings WHERE name = ?", (name,))
            return cursor.rowcount > 0

    # --- idempotency keys and API payments ---------------------------------------------

    def request(self, idempotency_key: str) -> StoredRequest | None:
        """What ``idempotency_key`` was used for, or None when it is new."""
        row = self._db.one(
            "read an idempotency key",
            "SELECT kind, body_hash, order_id FROM api_requests WHERE idempotency_key = ?",
            (idempotency_key,),
        )
        return None if row is None else StoredRequest(str(row[0]), str(row[1]), str(row[2]))

    def record_order(self, order: ApiOrder, *, wall: str, durable: bool = True) -> None:
        """Write (or update the status of) ``order``, with its idempotency key, in one go.

        ``durable=False`` skips this commit's own fsync: for a record followed at once by
        its payment's intent, whose fsync makes both durable (WAL frames are synced in
        order). A crash between the two loses both, so the POS's retry with the same key
        makes the payment afresh; no provider call can have happened.
        """
        conn = self._db.live()
        if not durable:
            conn.execute("PRAGMA synchronous = NORMAL")
        try:
            self._write_order(order, wall)
        finally:
            if not durable:
                conn.execute("PRAGMA synchronous = FULL")

    def _write_order(self, order: ApiOrder, wall: str) -> None:
        with self._db.write(f"record the API payment {order.order_id}") as conn:
            conn.execute(
                "INSERT INTO api_payments (order_id, seq, reference, method, description, "
                "amount_minor, currency, provider, status, created_wall) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (order_id) DO UPDATE SET status = excluded.status",
                (
                    order.order_id, order.seq, order.reference, order.method,
                    order.description, order.amount.amount_minor, order.amount.currency,
                    order.provider, order.status, wall,
                ),
            )  # fmt: skip
            conn.execute(
                "INSERT OR IGNORE INTO api_requests "
                "(idempotency_key, kind, body_hash, order_id, created_wall) "
                "VALUES (?, 'payment', ?, ?, ?)",
                (order.idempotency_key, order.body_hash, order.order_id, wall),
            )

    def record_refund_key(
        self, idempotency_key: str, body_hash: str, order_id: str, *, wall: str
    ) -> None:
        """Keep a refund's idempotency key, so the same request is answered the same way."""
        with self._db.write(f"record a refund request for {order_id}") as conn:
            conn.execute(
                "INSERT OR IGNORE INTO api_requests "
                "(idempotency_key, kind, body_hash, order_id, created_wall) "
                "VALUES (?, 'refund', ?, ?, ?)",
                (idempotency_key, body_hash, order_id, wall),
            )

    def order(self, order_id: str) -> ApiOrder | None:
        """The API's record of ``order_id`` (None for a payment typed on the keypad)."""
        rows = self._orders("WHERE p.order_id = ?", (order_id,))
        return rows[0] if rows else None

    def orders_by_reference(self, reference: str, limit: int = 20) -> list[ApiOrder]:
        """The API payments made with ``reference``, newest first."""
        return self._orders("WHERE p.reference = ? ORDER BY p.seq DESC LIMIT ?", (reference, limit))

    def last_order(self) -> ApiOrder | None:
        """The newest API payment, or None."""
        rows = self._orders("ORDER BY p.seq DESC LIMIT 1", ())
        return rows[0] if rows else None

    def max_seq(self) -> int:
        """The highest through-number an API payment reserved (0 when none)."""
        row = self._db.one("read API numbers", "SELECT coalesce(max(seq), 0) FROM api_payments")
        return 0 if row is None else int(row[0])

    def abandon_presenting(self) -> list[str]:
        """After a restart no customer is presenting a code any more: mark those abandoned."""
        rows = self._db.rows(
            "read API payments", "SELECT order_id FROM api_payments WHERE status = 'presenting'"
        )
        if rows:
            with self._db.write("abandon API payments left presenting") as conn:
                conn.execute(
                    "UPDATE api_payments SET status = 'abandoned' WHERE status = 'presenting'"
                )
        return [str(r[0]) for r in rows]

    def _orders(self, where: str, params: tuple[object, ...]) -> list[ApiOrder]:
        sql = f"{_SELECT_ORDERS} {where}"  # noqa: S608 - ``where`` is one of ours, fixed
        rows = self._db.rows("read API payments", sql, params)
        return [
            ApiOrder(
                order_id=str(r[0]),
                seq=int(r[1]),
                reference=str(r[2]),
                method=cast(ApiMethod, r[3]),
                description=str(r[4]),
                amount=Money(int(r[5]), str(r[6])),
                provider=str(r[7]),
                idempotency_key=str(r[9]),
                body_hash=str(r[10]),
                status=cast(ApiOrderStatus, r[8]),
            )  # fmt: skip
            for r in rows
        ]

    # --- events --------------------------------------------------------------------------

    def add_event(self, kind: str, body: str, *, wall: str) -> int:
        """Number and keep a terminal condition (paper out, a part unplugged, a mismatch)."""
        with self._db.write(f"record the {kind} event") as conn:
            cursor = conn.execute(
                "INSERT INTO api_events (kind, body, wall) VALUES (?, ?, ?)", (kind, body, wall)
            )
            return int(cursor.lastrowid or 0)

    def events_after(self, last_id: int, limit: int = 100) -> list[StoredEvent]:
        """The events numbered after ``last_id``, oldest first."""
        rows = self._db.rows(
            "read events",
            "SELECT id, kind, seq, n, body, wall FROM api_events WHERE id > ? ORDER BY id LIMIT ?",
            (last_id, limit),
        )
        return [StoredEvent(int(r[0]), str(r[1]), r[2], r[3], str(r[4]), str(r[5])) for r in rows]

    def last_event_id(self) -> int:
        """The newest event's id (0 when none)."""
        row = self._db.one("read events", "SELECT coalesce(max(id), 0) FROM api_events")
        return 0 if row is None else int(row[0])

    def step_of(self, seq: int, n: int) -> tuple[str, str, str, bool] | None:
        """The ``n``-th recorded step of payment ``seq``: state, note, wall time, synced."""
        row = self._db.one(
            "read a payment step",
            "SELECT state, note, wall, wall_synced FROM history WHERE seq = ? AND n = ?",
            (seq, n),
        )
        return None if row is None else (str(row[0]), str(row[1]), str(row[2]), bool(row[3]))

    def order_id_of(self, seq: int) -> str | None:
        """The order id of payment ``seq``."""
        row = self._db.one("read a payment", "SELECT order_id FROM payments WHERE seq = ?", (seq,))
        return None if row is None else str(row[0])
