"""The PayMaster driver: SBP QR payments over PayMaster's REST API v2 (Bearer token, JSON)."""

from __future__ import annotations

import dataclasses
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from terminal.errors import ProviderProtocolError
from terminal.money import Money
from terminal.payment import mask_code
from terminal.providers.base import Capabilities, Order, PaymentStatus, ProviderAnswer
from terminal.providers.httpx_errors import raise_for_unavailable, translate_httpx_errors
from terminal.providers.paymaster import codec as wire
from terminal.providers.paymaster.refunds import RefundLookup
from terminal.providers.paymaster.settings import (
    DEFAULT_LOOKUP_WINDOW_H,
    OPTIONS,
    PayMasterSettings,
)

__all__ = ["PayMasterProvider", "OPTIONS"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Reply:
    """A proper HTTP answer: its JSON object, and the refusal it carries (a 4xx)."""

    data: Mapping[str, Any]
    refusal: wire.Refusal | None = None


class PayMasterProvider:
    """Talks to PayMaster over one injected ``httpx.AsyncClient`` (connections are reused).

    MPM only: each payment is an SBP payment (``POST /api/v2/payments``) whose QR is the
    qr.nspk.ru link of the answer, or, with option ``sticker_id``, the link of a cash-link
    sticker / NFC plate (mode 2). ``order.order_id`` is ``invoice.orderNo`` and the
    ``Idempotency-Key``. Never retries by itself; a payment whose id is not known (its
    create answer was lost) is found in the payment list by ``orderNo``. A refunded
    payment stays ``Settled`` at PayMaster, so a settled one is REFUNDED once the refund
    list shows its money given back; a refund PayMaster calls a duplicate is looked up
    there too, and is never taken as refused.
    """

    #: PayMaster's schedule (SetRetail's PayMaster SBP plugin): a poll every 3 s, first
    #: after 3 s; five minutes to pay; the "no connection" dialog after 30 s without an
    #: answer. The budget lets the 30 s decide: ten failed 3 s polls take about as long.
    DEFAULT_CAPABILITIES = Capabilities(
        supports_mpm=True,
        supports_cpm=False,
        supports_refund=True,
        supports_cancel=True,
        poll_interval_s=3.0,
        first_poll_delay_s=3.0,
        invoice_lifetime_s=300.0,
        no_answer_timeout_s=30.0,
        technical_error_budget=10,
    )
    #: A payment looked up by order id is searched among those created this long ago.
    DEFAULT_LOOKUP_WINDOW_H = DEFAULT_LOOKUP_WINDOW_H
    #: A lookup reads at most this many pages of the payment list.
    MAX_LIST_PAGES = 50
    #: Payment ids remembered per order id, so polls go straight to the payment.
    KNOWN_REFS = 256
    #: Slack on the list's upper time bound for a clock a little behind PayMaster's.
    CLOCK_SLACK = timedelta(hours=1)

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
        now: Callable[[], datetime] | None = None,
    ) -> None:
        settings = PayMasterSettings.from_config(
            name, base_url, options or {}, secrets or {}, api_key
        )
        self.name = name
        self._token = settings.token
        self._merchant_id = settings.merchant_id
        self._test_mode = settings.test_mode
        self._send_expires = settings.send_expires
        self._sticker_id = settings.sticker_id
        self._lookup_window = settings.lookup_window
        self.capabilities = (
            dataclasses.replace(capabilities, static_qr=True) if self._sticker_id else capabilities
        )
        self._client = client
        self._base_url = settings.base_url
        self._owns_client = owns_client
        self._now = now or (lambda: datetime.now(UTC))
        self._refs: OrderedDict[str, str] = OrderedDict()
        self._sticker_link: str | None = None
        self._refunds = RefundLookup(name, self._merchant_id, self._get_list)

    def __repr__(self) -> str:
        state = "closed" if self._client.is_closed else "open"
        mode = f" sticker={self._sticker_id}" if self._sticker_id else ""
        return f"<PayMasterProvider {self.name} {self._base_url}{mode} {state}>"

    # -- the Provider interface --------------------------------------------------------

    async def create_invoice(self, order: Order) -> ProviderAnswer:
        """Create the SBP payment of ``order``; the answer carries the link to show as QR."""
        logger.debug("paymaster:create %s order=%s %s", self.name, order.order_id, order.amount)
        static_link = await self._static_link(order) if self._sticker_id else None
        body = wire.payment_body(
            order,
            merchant_id=self._merchant_id,
            test_mode=self._test_mode,
            expires=self._expires() if self._send_expires else None,
            sticker_id=self._sticker_id,
        )
        reply = await self._call(
            "POST", wire.PAYMENTS_PATH, order, body=body, key=order.order_id,
            accept={wire.CODE_ALREADY_USED},
        )  # fmt: skip
        if reply.refusal is not None:
            # This order id reached PayMaster before (an earlier answer was lost): ask.
            logger.info("paymaster:already_created %s order=%s", self.name, order.order_id)
            return await self.query(order)
        payment = self._payment(reply.data, order)
        answer = payment.answer(static_link)
        if answer.status is PaymentStatus.PENDING and not answer.qr_payload:
            where = ".".join(wire.QR_LINK_PATH)
            raise self._protocol_error(order, f"a pending SBP payment without its link ({where})")
        return answer

    async def pay_with_code(self, order: Order, code: str) -> ProviderAnswer:
        """PayMaster's SBP takes no customer-presented codes: declined without a call."""
        logger.warning(
            "paymaster:no_cpm %s order=%s code=%s", self.name, order.order_id, mask_code(code)
        )
        message = "PayMaster SBP shows a QR; it takes no customer codes"
        return ProviderAnswer(PaymentStatus.DECLINED, raw_status="not_supported", message=message)

    async def query(self, order: Order) -> ProviderAnswer:
        """What became of ``order``: by its payment id, or found by ``orderNo`` first.

        A settled payment whose refunds gave the whole amount back is REFUNDED. Should the
        refund list not answer as expected, the payment's own status stands (PAID).
        """
        payment_id = await self._payment_id(order)
        if payment_id is None:
            return ProviderAnswer(PaymentStatus.NOT_FOUND, raw_status="not_found")
        answer = await self._answer(order, await self._get_payment(order, payment_id))
        if answer.status is not PaymentStatus.PAID:
            return answer
        outcome = await self._refunds.outcome(order, payment_id, order.amount)
        if outcome is PaymentStatus.REFUNDED:
            return dataclasses.replace(answer, status=outcome, message="refunded")
        return answer

    async def cancel(self, order: Order) -> ProviderAnswer:
        """Cancel an unpaid payment (``PUT …/cancel``) and report its status afterwards."""
        logger.debug("paymaster:cancel %s order=%s", self.name, order.order_id)
        payment_id = await self._payment_id(order)
        if payment_id is None:
            return ProviderAnswer(PaymentStatus.NOT_FOUND, raw_status="not_found")
        path = f"{wire.PAYMENTS_PATH}/{_segment(payment_id)}/cancel"
        reply = await self._call("PUT", path, order, accept={wire.CODE_REFUSED})
        if reply.refusal is None and "status" in reply.data:
            return await self._answer(order, self._payment(reply.data, order, payment_id))
        if reply.refusal is not None:  # e.g. settled already: its status says so
            logger.info("paymaster:cancel_refused %s %s", self.name, reply.refusal.describe())
        return await self._answer(order, await self._get_payment(order, payment_id))

    async def refund(self, order: Order, refund_id: str, amount: Money) -> ProviderAnswer:
        """Refund ``amount``; ``refund_id`` is the Idempotency-Key, so a repeat refunds once."""
        logger.debug(
            "paymaster:refund %s order=%s refund=%s %s",
            self.name,
            order.order_id,
            refund_id,
            amount,
        )
        payment_id = await self._payment_id(order)
        if payment_id is None:
            return ProviderAnswer(PaymentStatus.NOT_FOUND, raw_status="not_found")
        reply = await self._call(
            "POST", wire.REFUNDS_PATH, order, body=wire.refund_body(payment_id, amount),
            key=refund_id, accept={wire.CODE_ALREADY_USED, wire.CODE_REFUSED},
        )  # fmt: skip
        if reply.refusal is not None:
            return await self._refund_refused(order, payment_id, amount, reply.refusal)
        try:
            refund = wire.parse_refund(reply.data, payment_id, amount)
        except wire.WireError as exc:
            raise self._protocol_error(order, str(exc)) from exc
        return refund.answer(payment_id)

    async def aclose(self) -> None:
        """Close the client if this driver owns it; idempotent."""
        if self._owns_client and not self._client.is_closed:
            await self._client.aclose()

    # -- flows ---------------------------------------------------------------------------

    async def _payment_id(self, order: Order) -> str | None:
        """The payment's id: known from the order or an earlier answer, else looked up."""
        known = order.provider_ref or self._refs.get(order.order_id)
        return known if known is not None else await self._find(order)

    async def _find(self, order: Order) -> str | None:
        """Search the payment list for ``invoice.orderNo == order.order_id``; None if absent."""
        now = self._now()
        start, end = now - self._lookup_window, now + self.CLOCK_SLACK
        cursor: str | None = None
        found: list[Mapping[str, Any]] = []
        for _ in range(self.MAX_LIST_PAGES):
            params = wire.list_params(self._merchant_id, start, end, cursor)
            reply = await self._call("GET", wire.PAYMENTS_PATH, order, params=params)
            try:
                items, cursor = wire.parse_page(reply.data, self._merchant_id)
            except wire.WireError as exc:
                raise self._protocol_error(order, str(exc)) from exc
            found.extend(items)
            if cursor is None:
                break
        else:
            raise self._protocol_error(
                order, f"no end of the payment list after {self.MAX_LIST_PAGES} pages; "
                f"lower providers.{self.name}.options.lookup_window_h",
            )  # fmt: skip
        item = wire.pick(found, order.order_id)
        if item is None:
            logger.info("paymaster:not_found %s order=%s", self.name, order.order_id)
            return None
        payment_id = self._payment(item, order).id
        self._remember(order, payment_id)
        return payment_id

    async def _get_list(
        self, order: Order, path: str, params: Mapping[str, str]
    ) -> Mapping[str, Any]:
        return (await self._call("GET", path, order, params=params)).data

    async def _get_payment(self, order: Order, payment_id: str) -> wire.Payment:
        path = f"{wire.PAYMENTS_PATH}/{_segment(payment_id)}"
        reply = await self._call("GET", path, order)
        return self._payment(reply.data, order, payment_id)

    async def _answer(self, order: Order, payment: wire.Payment) -> ProviderAnswer:
        """The engine's answer; on a sticker the QR is the sticker's own link."""
        static = await self._static_link(order) if self._sticker_id else None
        return payment.answer(static)

    async def _static_link(self, order: Order) -> str:
        """The cash-link sticker's SBP link, read once (``GET /api/v2/stickers/{id}``)."""
        if self._sticker_link is None:
            assert self._sticker_id is not None
            path = f"{wire.STICKERS_PATH}/{_segment(self._sticker_id)}"
            reply = await self._call("GET", path, order)
            try:
                self._sticker_link = wire.parse_sticker(reply.data, self._sticker_id)
            except wire.WireError as exc:
                raise self._protocol_error(order, str(exc)) from exc
        return self._sticker_link

    async def _refund_refused(
        self, order: Order, payment_id: str, amount: Money, refusal: wire.Refusal
    ) -> ProviderAnswer:
        """A refund PayMaster did not take now: what its refund list says became of it.

        ``idempotency_key_violation`` means this refund id came before (an answer was
        lost): REFUNDED when the list shows the money back, else PENDING, never refused.
        ``invalid_operation`` is refused (the payment's own status) unless the list shows
        the money back or a refund under way, as it does when a repeat came too late for
        PayMaster to tell it was one.
        """
        duplicate = refusal.code == wire.CODE_ALREADY_USED
        logger.info("paymaster:refund_refused %s %s", self.name, refusal.describe())
        outcome = await self._refunds.outcome(order, payment_id, amount)
        if outcome is PaymentStatus.REFUNDED:
            message = "the refund was made already"
            return ProviderAnswer(outcome, refusal.code, provider_ref=payment_id, message=message)
        if outcome is PaymentStatus.PENDING or duplicate:
            message = "PayMaster has this refund already; it is not confirmed yet"
            return ProviderAnswer(
                PaymentStatus.PENDING, refusal.code, provider_ref=payment_id, message=message
            )
        payment = await self._get_payment(order, payment_id)
        why = f"refund refused: {refusal.message or refusal.code}"
        return dataclasses.replace(payment.answer(), raw_status=refusal.code, message=why)

    # -- transport -----------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        order: Order,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        key: str | None = None,
        accept: AbstractSet[str] = frozenset(),
    ) -> _Reply:
        """One request. Technical failures and refusals not in ``accept`` raise."""
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        if key is not None:
            headers["Idempotency-Key"] = key
        content = wire.encode(body) if body is not None else None
        with translate_httpx_errors(self.name, order.order_id):
            response = await self._client.request(
                method, f"{self._base_url}{path}", content=content, params=params, headers=headers
            )
        raise_for_unavailable(response, provider=self.name, order_id=order.order_id)
        data = self._json(response, order)
        if response.is_success:
            return _Reply(data)
        refusal = wire.refusal_of(data)
        if refusal is None:
            raise self._protocol_error(order, f"HTTP {response.status_code} without an error code")
        if refusal.code in accept:
            return _Reply(data, refusal)
        raise self._refused(order, response.status_code, refusal)

    def _json(self, response: httpx.Response, order: Order) -> Mapping[str, Any]:
        if response.is_success and not response.content.strip():
            return {}
        try:
            data = wire.decode(response.content)
        except ValueError as exc:
            what = f"HTTP {response.status_code} answer is not JSON"
            raise self._protocol_error(order, what) from exc
        if not isinstance(data, dict):
            raise self._protocol_error(order, "answer is JSON but not an object")
        return data

    def _payment(
        self, data: Mapping[str, Any], order: Order, payment_id: str | None = None
    ) -> wire.Payment:
        expected = wire.Expected(
            self._merchant_id, order, payment_id or order.provider_ref, live=not self._test_mode
        )
        try:
            payment = wire.parse_payment(data, expected)
        except wire.WireError as exc:
            raise self._protocol_error(order, str(exc)) from exc
        self._remember(order, payment.id)
        return payment

    def _remember(self, order: Order, payment_id: str) -> None:
        self._refs[order.order_id] = payment_id
        self._refs.move_to_end(order.order_id)
        while len(self._refs) > self.KNOWN_REFS:
            self._refs.popitem(last=False)

    def _expires(self) -> datetime:
        return self._now() + timedelta(seconds=self.capabilities.invoice_lifetime_s)

    def _refused(self, order: Order, status: int, refusal: wire.Refusal) -> ProviderProtocolError:
        """A refusal the flow cannot absorb: a configuration problem, said plainly."""
        hint = {
            "not_authorized": f"check the token (secrets providers.{self.name}.token) and "
            f"that it belongs to merchant providers.{self.name}.options.merchant_id",
            "validation_error": f"check providers.{self.name}.options and the amount",
        }.get(refusal.code, "")
        text = f"PayMaster refused the request (HTTP {status}, {refusal.describe()})"
        return self._protocol_error(order, f"{text}; {hint}" if hint else text)

    def _protocol_error(self, order: Order, what: str) -> ProviderProtocolError:
        return ProviderProtocolError(
            f"{self.name}: order {order.order_id}: {what}",
            provider=self.name,
            order_id=order.order_id,
        )


def _segment(value: str) -> str:
    return quote(value, safe="")
