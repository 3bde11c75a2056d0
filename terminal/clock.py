"""The clock the terminal reads time from: real, or fake for tests and scripted demos."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

__all__ = ["Clock", "SystemClock", "FakeClock"]


class Clock(Protocol):
    """Where time comes from.

    ``monotonic()`` is for timeouts and never jumps; ``wall()`` is for records and may
    jump when NTP syncs after boot (a Pi has no real-time clock); ``wall_is_synced()``
    says whether the wall clock can be trusted yet. ``sleep()`` waits on this clock.
    """

    def monotonic(self) -> float: ...

    def wall(self) -> datetime: ...

    def wall_is_synced(self) -> bool: ...

    async def sleep(self, seconds: float) -> None: ...


#: systemd-timesyncd touches this file once the clock has been synchronised.
TIMESYNC_FLAG = Path("/run/systemd/timesync/synchronized")


class SystemClock:
    """The real clock of the machine."""

    def __init__(self, *, synced_flag: Path = TIMESYNC_FLAG, assume_synced: bool = False) -> None:
        self._synced_flag = synced_flag
        self._assume_synced = assume_synced
        self._known_synced = False

    def monotonic(self) -> float:
        """Seconds on the monotonic clock."""
        return time.monotonic()

    def wall(self) -> datetime:
        """The current wall time, timezone-aware UTC."""
        return datetime.now(UTC)

    def wall_is_synced(self) -> bool:
        """True once NTP has synchronised the clock (latched: it stays true)."""
        if not self._known_synced:
            self._known_synced = self._assume_synced or self._synced_flag.exists()
        return self._known_synced

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of real time."""
        await asyncio.sleep(max(0.0, seconds))

    def __repr__(self) -> str:
        return f"<SystemClock synced={self.wall_is_synced()}>"


class FakeClock:
    """A clock that moves only when told to; sleepers wake when it passes their deadline."""

    def __init__(
        self,
        *,
        start_monotonic: float = 1000.0,
        start_wall: datetime | None = None,
        synced: bool = True,
    ) -> None:
        self._now = start_monotonic
        self._wall0 = start_wall or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
        self._mono0 = start_monotonic
        self.synced = synced
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def monotonic(self) -> float:
        """The fake monotonic time."""
        return self._now

    def wall(self) -> datetime:
        """The fake wall time, moving in step with the monotonic time."""
        from datetime import timedelta

        return self._wall0 + timedelta(seconds=self._now - self._mono0)

    def wall_is_synced(self) -> bool:
        """Whether the fake wall clock claims to be synchronised."""
        return self.synced

    async def sleep(self, seconds: float) -> None:
        """Wait until the fake time has been advanced past now + ``seconds``."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + max(0.0, seconds), next(self._order), fut))
        await fut

    def next_deadline(self) -> float | None:
        """The earliest deadline of a live sleeper, or None when nobody sleeps."""
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)
        return self._sleepers[0][0] if self._sleepers else None

    def set(self, monotonic: float) -> None:
        """Move time to ``monotonic`` (never backwards) and wake every sleeper now due."""
        self._now = max(self._now, monotonic)
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, fut = heapq.heappop(self._sleepers)
            if not fut.done():
                fut.set_result(None)

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` in one jump."""
        self.set(self._now + seconds)

    def __repr__(self) -> str:
        return f"<FakeClock t={self._now:.3f}>"
