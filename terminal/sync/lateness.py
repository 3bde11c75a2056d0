"""How old the oldest unsynced record is, on the monotonic clock, for the display's mark.

Each time the outbox's newest id grows, the monotonic time is noted beside it; the oldest
unsynced record's age is the time since the first note that covers its id. Records queued
before this start count from the start. So a wall clock that jumps at NTP sync never shows
or hides the mark.
"""

from __future__ import annotations

from collections import deque

from terminal.clock import Clock
from terminal.journal import Journal

__all__ = ["Lateness"]


class Lateness:
    """Says whether the oldest record some target still lacks is older than ``late_after_s``."""

    def __init__(self, journal: Journal, clock: Clock, *, late_after_s: float) -> None:
        self._journal = journal
        self._clock = clock
        self._late_after_s = late_after_s
        self._notes: deque[tuple[int, float]] = deque()  # (newest outbox id then, monotonic)
        self.is_late = False

    def late(self) -> bool:
        """Look at the outbox now; True while the oldest unsynced record is overdue."""
        db = self._journal.database
        row = db.one(
            "read the outbox",
            "SELECT (SELECT coalesce(max(id), 0) FROM outbox), (SELECT min(id) FROM outbox "
            "WHERE id > (SELECT CAST(value AS INTEGER) FROM meta "
            "WHERE key = 'outbox_sent_through'))",
        )
        newest = int(row[0]) if row is not None else 0
        oldest = row[1] if row is not None else None
        now = self._clock.monotonic()
        if not self._notes or newest > self._notes[-1][0]:
            self._notes.append((newest, now))
        if oldest is None:
            self.is_late = False
            return False
        while len(self._notes) > 1 and self._notes[0][0] < int(oldest):
            self._notes.popleft()
        self.is_late = now - self._notes[0][1] >= self._late_after_s
        return self.is_late
