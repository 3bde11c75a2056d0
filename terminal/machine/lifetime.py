"""How long a payment may wait: its window, and how much of it a restart has already used.

While the terminal runs, a wait is measured on the monotonic clock from the moment the
payment began (``State.started_at``). A restart loses that clock's meaning, so a payment
resumed from the journal takes its start from the wall time recorded at its creation,
with that reading's "synchronised" flag. When either wall reading (the creation's or the
current one) is not synchronised, or the wall clock reads earlier now than at creation,
the time that has passed cannot be known and the safe reading is taken: the window is
used up, so a resumed invoice is never payable longer than its lifetime.
"""

from __future__ import annotations

from datetime import datetime

from terminal.machine.states import Now, Settings
from terminal.payment import Payment

__all__ = ["wait_window_s", "elapsed_since_creation", "resumed_start"]


def wait_window_s(settings: Settings, payment: Payment) -> float:
    """How long ``payment`` may wait: the invoice lifetime (QR) or the confirmation window."""
    caps = settings.capabilities(payment.provider)
    return caps.invoice_lifetime_s if payment.flow == "mpm" else caps.confirm_timeout_s


def elapsed_since_creation(payment: Payment, now: Now) -> float | None:
    """Seconds since ``payment`` was created by the wall clock; None when that is unknowable."""
    if not (payment.wall_synced and now.wall_synced):
        return None
    created, current = _parse(payment.created_wall), _parse(now.wall)
    if created is None or current is None:
        return None
    elapsed = (current - created).total_seconds()
    return elapsed if elapsed >= 0 else None


def resumed_start(settings: Settings, payment: Payment, now: Now) -> float:
    """The monotonic time a payment resumed after a restart is taken to have begun."""
    elapsed = elapsed_since_creation(payment, now)
    if elapsed is None:
        elapsed = wait_window_s(settings, payment)  # unknowable: the window is used up
    return now.mono - elapsed


def _parse(wall: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(wall)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
