"""The API's effects: its journal records (write-ahead, like a payment's) and the pairing slip."""

from __future__ import annotations

import logging
from collections.abc import Callable

from terminal.clock import Clock
from terminal.errors import JournalError, JournalFull
from terminal.journal.api_store import ApiStore
from terminal.machine import JournalFailed
from terminal.machine.api_events import PrintPairingSlip, RecordApiOrder, RecordPairing
from terminal.payment import Payment, PaymentState
from terminal.runtime.observers import Emit
from terminal.views.model import Slip, SlipKind
from terminal.views.pairing import build_pairing_slip
from terminal.views.text import Language

__all__ = ["ApiEffects", "reprint_kind"]

log = logging.getLogger("payterm.runtime")


class ApiEffects:
    """Carries out RecordApiOrder and RecordPairing, and builds the pairing slip."""

    def __init__(
        self,
        store: ApiStore,
        clock: Clock,
        *,
        emit: Emit,
        terminal_id: Callable[[], str],
        language: Language,
        columns: int,
    ) -> None:
        self._store = store
        self._clock = clock
        self._emit = emit
        self._terminal_id = terminal_id
        self._language = language
        self._columns = columns
        #: Where the API listens ("https://192.0.2.10:8443"), printed on the pairing slip.
        self.address = ""

    def record(self, effect: RecordApiOrder | RecordPairing) -> JournalFailed | None:
        """Write the record durably; on failure, the event the machine must take at once."""
        wall = self._clock.wall().isoformat()
        try:
            if isinstance(effect, RecordApiOrder):
                # A started order is followed at once by its payment's intent (durable).
                durable = effect.order.status != "started"
                self._store.record_order(effect.order, wall=wall, durable=durable)
            else:
                self._store.add_pairing(effect.name, effect.key_hash, wall=wall)
        except JournalError as exc:
            log.critical("journal write failed: %s", exc)
            return JournalFailed(exc.reason, disk_full=isinstance(exc, JournalFull))
        if isinstance(effect, RecordApiOrder):
            order = effect.order
            log.info("API payment %s %s: %s", order.order_id, order.amount, order.status)
            self._emit("api:order", order_id=order.order_id, status=order.status)
        else:
            # The name only: the key and the code never reach the log.
            log.info("POS %r paired", effect.name)
            self._emit("api:paired", name=effect.name)
        return None

    def pairing_slip(self, effect: PrintPairingSlip) -> Slip:
        """The slip with the certificate's fingerprint and the API's address."""
        return build_pairing_slip(
            effect.fingerprint,
            terminal_id=self._terminal_id(),
            address=self.address or "-",
            language=self._language,
            columns=self._columns,
        )


def reprint_kind(payment: Payment) -> SlipKind:
    """The slip a payment in its current state is printed again with."""
    return {
        PaymentState.PAID: SlipKind.PAYMENT,
        PaymentState.VOIDED: SlipKind.VOID,
        PaymentState.FORCED: SlipKind.FORCED,
        PaymentState.CANCEL_FAILED: SlipKind.CANCEL_FAILED,
        PaymentState.NEW: SlipKind.NOT_CONFIRMED,
        PaymentState.PENDING: SlipKind.NOT_CONFIRMED,
        PaymentState.VOIDING: SlipKind.NOT_CONFIRMED,
    }.get(payment.state, SlipKind.FAILURE)
