"""The Verystar (VeryPay v3) driver: Alipay and WeChat Pay by customer code (CPM) and by QR (MPM).

Wire format as the public record shows it (VeryPay's PHP SDK ``verystar/verypay-sdk-php``,
a third-party Java client, the Openbravo module "Alipay & Wechat Verystar"): form POSTs to
``v3/pay/{micropay,unifiedorder,orderquery,refund,closeorder}.json``, each carrying
``app_key``, ``time`` (unix seconds) and ``sign``; JSON answers ``{retcode, msg, data,
sign}`` whose ``sign`` covers ``data``. Amounts are integer fen. What the record does not
show (success code, refusal codes, status words, field names inside ``data``) is guessed
in :mod:`terminal.providers.verystar.codec` and nowhere else.
"""

from __future__ import annotations

import dataclasses
import hmac
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from terminal.errors import ProviderProtocolError, ProviderUnavailable
from terminal.money import Money
from terminal.payment import mask_code
from terminal.providers.base import Capabilities, Order, PaymentStatus, ProviderAnswer
from terminal.providers.httpx_errors import (
    raise_for_unavailable,
    read_json,
    translate_httpx_errors,
)
from terminal.providers.verystar import codec as codec
from terminal.providers.verystar.codec import Outcome, Refusal
from terminal.providers.verystar.out_sn import (
    MAX_OUT_SN_CHARS,
    MAX_REFUND_OUT_SN_CHARS,
    out_sn_for,
)
from terminal.providers.verystar.settings import Endpoint, VerystarSettings
from terminal.providers.verystar.signing import sign_params

__all__ = ["VerystarProvider"]

logger = logging.getLogger(__name__)

MAX_BODY_CHARS = 100  # body is string(100)
_MSG_CHARS = 200  # how much of the provider's msg goes into an error message


@dataclass(frozen=True, slots=True)
class _Reply:
    """A verified answer: its code (as text), message and signed ``data``."""

    retcode: str
    msg: str
    data: dict[str, Any]


