"""One target's loop: read the records above its watermark, send them, move the watermark.

The watermark moves only after the receiver acknowledged the whole batch, so a batch cut
short by a reset, a restart or a power cut is sent again (at-least-once on the wire; the
record ids make it exactly-once for the receiver). A batch the receiver refuses is parked:
the target holds, an alert is raised, and ``payterm sync retry`` sends it again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from terminal.clock import Clock
from terminal.errors import JournalError
from terminal.journal import Journal
from terminal.journal.sync_marks import TargetMark, acknowledge, note_error, park, target_marks
from terminal.sync.backoff import Backoff
from terminal.sync.record import Record, RecordReader
from terminal.sync.targets import Refused, Target, TryLater

__all__ = ["TargetSender", "SenderStatus", "IDLE_POLL_S"]

log = logging.getLogger("payterm.sync")

#: With nothing to send, the outbox is looked at again this often even without a wake-up.
IDLE_POLL_S = 30.0


@dataclass(slots=True)
class SenderStatus:
    """What a sender knows now, for the status topic and tests."""

    sent_batches: int = 0
    sent_records: int = 0
    failures: int = 0
    last_error: str = ""
    parked: bool = False


class TargetSender:
    """Sends one target's backlog in order and in batches, whenever it is reachable."""

    def __init__(
        self,
        target: Target,
        journal: Journal,
        reader: RecordReader,
        clock: Clock,
        *,
        batch_size: int,
        backoff: Backoff,
        on_refused: Callable[[str, str], None],
        on_acked: Callable[[str], None],
    ) -> None:
        self.target = target
        self._journal = journal
        self._reader = reader
        self._clock = clock
        self._batch_size = batch_size
        self._backoff = backoff
        self._on_refused = on_refused
        self._on_acked = on_acked
        self._wake = asyncio.Event()
        self._prefetched: list[Record] = []  # the next batch, read while the last was answered
        self.status = SenderStatus()

    def wake(self) -> None:
        """New records are in the outbox (or a parked batch was released): look now."""
        self._wake.set()

    def mark(self) -> TargetMark | None:
        """The target's row in the journal."""
        for mark in target_marks(self._journal.database):
            if mark.name == self.target.name:
                return mark
        return None

    async def run_forever(self) -> None:
        """Send until cancelled; no failure of the target or the journal ends the loop."""
        while True:
            try:
                wait = await self.step()
            except JournalError as exc:
                log.error("sync %s: journal: %s", self.target.name, exc)
                wait = IDLE_POLL_S
            if wait > 0:
                await self._idle(wait)

    async def step(self) -> float:
        """Send one batch if there is one; how long to wait before the next step (0: now)."""
        name = self.target.name
        mark = self.mark()
        if mark is None:
            return IDLE_POLL_S
        self.status.parked = mark.parked
        if mark.parked:
            return IDLE_POLL_S
        records = self._prefetched or self._reader.after(mark.acked_through, self._batch_size)
        self._prefetched = []
        if not records or records[0].outbox_id <= mark.acked_through:
            records = self._reader.after(mark.acked_through, self._batch_size)
        if not records:
            return IDLE_POLL_S
        try:
            await self._send_and_prefetch(records)
        except TryLater as exc:
            self.status.failures += 1
            self.status.last_error = exc.reason
            note_error(self._journal.database, name, exc.reason, wall=self._clock.wall())
            wait = self._backoff.after_failure(exc.retry_after_s)
            log.warning("sync %s: %s; trying again in %.1f s", name, exc.reason, wait)
            await self._clock.sleep(wait)  # a back-off is not cut short by new records
            return 0.0
        except Refused as exc:
            self.status.failures += 1
            self.status.last_error = exc.reason
            self.status.parked = True
            last = records[-1].outbox_id
            park(self._journal.database, name, last, exc.reason, wall=self._clock.wall())
            log.error("sync %s: batch up to record %d parked: %s", name, last, exc.reason)
            self._on_refused(name, exc.reason)
            return IDLE_POLL_S
        acknowledge(self._journal.database, name, records[-1].outbox_id, wall=self._clock.wall())
        self._backoff.reset()
        self.status.sent_batches += 1
        self.status.sent_records += len(records)
        self.status.last_error = ""
        self._on_acked(name)
        return 0.0

    async def _send_and_prefetch(self, records: list[Record]) -> None:
        """Send ``records``; while the receiver answers, read the batch after them."""
        sending = asyncio.ensure_future(self.target.send(records))
        await asyncio.sleep(0)  # the request goes out first
        if not sending.done():
            try:
                self._prefetched = self._reader.after(records[-1].outbox_id, self._batch_size)
            except BaseException:
                sending.cancel()
                raise
        try:
            await sending
        except BaseException:
            self._prefetched = []
            raise

    async def _idle(self, seconds: float) -> None:
        """Wait ``seconds`` on the terminal's clock, or until woken."""
        self._wake.clear()
        sleeper = asyncio.ensure_future(self._clock.sleep(seconds))
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            woken.cancel()
