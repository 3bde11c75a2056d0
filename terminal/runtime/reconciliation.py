"""Reconciliation: asking providers again about forced, cancel-failed and voiding payments."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from terminal.clock import Clock
from terminal.errors import ProviderTechnicalError
from terminal.journal import Journal
from terminal.machine import Event, Phase, ReconcileAnswered, State, order_of
from terminal.payment import PaymentState
from terminal.providers.base import PaymentStatus, Provider

__all__ = ["RECONCILED_STATES", "RECONCILE_INTERVAL_S", "Reconciler"]

log = logging.getLogger("payterm.runtime")

#: How often forced and cancel-failed payments are asked about again.
RECONCILE_INTERVAL_S = 60.0

#: Unresolved payments the background reconciliation asks about (NEW and PENDING ones are
#: resolved in the machine itself at start).
RECONCILED_STATES = frozenset(
    {PaymentState.FORCED, PaymentState.CANCEL_FAILED, PaymentState.VOIDING}
)


class Reconciler:
    """Asks each provider about its payments awaiting reconciliation; final answers are fed."""

    def __init__(
        self,
        journal: Journal,
        providers: Mapping[str, Provider],
        clock: Clock,
        *,
        state_of: Callable[[], State],
        feed: Callable[[Event], None],
    ) -> None:
        self._journal = journal
        self._providers = providers
        self._clock = clock
        self._state_of = state_of
        self._feed = feed
        self._failures = 0

    async def run_forever(self) -> None:
        """Reconcile now, then every ``RECONCILE_INTERVAL_S``."""
        while True:
            await self.reconcile_once()
            await self._clock.sleep(RECONCILE_INTERVAL_S)

    async def reconcile_once(self) -> int:
        """Ask providers about forced, cancel-failed and voiding payments; count the answers."""
        answered = 0
        state = self._state_of()
        current = state.payment.order_id if state.payment else None
        for payment in self._journal.unresolved():
            if payment.state not in RECONCILED_STATES:
                continue
            if payment.order_id == current and self._state_of().phase is not Phase.DONE:
                continue
            provider = self._providers.get(payment.provider)
            if provider is None:
                continue
            try:
                answer = await provider.query(order_of(payment))
            except ProviderTechnicalError as exc:
                self._note_failure(payment.order_id, exc)
                continue
            self._failures = 0
            answered += 1
            if answer.status is not PaymentStatus.PENDING:
                self._feed(ReconcileAnswered(payment, answer))
        return answered

    def _note_failure(self, order_id: str, exc: ProviderTechnicalError) -> None:
        # The first failure of a run is a warning; repeats are debug, so a dead link
        # does not fill the SD card with the same line.
        level = logging.WARNING if self._failures == 0 else logging.DEBUG
        self._failures += 1
        log.log(level, "reconcile %s: %s", order_id, exc)
