"""PayMaster's refunds of one payment, read from its refund list.

PayMaster keeps a refunded payment ``Settled`` (a refund is an object of its own), and
answers a refund sent again under a used ``Idempotency-Key`` with an error rather than the
refund. Both are settled by reading the refund list: did the payment's refunds give the
money back, is one still under way, or did none?
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from terminal.errors import ProviderProtocolError
from terminal.money import Money
from terminal.providers.base import Order, PaymentStatus
from terminal.providers.paymaster import codec as wire

__all__ = ["RefundLookup", "GetList"]

logger = logging.getLogger(__name__)

#: ``GET`` of a list path with query parameters, for an order: the answer's JSON object.
GetList = Callable[[Order, str, Mapping[str, str]], Awaitable[Mapping[str, Any]]]


class RefundLookup:
    """Reads the refund list of a payment through the driver's own ``get`` (its transport).

    A list that does not answer as expected (a refusal, an answer of another shape) counts
    as no refund found, logged loudly once, then quietly; technical failures propagate.
    """

    #: A lookup reads at most this many pages of the refund list.
    MAX_PAGES = 50

    def __init__(self, name: str, merchant_id: str, get: GetList) -> None:
        self._name = name
        self._merchant_id = merchant_id
        self._get = get
        self._warned = False

    async def outcome(self, order: Order, payment_id: str, amount: Money) -> PaymentStatus | None:
        """REFUNDED when ``amount`` went back, PENDING while a refund is under way, else None."""
        try:
            refunds = await self._refunds(order, payment_id)
            return wire.refunds_outcome(refunds, amount)
        except wire.WireError as exc:
            self._failed(order, str(exc))
        except ProviderProtocolError as exc:
            self._failed(order, str(exc))
        return None

    async def _refunds(self, order: Order, payment_id: str) -> list[wire.ListedRefund]:
        cursor: str | None = None
        found: list[wire.ListedRefund] = []
        for _ in range(self.MAX_PAGES):
            params = wire.refund_list_params(self._merchant_id, payment_id, cursor)
            data = await self._get(order, wire.REFUNDS_PATH, params)
            refunds, cursor = wire.parse_refund_page(data, payment_id)
            found.extend(refunds)
            if cursor is None:
                return found
        raise wire.WireError(f"no end of the refund list after {self.MAX_PAGES} pages")

    def _failed(self, order: Order, what: str) -> None:
        level = logging.DEBUG if self._warned else logging.WARNING
        self._warned = True
        logger.log(level, "paymaster:refund_list %s order=%s: %s", self._name, order.order_id, what)
