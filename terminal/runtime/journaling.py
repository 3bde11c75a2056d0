"""The journal's effects: recording a payment step (write-ahead), looking a payment up, and
trying the journal again while the disk is full.

A record is committed on the journal's own worker thread and awaited: an fsync on an SD
card takes 10–50 ms, which the loop must not wait for while a scanner's keys and provider
answers come in. The runtime awaits the record before it carries out the next effect, so
the write-ahead rule holds: no provider call starts before its intent is durable.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from terminal.clock import Clock
from terminal.errors import JournalError, JournalFull
from terminal.journal import Journal
from terminal.machine import (
    CloseShift,
    Event,
    InDoubtFound,
    JournalFailed,
    JournalWritable,
    PaymentLookedUp,
    RecordPayment,
    ShiftClosed,
    ShiftCloseFailed,
    UnsettledFound,
)
from terminal.machine.background import RECONCILED_STATES
from terminal.payment import PaymentState
from terminal.runtime.observers import Emit

__all__ = ["JournalEffects"]

log = logging.getLogger("payterm.runtime")


class JournalEffects:
    """Carries out RecordPayment, CloseShift, FindPayment and CheckJournal; queues the
    payments in doubt.

    Loop-only; records are written one at a time on one worker thread (``payterm-journal``).
    """

    def __init__(
        self,
        journal: Journal,
        clock: Clock,
        *,
        feed: Callable[[Event], None],
        emit: Emit,
    ) -> None:
        self._journal = journal
        self._clock = clock
        self._feed = feed
        self._emit = emit
        self._writer: ThreadPoolExecutor | None = None

    def close(self) -> None:
        """Let the journal thread end once the record under way (if any) is written."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.shutdown(wait=False)

    def queue_in_doubt(self) -> None:
        """Feed the machine every payment the journal holds unfinished.

        NEW and PENDING ones are resolved with their provider one at a time; forced,
        cancel-failed and voiding ones are settled in the background.
        """
        for payment in self._journal.unresolved():
            if payment.state in (PaymentState.NEW, PaymentState.PENDING):
                log.warning("payment %s in doubt after restart: resolving", payment.order_id)
                self._emit("journal:in_doubt", order_id=payment.order_id, state=payment.state.value)
                self._feed(InDoubtFound(payment))
            elif payment.state in RECONCILED_STATES:
                log.warning("payment %s %s: settling in the background", payment.order_id,
                            payment.state.value)  # fmt: skip
                self._emit(
                    "journal:unsettled", order_id=payment.order_id, state=payment.state.value
                )
                self._feed(UnsettledFound(payment))

    async def record(self, effect: RecordPayment) -> JournalFailed | None:
        """Record the payment step durably; on failure, the event the machine must take at once.

        Returns once the step is committed (fsynced) on the journal thread; the loop runs
        other callbacks meanwhile. The clock is read here, on the loop, when asked.
        """
        write = functools.partial(
            self._journal.record,
            effect.payment,
            note=effect.note,
            mono=self._clock.monotonic(),
            wall=self._clock.wall(),
            wall_synced=self._clock.wall_is_synced(),
        )
        try:
            await asyncio.get_running_loop().run_in_executor(self._worker(), write)
        except JournalError as exc:
            log.critical("journal write failed: %s", exc)  # the file's path is in the message
            return JournalFailed(exc.reason, disk_full=isinstance(exc, JournalFull))
        payment = effect.payment
        # One line per journaled step, for `journalctl -u payterm`: the order id and state.
        log.info(
            "payment %s %s %s via %s: %s", payment.order_id, payment.state.value,
            payment.amount, payment.provider, effect.note,
        )  # fmt: skip
        self._emit(
            "journal:record", order_id=payment.order_id, state=payment.state.value, note=effect.note
        )
        return None

    async def close_shift(self, effect: CloseShift) -> ShiftClosed | ShiftCloseFailed:
        """Write the close of the effect's shift (on the journal thread, awaited).

        Returns the event the machine takes at once: ``ShiftClosed`` once the close is
        durable, ``ShiftCloseFailed`` (the shift stays open) when it could not be written.
        """
        write = functools.partial(self._journal.close_shift, wall=self._clock.wall(),
                                  shift=effect.shift)  # fmt: skip
        try:
            await asyncio.get_running_loop().run_in_executor(self._worker(), write)
        except JournalError as exc:
            log.error("shift %d not closed: %s", effect.shift, exc)
            return ShiftCloseFailed(effect.shift, exc.reason, effect.source)
        log.info("shift %d closed (%s)", effect.shift, effect.source)
        self._emit("journal:shift_closed", shift=effect.shift, source=effect.source)
        return ShiftClosed(effect.shift, effect.source)

    def _worker(self) -> ThreadPoolExecutor:
        """The one journal thread every write goes through, in order."""
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="payterm-journal")
        return self._writer

    def check(self) -> None:
        """Try a small journal write after a full disk; feed the machine what came of it.

        When it goes through, the fault ends and the payments the journal holds as new or
        pending are resolved with their providers, as after a restart.
        """
        try:
            self._journal.check_writable()
        except JournalError as exc:
            log.info("journal still cannot be written: %s", exc)
            self._feed(JournalFailed(exc.reason, disk_full=isinstance(exc, JournalFull)))
            return
        log.warning("journal %s can be written again: back in service", self._journal.path)
        self._emit("journal:writable", path=str(self._journal.path))
        self._feed(JournalWritable(self._journal.next_seq()))
        self.queue_in_doubt()

    def find(self, reference: str) -> None:
        """Look up the payment a slip names and feed the answer (or the journal's failure)."""
        try:
            payment = self._journal.find(reference)
        except JournalError as exc:
            log.critical("journal read failed: %s", exc)
            self._feed(JournalFailed(exc.reason))
            return
        self._emit(
            "journal:found", reference=reference, order_id=payment.order_id if payment else None
        )
        self._feed(PaymentLookedUp(reference, payment))
