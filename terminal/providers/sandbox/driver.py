"""The sandbox provider's driver: the :class:`~terminal.providers.base.Provider` over httpx."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from terminal.errors import ProviderProtocolError
from terminal.money import Money
from terminal.payment import mask_code
from terminal.providers.base import Capabilities, Order, PaymentStatus, ProviderAnswer
from terminal.providers.httpx_errors import (
    raise_for_unavailable,
    read_json,
    translate_httpx_errors,
)

__all__ = ["SandboxProvider", "STATUS_MAP"]

logger = logging.getLogger(__name__)

#: The sandbox's status words and what they mean to the engine.
STATUS_MAP: dict[str, PaymentStatus] = {
    "pending": PaymentStatus.PENDING,
    "paid": PaymentStatus.PAID,
    "declined": PaymentStatus.DECLINED,
    "expired": PaymentStatus.EXPIRED,
    "cancelled": PaymentStatus.CANCELLED,
    "refunded": PaymentStatus.REFUNDED,
}

_RECORD_FIELDS: dict[str, type | tuple[type, ...]] = {"order_id": str, "status": str}
_REFUND_FIELDS: dict[str, type | tuple[type, ...]] = {"refund_id": str, "status": str}

#: The sandbox's reasons for refusing a refund, as the cashier reads them.
_REFUND_REFUSALS = {
    "not_paid": "the payment is not paid",
    "exceeds": "the refund exceeds what was paid",
    "conflict": "this refund id was already used for another refund",
}


class SandboxProvider:
    """Talks to the sandbox over one injected ``httpx.AsyncClient`` (connections are reused).

    Never retries by itself: a lost answer surfaces as ``ProviderTechnicalError`` and the
    engine decides to query. ``order.order_id`` is the idempotency key of every call.
    ``owns_client`` says whether :meth:`aclose` closes the client.
    """

    #: The sandbox's schedule: a QR every 3 s, five minutes to pay, a minute to confirm.
    DEFAULT_CAPABILITIES = Capabilities(partial_refund=True)

    def __init__(
        self,
        name: str,
        capabilities: Capabilities,
        *,
        client: httpx.AsyncClient,
        base_url: str,
        api_key: str | None = None,
        owns_client: bool = True,
        options: Mapping[str, str] | None = None,
        secrets: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.capabilities = capabilities
        self._client = client
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._owns_client = owns_client

    def __repr__(self) -> str:
        state = "closed" if self._client.is_closed else "open"
        return f"<SandboxProvider {self.name} {self._base_url} {state}>"

    async def create_invoice(self, order: Order) -> ProviderAnswer:
        """MPM: ask the sandbox for a payable QR."""
        logger.debug(
            "sandbox:create_invoice %s order=%s %s", self.name, order.order_id, order.amount
        )
        body = {**_order_body(order), "description": order.description}
        response = await self._send("POST", "/v1/invoices", order, body)
        return self._record_answer(response, order)

    async def pay_with_code(self, order: Order, code: str) -> ProviderAnswer:
        """CPM: charge the customer's code; usually pending until confirmed in the app."""
        logger.debug(
            "sandbox:pay_with_code %s order=%s %s code=%s",
            self.name,
            order.order_id,
            order.amount,
            mask_code(code),
        )
        body = {**_order_body(order), "code": code}
        response = await self._send("POST", "/v1/payments", order, body)
        return self._record_answer(response, order)

    async def query(self, order: Order) -> ProviderAnswer:
        """Ask the sandbox for the payment under ``order.order_id``."""
        response = await self._send("GET", f"/v1/payments/{_segment(order)}", order)
        if response.status_code == 404:
            return ProviderAnswer(PaymentStatus.NOT_FOUND, raw_status="not_found")
        return self._record_answer(response, order)

    async def cancel(self, order: Order) -> ProviderAnswer:
        """Cancel a pending payment; a paid one answers PAID, an unknown one NOT_FOUND."""
        logger.debug("sandbox:cancel %s order=%s", self.name, order.order_id)
        response = await self._send("POST", f"/v1/payments/{_segment(order)}/cancel", order, {})
        if response.status_code == 404:
            return ProviderAnswer(PaymentStatus.NOT_FOUND, raw_status="not_found")
        if response.status_code == 409:
            refusal = self._refusal(response, order)
            if refusal.get("error") == "already_paid":
                return ProviderAnswer(PaymentStatus.PAID, raw_status="paid", message="already paid")
            raise self._protocol_error(order, f"unexpected refusal {refusal.get('error')!r}")
        return self._record_answer(response, order)

    async def refund(self, order: Order, refund_id: str, amount: Money) -> ProviderAnswer:
        """Refund ``amount``; REFUNDED when done, else the payment's status and the reason."""
        logger.debug(
            "sandbox:refund %s order=%s refund=%s %s", self.name, order.order_id, refund_id, amount
        )
        body = {
            "order_id": order.order_id,
            "refund_id": refund_id,
            "amount_minor": amount.amount_minor,
        }
        response = await self._send("POST", "/v1/refunds", order, body)
        if response.status_code == 404:
            return ProviderAnswer(PaymentStatus.NOT_FOUND, raw_status="not_found")
        if response.status_code == 409:
            return self._refund_refused(response, order)
        data = self._ok_json(response, order, _REFUND_FIELDS)
        if data["status"] != "refunded":
            raise self._protocol_error(order, f"unknown refund status {data['status']!r}")
        return ProviderAnswer(PaymentStatus.REFUNDED, raw_status="refunded")

    async def aclose(self) -> None:
        """Close the client if this driver owns it; idempotent."""
        if self._owns_client and not self._client.is_closed:
            await self._client.aclose()

    # -- private -----------------------------------------------------------------------

    async def _send(
        self, method: str, path: str, order: Order, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        """Send one request; technical failures leave as ``ProviderTechnicalError``."""
        headers = {"Idempotency-Key": order.order_id}
        if self._api_key is not None:
            headers["Authorization"] = f"Bearer {self._api_key}"
        with translate_httpx_errors(self.name, order.order_id):
            response = await self._client.request(
                method, f"{self._base_url}{path}", json=body, headers=headers
            )
        raise_for_unavailable(response, provider=self.name, order_id=order.order_id)
        if response.status_code == 401:
            raise self._protocol_error(order, "the sandbox refused the API key (HTTP 401)")
        return response

    def _record_answer(self, response: httpx.Response, order: Order) -> ProviderAnswer:
        """Turn a payment record (or a 409 conflict) into an answer."""
        if response.status_code == 409:
            refusal = self._refusal(response, order)
            if refusal.get("error") == "conflict":
                message = "order id already used with another amount"
                return ProviderAnswer(
                    PaymentStatus.DECLINED, raw_status="conflict", message=message
                )
            raise self._protocol_error(order, f"unexpected refusal {refusal.get('error')!r}")
        data = self._ok_json(response, order, _RECORD_FIELDS)
        if data["order_id"] != order.order_id:
            raise self._protocol_error(order, f"answer is about order {data['order_id']!r}")
        status = STATUS_MAP.get(data["status"])
        if status is None:
            raise self._protocol_error(order, f"unknown status {data['status']!r}")
        return ProviderAnswer(
            status,
            raw_status=data["status"],
            provider_ref=_optional_str(data.get("payment_id")),
            qr_payload=_optional_str(data.get("qr_payload")),
            message=_optional_str(data.get("message")) or "",
        )

    def _refund_refused(self, response: httpx.Response, order: Order) -> ProviderAnswer:
        """A refused refund, with the payment's status the refusal carries.

        The sandbox answers a repeated refund id with the first refund, so a ``conflict``
        (the id booked for another amount) is never taken as refused: short of refunded,
        it is PENDING. Other refusals leave the payment's status (paid: refused).
        """
        refusal = self._refusal(response, order)
        error = str(refusal["error"])
        status = STATUS_MAP.get(str(refusal.get("status")))
        if error not in _REFUND_REFUSALS or status is None:
            raise self._protocol_error(order, f"unexpected refusal {error!r}")
        if error == "conflict" and status is PaymentStatus.PAID:
            status = PaymentStatus.PENDING
        return ProviderAnswer(status, raw_status=error, message=_REFUND_REFUSALS[error])

    def _ok_json(
        self, response: httpx.Response, order: Order, fields: dict[str, type | tuple[type, ...]]
    ) -> dict[str, Any]:
        if response.status_code != 200:
            raise self._protocol_error(order, f"unexpected HTTP {response.status_code}")
        return read_json(response, provider=self.name, order_id=order.order_id, required=fields)

    def _refusal(self, response: httpx.Response, order: Order) -> dict[str, Any]:
        return read_json(
            response, provider=self.name, order_id=order.order_id, required={"error": str}
        )

    def _protocol_error(self, order: Order, what: str) -> ProviderProtocolError:
        return ProviderProtocolError(
            f"{self.name}: order {order.order_id}: {what}",
            provider=self.name,
            order_id=order.order_id,
        )


def _order_body(order: Order) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "amount_minor": order.amount.amount_minor,
        "currency": order.amount.currency,
    }


def _segment(order: Order) -> str:
    return quote(order.order_id, safe="")


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) else None
