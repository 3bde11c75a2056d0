"""The printer's effect: the slip a PrintSlip asks for, printed, and its failure reported."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from hw.base import Printer
from hw.errors import HardwareError, PaperOut, PrinterOffline
from terminal.journal.reports import ReportData
from terminal.machine import Event, PrinterReported, PrintSlip, State
from terminal.runtime.observers import Emit
from terminal.views.model import Slip, SlipKind
from terminal.views.reports import build_report, build_x_report
from terminal.views.slips import COPIED_KINDS, build_slip, copy_slip, training_slip
from terminal.views.text import Language

__all__ = ["SlipPrinting", "printer_status"]

log = logging.getLogger("payterm.runtime")


class SlipPrinting:
    """Prints slips and reports; a slip that fails is fed back as PrinterReported. Loop-only."""

    def __init__(
        self,
        printer: Printer,
        *,
        state_of: Callable[[], State],
        language: Language,
        columns: int,
        copies: int,
        feed: Callable[[Event], None],
        emit: Emit,
    ) -> None:
        self._printer = printer
        self._state_of = state_of
        self._language = language
        self._columns = columns
        self._copies = copies
        self._feed = feed
        self._emit = emit
        self.last_slip: Slip | None = None

    def report(
        self, data: ReportData, kind: SlipKind, *, printed_wall: str, copy: bool = False,
        unsynced: int | None = None,
    ) -> Slip:  # fmt: skip
        """A Z or period report of ``data`` (``copy``: a closed shift's Z printed again)."""
        return build_report(
            data, kind, terminal_id=self._state_of().settings.terminal_id,
            printed_wall=printed_wall, language=self._language, columns=self._columns,
            unsynced=unsynced, copy=copy,
        )  # fmt: skip

    async def print_effect(self, effect: PrintSlip) -> None:
        """Build the slip ``effect`` asks for and print it.

        The slip of a payment, void or refund is printed ``copies`` times, "COPY" on each
        after the first (Sendy's "number of slips"); the others once.
        """
        slip = build_slip(
            effect.kind,
            effect.payment,
            terminal_id=self._state_of().settings.terminal_id,
            language=self._language,
            columns=self._columns,
        )
        printed = await self._print(slip)
        first = self.last_slip
        if not printed or effect.kind not in COPIED_KINDS:
            return  # printed once, or it failed: the printer's problem is told already
        for _ in range(self._copies - 1):
            if not await self._print(copy_slip(slip, self._language)):
                break
        self.last_slip = first  # a reprint is of the slip, not of its last copy

    def x_report(
        self, summary: ReportData, *, printed_wall: str, cancelling: int = 0,
        unsynced: int | None = None,
    ) -> Slip:  # fmt: skip
        """The X report of ``summary``, printed at ``printed_wall``.

        ``cancelling``: orders still being closed in the background after a failed cancel;
        ``unsynced``: records no sync target has yet (None: no sync).
        """
        return build_x_report(
            summary,
            terminal_id=self._state_of().settings.terminal_id,
            printed_wall=printed_wall,
            language=self._language,
            columns=self._columns,
            cancelling=cancelling,
            unsynced=unsynced,
        )

    async def print_slip(self, slip: Slip) -> None:
        """Print ``slip``; say when the printer failed and, after a failure, when it works again.

        On a training terminal every slip, whatever built it, is marked as no payment.
        """
        await self._print(slip)

    async def _print(self, slip: Slip) -> bool:
        """:meth:`print_slip`, True when it printed."""
        if self._state_of().settings.training:
            slip = training_slip(slip, self._language)
        try:
            await self._printer.print_slip(slip)
        except HardwareError as exc:
            problem = _printer_problem(exc)
            level = logging.WARNING if problem != "error" else logging.ERROR
            log.log(level, "slip %s for %s not printed: %s", slip.kind.value, slip.order_id, exc)
            self._emit(
                "printer:failed", kind=slip.kind.value, order_id=slip.order_id, reason=str(exc)
            )
            self._feed(PrinterReported(slip.kind.value, slip.order_id, problem))
            return False
        if self._state_of().printer_problem:
            self._feed(PrinterReported(slip.kind.value, slip.order_id, ""))
        self.last_slip = slip
        self._emit(
            "printer:slip", kind=slip.kind.value, order_id=slip.order_id,
            lines=[line.text for line in slip.lines], qr=slip.qr, barcode=slip.barcode,
        )  # fmt: skip
        return True


def printer_status(printer: Printer) -> dict[str, Any]:
    """The printer's status as plain data, for the runtime's status."""
    status = printer.status()
    return {"online": status.online, "paper": status.paper, "detail": status.detail}


def _printer_problem(exc: HardwareError) -> str:
    if isinstance(exc, PaperOut):
        return "paper"
    if isinstance(exc, PrinterOffline):
        return "offline"
    return "error"
