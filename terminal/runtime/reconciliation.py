"""Background calls: closing failed cancels and reconciling forced and voiding payments.

The machine decides which unsettled payment to ask about and when (``BackgroundCall``,
on its ``reconcile`` timer with a back-off, and at once when the link is back); this
module makes the calls, one at a time so passes never overlap, and feeds each answer
(``ReconcileAnswered``) or failure (``ReconcileFailed``) back. The payment in hand never
waits for them: its own calls run beside, as tasks of their own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from terminal.errors import ProviderTechnicalError
from terminal.machine import BackgroundCall, Event, ReconcileAnswered, ReconcileFailed, order_of
from terminal.machine.background import RECONCILED_STATES
from terminal.providers.base import Provider, ProviderAnswer
from terminal.runtime.link import LinkWatch
from terminal.runtime.observers import Emit

__all__ = ["RECONCILED_STATES", "Reconciler"]

log = logging.getLogger("payterm.runtime")


class Reconciler:
    """Carries out BackgroundCall effects one at a time; their outcomes are fed back."""

    def __init__(
        self,
        providers: Mapping[str, Provider],
        *,
        feed: Callable[[Event], None],
        emit: Emit,
        link: LinkWatch,
    ) -> None:
        self._providers = providers
        self._feed = feed
        self._emit = emit
        self._link = link
        self._one_at_a_time = asyncio.Lock()
        self._failures = 0
        self.answers = 0  # proper answers so far, for the status and the demo

    async def call(self, effect: BackgroundCall) -> None:
        """Make one background call after those already waiting; feed its outcome."""
        async with self._one_at_a_time:
            await self._call(effect)

    async def _call(self, effect: BackgroundCall) -> None:
        payment, op = effect.payment, effect.op
        provider = self._providers.get(payment.provider)
        self._emit("reconcile:call", op=op, provider=payment.provider, order_id=payment.order_id)
        if provider is None:
            message = f"provider {payment.provider!r} is not configured"
            self._failed(effect, "ProviderNotConfigured", message)
            return
        try:
            answer = await self._invoke(provider, effect)
        except ProviderTechnicalError as exc:
            self._link.failed(payment.provider)
            self._failed(effect, type(exc).__name__, str(exc))
            return
        self._failures = 0
        self.answers += 1
        self._emit(
            "reconcile:answer", op=op, order_id=payment.order_id, status=answer.status.value,
            raw_status=answer.raw_status,
        )  # fmt: skip
        self._feed(ReconcileAnswered(payment, answer, op))
        self._link.answered(payment.provider)

    async def _invoke(self, provider: Provider, effect: BackgroundCall) -> ProviderAnswer:
        order = order_of(effect.payment)
        if effect.op == "cancel":
            return await provider.cancel(order)
        refund = effect.payment.refund_in_hand
        if effect.op == "refund" and refund is not None:
            # The same refund under its own key: a provider that has it refunds nothing more.
            return await provider.refund(order, refund.key, refund.amount)
        return await provider.query(order)

    def _failed(self, effect: BackgroundCall, kind: str, message: str) -> None:
        # The first failure in a row is a warning; repeats are debug, so a dead link
        # does not fill the SD card with the same line.
        level = logging.WARNING if self._failures == 0 else logging.DEBUG
        self._failures += 1
        order_id = effect.payment.order_id
        log.log(level, "background %s %s: %s", effect.op, order_id, message)
        self._emit("reconcile:failed", op=effect.op, order_id=order_id, kind=kind, message=message)
        self._feed(ReconcileFailed(effect.payment, effect.op, kind, message))
