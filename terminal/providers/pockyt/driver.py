"""The Pockyt (ex-Yuansfer) in-store driver: QR invoices, customer codes, query, cancel, refund.

Every request is a signed POST (``verifySign``, see :mod:`terminal.providers.pockyt.codec`);
every answer is ``{ret_code, ret_msg, result}`` with ``ret_code`` ``000100`` for success.
The terminal's order id is Pockyt's ``reference``; queries always go by ``reference``, so a
payment whose answer was lost is found without knowing Pockyt's ``transactionNo``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

import httpx

from terminal.errors import (
    ProviderProtocolError,
    ProviderTechnicalError,
    ProviderUnavailable,
)
from terminal.money import Money
from terminal.payment import mask_code
from terminal.providers.base import Capabilities, Order, PaymentStatus, ProviderAnswer
from terminal.providers.httpx_errors import (
    raise_for_unavailable,
    read_json,
    translate_httpx_errors,
)
from terminal.providers.pockyt.codec import (
    CONTENT_TYPE,
    NO_RECORD,
    PATHS,
    REFUND_REFUSALS,
    REFUND_SEEN,
    RET_CODES,
    STATUS_ERROR,
    STATUS_MAP,
    SUCCESS,
    UNAVAILABLE_CODES,
    WAITING,
    encode_body,
    format_amount,
    parse_amount,
    response_signature_ok,
    sign,
    vendor_for_code,
    verify_ipn,
)
from terminal.providers.pockyt.settings import PockytSettings

__all__ = ["PockytProvider", "verify_ipn"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Reply:
    """One parsed answer: its HTTP status, ``ret_code``, message and ``result`` object."""

    http_status: int
    code: str
    message: str
    result: dict[str, Any]


class PockytProvider:
    """Talks to Pockyt over one injected ``httpx.AsyncClient`` (connections are reused).

    Never retries by itself; the one extra call it makes is a query after a refusal
    (``000040``), to report the payment's real status. Options: ``merchant_no``,
    ``store_no`` (required), ``store_admin_no``, ``settle_currency``, ``vendor`` (the MPM
    wallet), ``wechat_vendor``, ``path_prefix``; secret: ``token``.
    """

    #: Alipay's guidance (Pockyt publishes none): first query after 5 s, then every 3 s,
    #: 60 s to confirm a code; a shown QR stays payable 5 minutes.
    DEFAULT_CAPABILITIES = Capabilities(
        poll_interval_s=3.0,
        first_poll_delay_s=5.0,
        invoice_lifetime_s=300.0,
        confirm_timeout_s=60.0,
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
        self.settings = PockytSettings.from_config(name, options or {}, secrets or {})
        self.name = name
        self.capabilities = capabilities
        self._client = client
        self._owns_client = owns_client
        self._base_url = base_url.rstrip("/") + self.settings.path_prefix
        self._pay_path = PATHS["prepay"]
        self._qr_owed: set[str] = set()  # invoices whose QR answer never arrived

    def __repr__(self) -> str:
        state = "closed" if self._client.is_closed else "open"
        return f"<PockytProvider {self.name} {self._base_url} {state}>"

    async def create_invoice(self, order: Order) -> ProviderAnswer:
        """MPM: ``create-trans-qrcode``; the QR payload is Pockyt's ``deepLink``."""
        logger.debug(
            "pockyt:create_invoice %s order=%s %s", self.name, order.order_id, order.amount
        )
        params = {
            **self._store(admin=True),
            **self._amount(order.amount),
            "vendor": self.settings.vendor,
            "reference": order.order_id,
            "timeout": str(self._timeout_minutes()),
        }
        self._qr_owed.add(order.order_id)
        result = self._ok(await self._call("qrcode", params, order), order)
        link = result.get("deepLink")
        if not isinstance(link, str) or not link:
            self._fail_protocol(order, "answer lacks the QR's deepLink")
        if _status_word(result) is None:
            result = {**result, "status": "pending"}  # a fresh QR: waiting for the customer
        answer = self._answer(result, order, closed=PaymentStatus.EXPIRED)
        self._qr_owed.discard(order.order_id)
        return dataclasses.replace(answer, qr_payload=link)

    async def pay_with_code(self, order: Order, code: str) -> ProviderAnswer:
        """CPM: ``add`` a transaction, then ``prepay`` it with the customer's code."""
        vendor = vendor_for_code(code, wechat_vendor=self.settings.wechat_vendor)
        logger.debug(
            "pockyt:pay_with_code %s order=%s %s code=%s vendor=%s",
            self.name, order.order_id, order.amount, mask_code(code), vendor,
        )  # fmt: skip
        if vendor is None:
            message = "not an Alipay, WeChat Pay or UnionPay code"
            return ProviderAnswer(
                PaymentStatus.DECLINED, raw_status="unknown_code", message=message
            )
        params = {
            **self._store(admin=True),
            **self._amount(order.amount),
            "reference": order.order_id,
        }
        added = self._ok(await self._call("add", params, order), order)
        transaction_no = added.get("transactionNo")
        if not isinstance(transaction_no, str) or not transaction_no:
            self._fail_protocol(order, "answer to add lacks transactionNo")
        if _status_word(added) not in (None, "init"):
            # Pockyt already took a code for this reference: never send a second one.
            return self._answer(added, order, closed=PaymentStatus.EXPIRED)
        pay = {"transactionNo": transaction_no, "paymentBarcode": code, "vendor": vendor}
        reply = await self._call("pay", {**self._store(admin=True), **pay}, order)
        if reply.code == STATUS_ERROR:
            return await self._after_refusal(order, "payment refused", reply.message or reply.code)
        answer = self._answer(self._ok(reply, order), order, closed=PaymentStatus.EXPIRED)
        return dataclasses.replace(answer, provider_ref=answer.provider_ref or transaction_no)

    async def query(self, order: Order) -> ProviderAnswer:
        """``tran-query`` by ``reference`` (the terminal's order id)."""
        params = {**self._store(), "reference": order.order_id}
        reply = await self._call("query", params, order)
        if reply.code == NO_RECORD:
            return _not_found(reply)
        answer = self._answer(self._ok(reply, order), order, closed=PaymentStatus.EXPIRED)
        if order.order_id in self._qr_owed:
            return await self._recover_qr(order, answer)
        return answer

    async def cancel(self, order: Order) -> ProviderAnswer:
        """``cancel``: closes an unpaid transaction; Pockyt refunds one that was paid."""
        logger.debug("pockyt:cancel %s order=%s", self.name, order.order_id)
        reply = await self._call("cancel", {**self._store(), "reference": order.order_id}, order)
        if reply.code == NO_RECORD:
            return _not_found(reply)
        if reply.code == STATUS_ERROR:
            return await self._after_refusal(order, "cancel refused", reply.message or reply.code)
        return self._answer(self._ok(reply, order), order, closed=PaymentStatus.CANCELLED)

    async def refund(self, order: Order, refund_id: str, amount: Money) -> ProviderAnswer:
        """``refund`` ``amount``; ``refundReference`` = ``refund_id`` makes a repeat harmless."""
        logger.debug(
            "pockyt:refund %s order=%s refund=%s %s", self.name, order.order_id, refund_id, amount
        )
        params = {
            **self._store(),
            "refundAmount": format_amount(amount),
            "currency": amount.currency,
            "settleCurrency": self.settings.settle_currency,
            "reference": order.order_id,
            "refundReference": refund_id,
        }
        reply = await self._call("refund", params, order)
        if reply.code == NO_RECORD:
            return _not_found(reply)
        if reply.code in REFUND_REFUSALS:
            return await self._refund_refused(order, reply)
        return await self._refund_answer(self._ok(reply, order), order, refund_id)

    async def aclose(self) -> None:
        """Close the client if this driver owns it; idempotent."""
        if self._owns_client and not self._client.is_closed:
            await self._client.aclose()

    # -- requests ------------------------------------------------------------------------

    def _store(self, *, admin: bool = False) -> dict[str, str]:
        ids = {"merchantNo": self.settings.merchant_no, "storeNo": self.settings.store_no}
        if admin and self.settings.store_admin_no:
            ids["storeAdminNo"] = self.settings.store_admin_no
        return ids

    def _amount(self, amount: Money) -> dict[str, str]:
        return {
            "amount": format_amount(amount),
            "currency": amount.currency,
            "settleCurrency": self.settings.settle_currency,
        }

    def _timeout_minutes(self) -> int:
        """The QR's lifetime at Pockyt, in whole minutes, never shorter than the terminal's."""
        return max(1, math.ceil(self.capabilities.invoice_lifetime_s / 60))

    async def _call(self, op: str, params: dict[str, str], order: Order) -> _Reply:
        """POST one signed request and parse its answer; prepay falls back to pay on 404."""
        path = self._pay_path if op == "pay" else PATHS[op]
        response = await self._post(path, params, order)
        if response.status_code == 404 and path == PATHS["prepay"]:
            # The path does not exist here, so nothing was processed: the older name is safe.
            logger.warning("pockyt:%s has no prepay; using %s", self.name, PATHS["pay"])
            self._pay_path = PATHS["pay"]
            response = await self._post(self._pay_path, params, order)
        return self._reply(response, order)

    async def _post(self, path: str, params: dict[str, str], order: Order) -> httpx.Response:
        body = encode_body(sign(params, self.settings.token))
        headers = {"Content-Type": CONTENT_TYPE, "Accept": "application/json"}
        with translate_httpx_errors(self.name, order.order_id):
            response = await self._client.post(
                f"{self._base_url}{path}", content=body, headers=headers
            )
        raise_for_unavailable(response, provider=self.name, order_id=order.order_id)
        return response

    # -- answers -------------------------------------------------------------------------

    def _reply(self, response: httpx.Response, order: Order) -> _Reply:
        if response.status_code == 404:
            self._fail_protocol(order, "no such path (HTTP 404)")
        data = read_json(
            response, provider=self.name, order_id=order.order_id, required={"ret_code": str}
        )
        if not response_signature_ok(data, self.settings.token):
            self._fail_protocol(order, "the answer's verifySign does not match")
        result = data.get("result")
        if result is not None and not isinstance(result, dict):
            self._fail_protocol(order, "the answer's result is not an object")
        message = data.get("ret_msg", data.get("retMsg"))
        text = message.strip() if isinstance(message, str) else ""
        return _Reply(response.status_code, data["ret_code"], text, result or {})

    def _ok(self, reply: _Reply, order: Order) -> dict[str, Any]:
        """The result of a successful answer; any other answer raises."""
        if reply.code != SUCCESS:
            self._fail_code(reply, order)
        if reply.http_status != 200 or not reply.result:
            self._fail_protocol(order, f"success without a result (HTTP {reply.http_status})")
        return reply.result

    def _answer(
        self, result: dict[str, Any], order: Order, *, closed: PaymentStatus
    ) -> ProviderAnswer:
        """Map a transaction ``result`` to an answer, checking it is about ``order``."""
        self._check_about(result, order)
        word = _status_word(result)
        if not isinstance(word, str) or word not in STATUS_MAP:
            self._fail_protocol(order, f"unknown transaction status {word!r}")
        status = closed if word == "closed" else STATUS_MAP[word]
        if word in ("success", "closed") and _fully_refunded(result, order.amount):
            status = PaymentStatus.REFUNDED
        return ProviderAnswer(
            status, raw_status=word, provider_ref=_text(result.get("transactionNo"))
        )

    async def _refund_answer(
        self, result: dict[str, Any], order: Order, refund_id: str
    ) -> ProviderAnswer:
        self._check_about(result, order, check_amount=False)
        if result.get("refundReference", refund_id) != refund_id:
            self._fail_protocol(order, "the answer is about another refundReference")
        word = result.get("status")
        ref = _text(result.get("transactionNo"))
        if word == "success":
            return ProviderAnswer(PaymentStatus.REFUNDED, raw_status=word, provider_ref=ref)
        if word in WAITING:
            return ProviderAnswer(PaymentStatus.PENDING, raw_status=str(word), provider_ref=ref)
        if word in ("failed", "closed"):
            return await self._after_refusal(order, "refund not done", f"refund {word}")
        self._fail_protocol(order, f"unknown refund status {word!r}")

    async def _refund_refused(self, order: Order, reply: _Reply) -> ProviderAnswer:
        """A refund Pockyt did not take now: the payment read back says what became of it.

        REFUNDED when the payment's refunds cover it (an earlier attempt went through);
        PENDING when Pockyt said it has seen this ``refundReference`` and the payment does
        not show it refunded yet; otherwise the payment's own status (PAID: refused).
        """
        reason = reply.message or reply.code
        found = await self._after_refusal(order, "refund refused", reason)
        if found.status is PaymentStatus.REFUNDED:
            return dataclasses.replace(found, message="the refund was made already")
        if reply.code == REFUND_SEEN and found.status is PaymentStatus.PAID:
            message = f"Pockyt has this refund already ({reason}); it is not confirmed yet"
            pending = PaymentStatus.PENDING
            return dataclasses.replace(
                found, status=pending, raw_status=reply.code, message=message
            )
        return found

    async def _recover_qr(self, order: Order, answer: ProviderAnswer) -> ProviderAnswer:
        """The QR of an invoice whose creation answer was lost, now that a query found it.

        ``tran-query`` carries no ``deepLink``; only ``create-trans-qrcode`` does, so it is
        asked again for the same ``reference`` (never before a query proved the invoice
        exists and still waits). Any failure leaves the answer as it was, QR still owed.
        """
        if answer.status is not PaymentStatus.PENDING:
            self._qr_owed.discard(order.order_id)
            return answer
        try:
            again = await self.create_invoice(order)
        except ProviderTechnicalError as exc:
            logger.warning(
                "pockyt:%s QR of order %s still unknown: %s", self.name, order.order_id, exc
            )
            return answer
        return dataclasses.replace(answer, qr_payload=again.qr_payload)

    async def _after_refusal(self, order: Order, what: str, reason: str) -> ProviderAnswer:
        """A refused call: report the payment's real status, from a query, with the reason."""
        logger.info("pockyt:%s %s order=%s: %s", self.name, what, order.order_id, reason)
        answer = await self.query(order)
        return dataclasses.replace(answer, message=f"{what}: {reason}")

    def _check_about(
        self, result: dict[str, Any], order: Order, *, check_amount: bool = True
    ) -> None:
        """Refuse an answer about another reference or (same currency) another amount."""
        reference = result.get("reference")
        if reference is not None and reference != order.order_id:
            self._fail_protocol(order, f"the answer is about reference {reference!r}")
        if not check_amount or "amount" not in result:
            return
        if result.get("currency", order.amount.currency) != order.amount.currency:
            return
        if parse_amount(result["amount"], order.amount.currency) != order.amount:
            self._fail_protocol(order, f"the answer is about amount {result['amount']!r}")

    def _fail_code(self, reply: _Reply, order: Order) -> NoReturn:
        meaning = RET_CODES.get(reply.code, "unknown code")
        what = f"ret_code {reply.code} ({meaning}): {reply.message or 'no message'}"
        if "verifysign" in reply.message.lower():
            self._fail_protocol(
                order, f"Pockyt refused the request's signature; check the token ({what})"
            )
        if reply.code in UNAVAILABLE_CODES:
            raise ProviderUnavailable(
                f"{self.name}: order {order.order_id}: {what}",
                provider=self.name,
                order_id=order.order_id,
            )
        self._fail_protocol(order, what)

    def _fail_protocol(self, order: Order, what: str) -> NoReturn:
        raise ProviderProtocolError(
            f"{self.name}: order {order.order_id}: {what}",
            provider=self.name,
            order_id=order.order_id,
        )


def _status_word(result: Mapping[str, Any]) -> object:
    """The transaction's status: ``status`` in queries, ``transactionStatus`` in add/pay."""
    status = result.get("status")
    return status if status is not None else result.get("transactionStatus")


def _fully_refunded(result: Mapping[str, Any], amount: Money) -> bool:
    """True when refunds and voids in ``result`` add up to the whole ``amount``."""
    back = 0
    for key in ("refundAmount", "voidAmount"):
        part = parse_amount(result.get(key), amount.currency)
        back += part.amount_minor if part is not None else 0
    return amount.amount_minor > 0 and back >= amount.amount_minor


def _not_found(reply: _Reply) -> ProviderAnswer:
    return ProviderAnswer(PaymentStatus.NOT_FOUND, raw_status=reply.code, message=reply.message)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
