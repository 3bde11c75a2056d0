"""The providers' effect: one call (create, pay, query, cancel, refund), its answer an event."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from terminal.errors import ProviderTechnicalError
from terminal.machine import CallProvider, Event, ProviderAnswered, ProviderFailed
from terminal.providers.base import Provider, ProviderAnswer
from terminal.runtime.link import LinkWatch
from terminal.runtime.observers import Emit

__all__ = ["ProviderCalls"]

log = logging.getLogger("payterm.runtime")


class ProviderCalls:
    """Carries out CallProvider: the call runs as a task; its answer or failure is fed back."""

    def __init__(
        self,
        providers: Mapping[str, Provider],
        *,
        feed: Callable[[Event], None],
        emit: Emit,
        link: LinkWatch | None = None,
    ) -> None:
        self._providers = providers
        self._feed = feed
        self._emit = emit
        self._link = link

    async def call(self, effect: CallProvider) -> None:
        """Make the call; feed ProviderAnswered, or ProviderFailed for a technical error."""
        order_id = effect.order.order_id
        self._emit("provider:call", op=effect.op, provider=effect.provider, order_id=order_id)
        try:
            answer = await self._invoke(effect)
        except ProviderTechnicalError as exc:
            kind = type(exc).__name__
            log.warning("%s %s %s: %s", effect.provider, effect.op, order_id, exc)
            self._emit(
                "provider:failed", op=effect.op, order_id=order_id, kind=kind, message=str(exc)
            )
            self._feed(ProviderFailed(effect.op, order_id, kind, str(exc)))
            if self._link is not None:
                self._link.failed(effect.provider)
            return
        self._emit(
            "provider:answer", op=effect.op, order_id=order_id, status=answer.status.value,
            raw_status=answer.raw_status,
        )  # fmt: skip
        self._feed(ProviderAnswered(effect.op, order_id, answer))
        if self._link is not None:
            self._link.answered(effect.provider)

    async def _invoke(self, effect: CallProvider) -> ProviderAnswer:
        provider = self._providers[effect.provider]
        if effect.op == "create":
            return await provider.create_invoice(effect.order)
        if effect.op == "pay":
            return await provider.pay_with_code(effect.order, effect.code)
        if effect.op == "query":
            return await provider.query(effect.order)
        if effect.op == "cancel":
            return await provider.cancel(effect.order)
        assert effect.refund_amount is not None
        return await provider.refund(effect.order, effect.refund_id, effect.refund_amount)
