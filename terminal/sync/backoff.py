"""How long a target waits before it tries again: exponential, with full jitter, and Retry-After."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["Backoff", "retry_after_s"]

#: A receiver's Retry-After is honoured up to this long (a wrong date must not stall sync).
RETRY_AFTER_MAX_S = 3600.0


@dataclass(slots=True)
class Backoff:
    """Waits of ``initial_s`` doubling up to ``max_s``, each a random part of that ("full jitter").

    ``after_failure`` gives the next wait (at least the receiver's Retry-After when given);
    ``reset`` starts again after a success.
    """

    initial_s: float = 1.0
    max_s: float = 300.0
    rng: random.Random = field(default_factory=random.Random)
    failures: int = 0

    def after_failure(self, retry_after_s: float | None = None) -> float:
        """The wait before the next try; the receiver's ``retry_after_s`` is a floor."""
        ceiling = min(self.max_s, self.initial_s * (2.0 ** min(self.failures, 30)))
        self.failures += 1
        wait = self.rng.uniform(self.initial_s / 2, max(self.initial_s / 2, ceiling))
        if retry_after_s is not None:
            wait = max(wait, min(retry_after_s, RETRY_AFTER_MAX_S))
        return wait

    def reset(self) -> None:
        """A batch was acknowledged: the next failure waits ``initial_s`` again."""
        self.failures = 0


def retry_after_s(value: str | None, *, now: datetime | None = None) -> float | None:
    """A Retry-After header (seconds, or an HTTP date) as seconds from now; None if absent."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
