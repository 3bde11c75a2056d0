"""The status line a technician sees in ``systemctl status payterm``, kept current.

It reads "ready", "payment 000123 in progress" or "out of service: <fault>", followed by
what needs attention: "printer out of paper", "printer offline", "scanner disconnected",
"display not working", "3 records waiting to sync", and last, on a training terminal,
"TRAINING: no real payments" (last, so the state word keeps its place). It is sent to
systemd (``STATUS=``) and logged only when it changes; changes within :data:`SETTLE_S`
go out as one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from terminal.errors import JournalError
from terminal.journal import Journal
from terminal.payment import UNRESOLVED_STATES, PaymentState
from terminal.runtime.runtime import Runtime
from terminal.system.sdnotify import Notifier

__all__ = ["status_line", "StatusReporter", "OUTBOX_COUNT_LIMIT", "SETTLE_S", "TRAINING_NOTE"]

log = logging.getLogger("payterm.status")

#: The outbox is counted up to this many records ("100+ records waiting to sync").
OUTBOX_COUNT_LIMIT = 100
#: How long a change waits for the ones right behind it (parts reporting in at start).
SETTLE_S = 0.1

_PRINTER_WORDS = {
    "paper": "printer out of paper",
    "offline": "printer offline",
    "error": "printer error",
}
_CALM_PHASES = frozenset({"idle", "amount", "ready", "done", "refund_scan"})


def _outbox_words(pending: int) -> str:
    if pending >= OUTBOX_COUNT_LIMIT:
        return f"{OUTBOX_COUNT_LIMIT}+ records waiting to sync"
    return f"{pending} record{'' if pending == 1 else 's'} waiting to sync"


#: The status line's last note on a training terminal.
TRAINING_NOTE = "TRAINING: no real payments"


def status_line(
    status: Mapping[str, Any], outbox_pending: int = 0, *, training: bool = False
) -> str:
    """The status line for a :meth:`Runtime.status` summary and the outbox's unsent count."""
    if status.get("fault"):
        head = f"out of service: {status['fault']}"
    elif status.get("stopping"):
        head = "stopping"
    elif status.get("order_id") and status.get("phase") not in _CALM_PHASES:
        head = f"payment {int(status['seq']):06d} in progress"
    else:
        head = "ready"
    notes = []
    printer = str(status.get("printer_problem") or "")
    if printer:
        notes.append(_PRINTER_WORDS.get(printer, f"printer {printer}"))
    notes.extend(str(p) for p in dict(status.get("part_problems") or {}).values() if p)
    if outbox_pending:
        notes.append(_outbox_words(outbox_pending))
    if training:
        notes.append(TRAINING_NOTE)
    return "; ".join([head, *notes])


class StatusReporter:
    """Follows the runtime's events and sends the status line to systemd when it changes."""

    def __init__(self, runtime: Runtime, journal: Journal, notifier: Notifier) -> None:
        self._runtime = runtime
        self._journal = journal
        self._notifier = notifier
        self._outbox = 0
        self._line = ""
        self._failed = False
        self._due: asyncio.TimerHandle | None = None
        self._closed = False

    @property
    def line(self) -> str:
        """The status line last worked out ("" before :meth:`start`)."""
        return self._line

    def start(self) -> str:
        """Count the outbox, follow the runtime from now on; return the first line (unsent)."""
        self._count_outbox()
        self._line = self._work_out()
        self._runtime.subscribe(self._observe)
        log.info("status: %s", self._line)
        return self._line

    def refresh(self) -> None:
        """Work the line out again now and send it if it changed."""
        self._due = None
        try:
            line = self._work_out()
        except Exception:  # noqa: BLE001 - the status line must never stop a payment
            if not self._failed:
                self._failed = True
                log.exception("status line could not be worked out")
            return
        if line != self._line:
            self._line = line
            log.info("status: %s", line)
            self._notifier.status(line)

    def _work_out(self) -> str:
        training = self._runtime.state.settings.training
        return status_line(self._runtime.status(), self._outbox, training=training)

    def close(self) -> None:
        """Send what is pending now and stop following; idempotent."""
        self._closed = True
        if self._due is not None:
            self._due.cancel()
            self.refresh()

    def _observe(self, event: str, details: dict[str, Any]) -> None:
        if self._closed:
            return
        if event == "journal:record" and _is_final(details.get("state")) or event == "sync:acked":
            self._count_outbox()
        if self._due is None:
            self._due = asyncio.get_running_loop().call_later(SETTLE_S, self.refresh)

    def _count_outbox(self) -> None:
        try:
            self._outbox = self._journal.outbox_count(limit=OUTBOX_COUNT_LIMIT)
        except JournalError as exc:
            log.debug("outbox not counted: %s", exc)  # the fault itself is reported elsewhere


def _is_final(state: object) -> bool:
    try:
        return PaymentState(state) not in UNRESOLVED_STATES
    except ValueError:
        return False
