"""Finding the payment a slip names, for a refund by the slip."""

from __future__ import annotations

from terminal.journal.database import Database
from terminal.journal.rows import SELECT, read_payments
from terminal.payment import Payment

__all__ = ["find_by_slip"]

#: The longest through-number looked up as one (SQLite integers hold 18 digits safely).
_MAX_SEQ_DIGITS = 18


def find_by_slip(db: Database, reference: str) -> Payment | None:
    """Return the payment a slip's ``reference`` names, or None.

    ``reference`` is what a refund scans or types from the slip: the provider's order
    number (the barcode), the terminal's order id, or the through-number ("000123").
    Where a provider reused a number, the newest payment wins.
    """
    action = f"look up {reference!r}"
    rows = read_payments(
        db, action, f"{SELECT} WHERE provider_ref = ? ORDER BY seq DESC LIMIT 1", (reference,)
    )
    if not rows:
        rows = read_payments(db, action, f"{SELECT} WHERE order_id = ?", (reference,))
    if not rows and reference.isdigit() and len(reference) <= _MAX_SEQ_DIGITS:
        rows = read_payments(db, action, f"{SELECT} WHERE seq = ?", (int(reference),))
    return rows[0] if rows else None