class VerystarProvider:
    """Talks to VeryPay over one injected ``httpx.AsyncClient`` (connections are reused).

    ``out_sn`` is :func:`out_sn_for` of the terminal's order id (the engine gives every
    attempt a new id), so a query, close or refund finds the payment without the
    provider's own number. Never retries by itself. ``unix_time`` gives the ``time``
    field (wall-clock seconds, as the protocol wants; the only wall-clock read here).
    """

    #: Alipay: first query after ~5 s, then every 3 s. WeChat: query every 3-5 s and the
    #: customer has 45 s (WeChat revokes an unconfirmed code payment after that).
    DEFAULT_CAPABILITIES = Capabilities(
        supports_mpm=True,
        supports_cpm=True,
        supports_refund=True,
        supports_cancel=True,
        poll_interval_s=3.0,
        first_poll_delay_s=5.0,
        invoice_lifetime_s=300.0,
        confirm_timeout_s=45.0,
        no_answer_timeout_s=30.0,
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
        unix_time: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.capabilities = capabilities
        self._settings = VerystarSettings.from_config(name, base_url, options or {}, secrets or {})
        self._client = client
        self._base_url = base_url.rstrip("/")
        self._owns_client = owns_client
        self._unix_time = unix_time
        if self._settings.proxy is not None:
            logger.info("verystar:proxy %s: set on the HTTP client when it is built", name)

    def __repr__(self) -> str:
        state = "closed" if self._client.is_closed else "open"
        return f"<VerystarProvider {self.name} {self._base_url} {state}>"

    @property
    def proxy(self) -> str | None:
        """The configured proxy URL (the client must be built with it), or None."""
        return self._settings.proxy

    def status(self) -> dict[str, object]:
        """A snapshot for the self-check; no secret in it."""
        return {
            "provider": self.name,
            "driver": "verystar",
            "url": self._base_url,
            "store_sn": self._settings.store_sn,
            "client_sn": self._settings.client_sn,
            "proxy": self._settings.proxy is not None,
            "closed": self._client.is_closed,
        }

    async def create_invoice(self, order: Order) -> ProviderAnswer:
        """MPM: unified order; the answer carries the QR text to show."""
        refused = self._refuse_locally(order, order.amount)
        if refused is not None:
            return refused
        logger.debug(
            "verystar:unifiedorder %s order=%s %s", self.name, order.order_id, order.amount
        )
        params = {
            **self._order_params(order),
            "total_fee": str(order.amount.amount_minor),
            "body": order.description[:MAX_BODY_CHARS],
            "channel": self._settings.channel,
        }
        reply = await self._call(Endpoint.UNIT_PAYMENT, order, params)
        return self._new_order_answer(order, reply, want_qr=True)

    async def pay_with_code(self, order: Order, code: str) -> ProviderAnswer:
        """CPM: micropay with the customer's code; the channel is left to VeryPay to detect."""
        refused = self._refuse_locally(order, order.amount)
        if refused is not None:
            return refused
        logger.debug(
            "verystar:micropay %s order=%s %s code=%s",
            self.name,
            order.order_id,
            order.amount,
            mask_code(code),
        )
        params = {
            **self._order_params(order),
            "auth_code": code,
            "total_fee": str(order.amount.amount_minor),
            "body": order.description[:MAX_BODY_CHARS],
        }
        reply = await self._call(Endpoint.PAY, order, params)
        return self._new_order_answer(order, reply, want_qr=False)

    async def query(self, order: Order) -> ProviderAnswer:
        """Order query by ``out_sn``; NOT_FOUND when VeryPay never saw it."""
        reply = await self._call(Endpoint.ORDER_QUERY, order, self._order_params(order))
        meaning = self._meaning(order, reply)
        if meaning is Refusal.NOT_FOUND:
            return self._not_found(reply)
        if meaning is not Outcome.OK:
            raise self._unexpected(order, reply)
        return self._order_answer(order, reply)

    async def cancel(self, order: Order) -> ProviderAnswer:
        """Close an unpaid order; a refused close is followed by a query (a paid one says PAID)."""
        logger.debug("verystar:closeorder %s order=%s", self.name, order.order_id)
        reply = await self._call(Endpoint.CLOSE_ORDER, order, self._order_params(order))
        meaning = self._meaning(order, reply)
        if meaning is Refusal.NOT_FOUND:
            return self._not_found(reply)
        if isinstance(meaning, Refusal):
            found = await self.query(order)
            return dataclasses.replace(found, message=codec.REFUSAL_MESSAGES[meaning])
        if codec.trade_status(reply.data) is not None:
            return self._order_answer(order, reply)
        ref = _text(reply.data.get(codec.ORDER_REF_FIELD))
        return ProviderAnswer(PaymentStatus.CANCELLED, raw_status="CLOSED", provider_ref=ref)

    async def refund(self, order: Order, refund_id: str, amount: Money) -> ProviderAnswer:
        """Refund by ``refund_out_sn`` (from ``refund_id``): a repeat refunds nothing more."""
        refused = self._refuse_locally(order, amount, refund_id)
        if refused is not None:
            return refused
        logger.debug(
            "verystar:refund %s order=%s refund=%s %s", self.name, order.order_id, refund_id, amount
        )
        refund_out_sn = out_sn_for(refund_id)
        params = {
            **self._order_params(order),
            "refund_fee": str(amount.amount_minor),
            "refund_out_sn": refund_out_sn,
            "op_user_id": self._settings.op_user_id,
            "op_user_pwd": self._settings.op_user_pwd,
        }
        reply = await self._call(Endpoint.REFUND, order, params)
        meaning = self._meaning(order, reply)
        if meaning is Refusal.NOT_FOUND:
            return self._not_found(reply)
        if isinstance(meaning, Refusal):
            return await self._refund_refused(order, meaning)
        self._check_field(order, reply.data, "refund_out_sn", refund_out_sn)
        self._check_amount(order, reply.data, "refund_fee", amount.amount_minor)
        return ProviderAnswer(
            PaymentStatus.REFUNDED,
            raw_status=codec.REFUND_DONE,
            provider_ref=_text(reply.data.get(codec.ORDER_REF_FIELD)) or order.provider_ref,
        )

    async def aclose(self) -> None:
        """Close the client if this driver owns it; idempotent."""
        if self._owns_client and not self._client.is_closed:
            await self._client.aclose()

    # -- private: requests -------------------------------------------------------------

    def _order_params(self, order: Order) -> dict[str, str]:
        return {
            "store_sn": self._settings.store_sn,
            "client_sn": self._settings.client_sn,
            "out_sn": out_sn_for(order.order_id),
        }

    def _refuse_locally(
        self, order: Order, amount: Money, refund_id: str | None = None
    ) -> ProviderAnswer | None:
        """Answer DECLINED, sending nothing, for what VeryPay cannot take."""
        currency = self._settings.currency
        if currency is not None and amount.currency != currency:
            message = f"Verystar takes {currency} only, not {amount.currency}"
            return ProviderAnswer(
                PaymentStatus.DECLINED, raw_status="currency_not_accepted", message=message
            )
        too_long = len(out_sn_for(order.order_id)) > MAX_OUT_SN_CHARS or (
            refund_id is not None and len(out_sn_for(refund_id)) > MAX_REFUND_OUT_SN_CHARS
        )
        if too_long:
            message = "order number too long for Verystar: shorten terminal.id"
            return ProviderAnswer(
                PaymentStatus.DECLINED, raw_status="out_sn_too_long", message=message
            )
        return None

    async def _call(self, endpoint: Endpoint, order: Order, params: dict[str, str]) -> _Reply:
        """Sign and send one form POST; return the answer once its signature is checked."""
        fields = {key: value for key, value in params.items() if value != ""}
        fields["app_key"] = self._settings.app_key
        fields["time"] = str(int(self._unix_time()))
        fields["sign"] = sign_params(fields, self._settings.app_secret)
        with translate_httpx_errors(self.name, order.order_id):
            response = await self._client.post(self._settings.urls[endpoint], data=fields)
        raise_for_unavailable(response, provider=self.name, order_id=order.order_id)
        if response.status_code != 200:
            raise self._protocol_error(order, f"unexpected HTTP {response.status_code}")
        body = read_json(
            response, provider=self.name, order_id=order.order_id, required={"retcode": (int, str)}
        )
        data = self._data(order, body.get("data"))
        sign = body.get("sign")
        expected = sign_params(data, self._settings.app_secret)
        if not isinstance(sign, str) or not hmac.compare_digest(sign, expected):
            raise self._protocol_error(order, "answer signature does not match")
        msg = body.get("msg")
        return _Reply(codec.normalise_retcode(body["retcode"]), _text(msg) or "", data)

    def _data(self, order: Order, data: object) -> dict[str, Any]:
        """``data`` as a dict: absent, ``null`` and ``[]`` (PHP's empty array) are empty."""
        if data is None or data == []:
            return {}
        if not isinstance(data, dict):
            raise self._protocol_error(order, "answer's data is not an object")
        return data

    # -- private: answers --------------------------------------------------------------

    def _meaning(self, order: Order, reply: _Reply) -> Outcome | Refusal:
        """OK or a refusal; the technical outcomes leave as ``ProviderTechnicalError``."""
        meaning = codec.classify(reply.retcode)
        said = f"retcode {reply.retcode} ({reply.msg[:_MSG_CHARS]})"
        if meaning is Outcome.RETRY:
            raise ProviderUnavailable(
                f"{self.name}: order {order.order_id}: provider asks to try again: {said}",
                provider=self.name,
                order_id=order.order_id,
            )
        if meaning is Outcome.CREDENTIALS:
            what = f"provider refused the app_key or signature: {said}; check app_key/app_secret"
            raise self._protocol_error(order, what)
        if meaning is Outcome.BAD_REQUEST:
            raise self._protocol_error(order, f"provider refused a parameter: {said}")
        if meaning is Outcome.UNKNOWN:
            raise self._unexpected(order, reply)
        return meaning

    def _new_order_answer(self, order: Order, reply: _Reply, *, want_qr: bool) -> ProviderAnswer:
        """The answer to micropay / unified order."""
        meaning = self._meaning(order, reply)
        if meaning is Refusal.OUT_SN_CONFLICT:
            message = codec.REFUSAL_MESSAGES[meaning]
            return ProviderAnswer(PaymentStatus.DECLINED, raw_status=reply.retcode, message=message)
        if meaning is not Outcome.OK:
            raise self._unexpected(order, reply)
        return self._order_answer(order, reply, want_qr=want_qr)

    def _order_answer(
        self, order: Order, reply: _Reply, *, want_qr: bool = False
    ) -> ProviderAnswer:
        """Map an order's ``data`` to an answer, checking it is about this order and amount."""
        data = reply.data
        self._check_field(order, data, "out_sn", out_sn_for(order.order_id))
        self._check_amount(order, data, "total_fee", order.amount.amount_minor)
        try:
            found = codec.trade_status(data)
        except KeyError as exc:
            raise self._protocol_error(order, f"unknown trade status {exc.args[0]!r}") from exc
        if found is None:
            raise self._protocol_error(order, "answer carries no trade status")
        status, raw = found
        qr = codec.qr_payload(data)  # unified order's answer; maybe a query's (assumed)
        if want_qr and status is PaymentStatus.PENDING and qr is None:
            raise self._protocol_error(order, "unified order answer carries no QR")
        settled = status in (PaymentStatus.PAID, PaymentStatus.PENDING)
        return ProviderAnswer(
            status,
            raw_status=raw,
            provider_ref=_text(data.get(codec.ORDER_REF_FIELD)),
            qr_payload=qr,
            message="" if settled else reply.msg[:_MSG_CHARS],
        )

    async def _refund_refused(self, order: Order, refusal: Refusal) -> ProviderAnswer:
        """A refused refund, read back from an order query.

        REFUNDED when the order shows the refund made (an earlier attempt went through).
        A ``refund_out_sn`` conflict means VeryPay has this refund number already: short of
        REFUNDED, it is PENDING, never refused. Any other refusal leaves the order's own
        status (PAID: refused).
        """
        found = await self.query(order)
        if found.status is PaymentStatus.REFUNDED:
            return dataclasses.replace(found, message="the refund was made already")
        if refusal is Refusal.REFUND_CONFLICT and found.status is PaymentStatus.PAID:
            message = "VeryPay has this refund number already; the refund is not confirmed yet"
            return dataclasses.replace(found, status=PaymentStatus.PENDING, message=message)
        return dataclasses.replace(found, message=codec.REFUSAL_MESSAGES[refusal])

    def _not_found(self, reply: _Reply) -> ProviderAnswer:
        message = codec.REFUSAL_MESSAGES[Refusal.NOT_FOUND]
        return ProviderAnswer(PaymentStatus.NOT_FOUND, raw_status=reply.retcode, message=message)

    def _check_field(self, order: Order, data: Mapping[str, Any], key: str, expected: str) -> None:
        value = data.get(key)
        if value is not None and str(value) != expected:
            raise self._protocol_error(order, f"answer is about {key} {value!r}, not {expected!r}")

    def _check_amount(self, order: Order, data: Mapping[str, Any], key: str, expected: int) -> None:
        value = data.get(key)
        if value is None:
            return
        number = _integer(value)
        if number != expected:
            raise self._protocol_error(order, f"answer's {key} is {value!r}, not {expected}")

    def _unexpected(self, order: Order, reply: _Reply) -> ProviderProtocolError:
        return self._protocol_error(
            order, f"unexpected retcode {reply.retcode} ({reply.msg[:_MSG_CHARS]})"
        )

    def _protocol_error(self, order: Order, what: str) -> ProviderProtocolError:
        return ProviderProtocolError(
            f"{self.name}: order {order.order_id}: {what}",
            provider=self.name,
            order_id=order.order_id,
        )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _integer(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None
