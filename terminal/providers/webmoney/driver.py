"""The WebMoney POS gateway's driver (SBP, WebMoney, WeChat, Alipay by QR) and its TLS client.

The configuration and the behaviour follow the public record (docs/providers/webmoney.md):
agent number, WMID, POS number, CrsId, agent key, a PKCS#12 client certificate with its
password, server address plus service path, one payment type per provider entry, a poll
every 5 s, an overall timeout of at least 120 s and a budget of consecutive technical
errors. The wire encoding is not public: it is assumed, wholly inside
:mod:`terminal.providers.webmoney.codec`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import httpx

from terminal.errors import ProviderProtocolError
from terminal.money import Money
from terminal.payment import mask_code
from terminal.providers.base import Capabilities, Order, PaymentStatus, ProviderAnswer
from terminal.providers.httpx_errors import raise_for_unavailable, translate_httpx_errors
from terminal.providers.webmoney import codec as codec
from terminal.providers.webmoney.settings import (
    PAYMENT_TYPES,
    WebMoneySettings,
    agent_key,
    no_certificate,
    pfx_password,
    server_address,
)

__all__ = ["WebMoneyProvider", "WebMoneySettings", "PAYMENT_TYPES"]

logger = logging.getLogger(__name__)

#: The whole operation, the customer paying included, hardly takes less (public record).
MIN_OVERALL_TIMEOUT_S = 120.0


class WebMoneyProvider:
    """Talks to the WebMoney POS gateway over one injected ``httpx.AsyncClient``.

    MPM only: the gateway makes a QR for this entry's payment type; the terminal prints or
    shows it and polls every 5 s. Every call names the payment by the terminal's order id,
    so a lost answer is found by :meth:`query`; nothing is retried here. Every answer's
    signature is checked with the agent key: a wrong one is ``ProviderProtocolError``.
    The client must be built by :func:`client_for` (the client certificate lives in it).
    """

    DEFAULT_CAPABILITIES = Capabilities(
        supports_mpm=True,
        supports_cpm=False,
        supports_refund=True,  # assumed RefundPayment (docs/providers/webmoney.md)
        supports_cancel=True,
        poll_interval_s=5.0,
        first_poll_delay_s=5.0,
        invoice_lifetime_s=MIN_OVERALL_TIMEOUT_S,  # the overall timeout
        confirm_timeout_s=MIN_OVERALL_TIMEOUT_S,  # unused: no customer codes
        no_answer_timeout_s=MIN_OVERALL_TIMEOUT_S,  # the error budget ends a dead wait first
        technical_error_budget=5,
    )

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
        self.settings = WebMoneySettings.from_options(name, options or {})
        self._agent_key = agent_key(name, secrets or {})
        self._base_url = server_address(name, base_url)
        if self._base_url.startswith("https://") and self.settings.pfx_path is None:
            raise no_certificate(name)
        if self.settings.pfx_path is not None:
            pfx_password(name, secrets or {})
        if capabilities.invoice_lifetime_s < MIN_OVERALL_TIMEOUT_S:
            logger.warning(
                "webmoney:config %s invoice_lifetime_s %.0f s is under %.0f s: a printed QR "
                "is rarely paid that fast",
                name,
                capabilities.invoice_lifetime_s,
                MIN_OVERALL_TIMEOUT_S,
            )
        self._endpoint = f"{self._base_url}{self.settings.service_path}"
        self._client = client
        self._owns_client = owns_client

    def __repr__(self) -> str:
        state = "closed" if self._client.is_closed else "open"
        return (
            f"<WebMoneyProvider {self.name} {self._endpoint} pos={self.settings.pos_number} "
            f"type={self.settings.payment_type} {state}>"
        )

    async def create_invoice(self, order: Order) -> ProviderAnswer:
        """Ask the gateway for a QR of this entry's payment type."""
        logger.debug("webmoney:create %s order=%s %s", self.name, order.order_id, order.amount)
        fields = {**_amount_fields(order.amount), "Description": order.description}
        reply = await self._call(codec.Operation.CREATE, order, fields)
        answer = self._record_answer(reply, order)
        if answer.status is PaymentStatus.PENDING and not answer.qr_payload:
            raise self._protocol_error(order, "a pending payment came without QrData")
        return answer

    async def pay_with_code(self, order: Order, code: str) -> ProviderAnswer:
        """The gateway takes no customer codes: declined at once, nothing is sent."""
        logger.warning(
            "webmoney:no_cpm %s order=%s code=%s", self.name, order.order_id, mask_code(code)
        )
        message = "WebMoney gateway payments are by QR only"
        return ProviderAnswer(PaymentStatus.DECLINED, raw_status="unsupported", message=message)

    async def query(self, order: Order) -> ProviderAnswer:
        """Ask what became of the payment under the terminal's order id."""
        reply = await self._call(codec.Operation.STATUS, order, {})
        return self._record_answer(reply, order)

    async def cancel(self, order: Order) -> ProviderAnswer:
        """Cancel an unpaid payment; a paid one answers PAID, an unknown one NOT_FOUND."""
        logger.debug("webmoney:cancel %s order=%s", self.name, order.order_id)
        reply = await self._call(codec.Operation.CANCEL, order, {})
        return self._record_answer(reply, order)

    async def refund(self, order: Order, refund_id: str, amount: Money) -> ProviderAnswer:
        """Refund ``amount``; a repeated ``refund_id`` refunds nothing more."""
        logger.debug(
            "webmoney:refund %s order=%s refund=%s %s", self.name, order.order_id, refund_id, amount
        )
        fields = {**_amount_fields(amount), "RefundId": refund_id}
        reply = await self._call(codec.Operation.REFUND, order, fields)
        return self._refund_answer(reply, order, refund_id, amount)

    async def aclose(self) -> None:
        """Close the client if this driver owns it; idempotent."""
        if self._owns_client and not self._client.is_closed:
            await self._client.aclose()

    # -- private -----------------------------------------------------------------------

    async def _call(
        self, operation: codec.Operation, order: Order, fields: Mapping[str, str]
    ) -> codec.Reply:
        """One signed request and its checked answer; no proper answer raises."""
        request = codec.encode_request(
            operation,
            {**self.settings.merchant_fields(), "OrderId": order.order_id, **fields},
            self._agent_key,
        )
        with translate_httpx_errors(self.name, order.order_id):
            response = await self._client.post(
                self._endpoint, content=request.body, headers=request.headers
            )
        raise_for_unavailable(response, provider=self.name, order_id=order.order_id)
        if response.status_code != 200:
            raise self._protocol_error(order, f"{operation.value}: HTTP {response.status_code}")
        try:
            reply = codec.decode_reply(operation, response.content, self._agent_key)
        except codec.WireError as exc:
            raise self._protocol_error(order, f"{operation.value}: {exc}") from exc
        if reply.result_code in _TECHNICAL_REFUSALS:
            refusal = _TECHNICAL_REFUSALS[reply.result_code]
            raise self._protocol_error(order, f"{operation.value}: {refusal} ({reply.result_text})")
        if reply.order_id and reply.order_id != order.order_id:
            raise self._protocol_error(order, f"answer is about order {reply.order_id!r}")
        return reply

    def _record_answer(self, reply: codec.Reply, order: Order) -> ProviderAnswer:
        """A payment record (or a refusal about one) as an answer."""
        if reply.result_code == codec.Result.NOT_FOUND:
            return ProviderAnswer(PaymentStatus.NOT_FOUND, raw_status="NotFound")
        if reply.result_code == codec.Result.DUPLICATE_ORDER:
            message = "order id already used with another amount or payment type"
            return ProviderAnswer(PaymentStatus.DECLINED, raw_status="Duplicate", message=message)
        if reply.result_code not in (codec.Result.OK, codec.Result.ALREADY_PAID):
            raise self._protocol_error(order, f"unexpected ResultCode {reply.result_code}")
        if reply.order_id != order.order_id:
            raise self._protocol_error(order, "answer names no order")
        self._check_amount(reply, order, order.amount)
        return ProviderAnswer(
            self._status(reply, order),
            raw_status=reply.state,
            provider_ref=reply.transaction_id or None,
            qr_payload=reply.qr_data or None,
            message=reply.result_text,
        )

    def _refund_answer(
        self, reply: codec.Reply, order: Order, refund_id: str, amount: Money
    ) -> ProviderAnswer:
        if reply.result_code == codec.Result.NOT_FOUND:
            return ProviderAnswer(PaymentStatus.NOT_FOUND, raw_status="NotFound")
        refusal = _REFUND_REFUSALS.get(reply.result_code)
        if refusal is not None:
            # The refusal carries the payment's State. A RefundId the gateway has seen is
            # an earlier attempt of this refund: short of Refunded it is PENDING, never
            # refused; any other refusal leaves the payment's own status (Paid: refused).
            status = self._status(reply, order)
            if status is PaymentStatus.REFUNDED:
                refusal = "the refund was made already"
            elif reply.result_code == codec.Result.REFUND_CONFLICT:
                status, refusal = PaymentStatus.PENDING, f"{refusal}; not confirmed yet"
            return ProviderAnswer(status, raw_status=reply.state, message=refusal)
        if reply.result_code != codec.Result.OK:
            raise self._protocol_error(order, f"unexpected ResultCode {reply.result_code}")
        if reply.refund_id != refund_id or reply.order_id != order.order_id:
            raise self._protocol_error(order, f"answer is about refund {reply.refund_id!r}")
        self._check_amount(reply, order, amount)
        return ProviderAnswer(
            PaymentStatus.REFUNDED,
            raw_status=reply.state,
            provider_ref=reply.transaction_id or None,
            message=reply.result_text,
        )

    def _status(self, reply: codec.Reply, order: Order) -> PaymentStatus:
        status = codec.STATE_MAP.get(reply.state)
        if status is None:
            raise self._protocol_error(order, f"unknown State {reply.state!r}")
        return status

    def _check_amount(self, reply: codec.Reply, order: Order, expected: Money) -> None:
        """The gateway's amount must be the order's: anything else is not this payment."""
        try:
            same = Money.parse(reply.amount, reply.currency) == expected
        except ValueError:
            same = False
        if not same:
            got = f"{reply.amount} {reply.currency}".strip()
            raise self._protocol_error(order, f"answer's amount {got!r} is not {expected}")

    def _protocol_error(self, order: Order, what: str) -> ProviderProtocolError:
        return ProviderProtocolError(
            f"{self.name}: order {order.order_id}: {what}",
            provider=self.name,
            order_id=order.order_id,
        )


#: Result codes that are no business answer: the terminal's setup or this code is wrong.
_TECHNICAL_REFUSALS: dict[int, str] = {
    codec.Result.BAD_SIGNATURE: "the gateway refused the request's signature (check agent_key)",
    codec.Result.UNKNOWN_TERMINAL: "the gateway does not know this agent, POS or CrsId",
    codec.Result.BAD_REQUEST: "the gateway refused the request as malformed",
}

#: Refund refusals and how the cashier reads them.
_REFUND_REFUSALS: dict[int, str] = {
    codec.Result.NOT_PAID: "the payment is not paid",
    codec.Result.REFUND_EXCEEDS: "the refund exceeds what was paid",
    codec.Result.REFUND_CONFLICT: "the gateway has this refund id already",
}


def _amount_fields(amount: Money) -> dict[str, str]:
    return {"Amount": amount.major_str(), "Currency": amount.currency}
