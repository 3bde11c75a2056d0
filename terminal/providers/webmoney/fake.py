"""A loopback fake of the WebMoney POS gateway speaking the assumed SOAP encoding over the ledger.

It answers ``POST <service_path>`` only, checks every request's signature and the
merchant's identity (agent, WMID, POS, CrsId), and makes QR payloads shaped like each
payment type's real ones: an NSPK link for SBP, a ``wmk:payto`` link for WebMoney, a
``weixin://wxpay/bizpayurl`` link for WeChat Pay, a ``qr.alipay.com`` link for Alipay.

A refund repeated under a booked ``RefundId`` gets the first refund again, as WebMoney's
public record has it for resent payments; switched to ``refuse`` (``POST
/control/refunds``) it gets ``ResultCode`` 6 (refund conflict) with the payment's State.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Mapping

from terminal.money import Money
from terminal.providers import sbp_links
from terminal.providers.fake_app import FakeProviderApp
from terminal.providers.loopback_http import Request, Response
from terminal.providers.sandbox.ledger import LedgerRecord, LedgerRefusal
from terminal.providers.webmoney import codec as codec

__all__ = ["WebMoneyFake", "qr_payload", "WIRE_STATES"]

log = logging.getLogger(__name__)

#: The ledger's statuses as the gateway's (assumed) State words.
WIRE_STATES = {
    "pending": "Created",
    "paid": "Paid",
    "declined": "Rejected",
    "expired": "Expired",
    "cancelled": "Cancelled",
    "refunded": "Refunded",
}

_CODE_TYPES = {code: kind for kind, code in codec.PAYMENT_TYPE_CODES.items()}
_REFUND_REFUSALS = {
    "not_paid": codec.Result.NOT_PAID,
    "exceeds": codec.Result.REFUND_EXCEEDS,
    "conflict": codec.Result.REFUND_CONFLICT,
}


class _Refused(Exception):
    """The request is refused with ``result`` (a signed answer, HTTP 200)."""

    def __init__(self, result: codec.Result, text: str) -> None:
        super().__init__(text)
        self.result = result


def qr_payload(payment_type: str, payment_id: str, amount: Money, agent_number: str) -> str:
    """A QR payload shaped like the real one of ``payment_type`` (demo values throughout)."""
    digest = base64.b32encode(hashlib.sha256(payment_id.encode()).digest()).decode().rstrip("=")
    if payment_type == "sbp":
        return sbp_links.dynamic_link(payment_id, amount.amount_minor, amount.currency)
    if payment_type == "webmoney":
        purse = "Z" + str(int(hashlib.sha256(agent_number.encode()).hexdigest(), 16))[:12]
        return f"wmk:payto?Purse={purse}&Amount={amount.major_str()}&Desc={payment_id}"
    if payment_type == "wechat":
        return f"weixin://wxpay/bizpayurl?pr={digest[:7]}"
    return f"https://qr.alipay.com/bax{digest[:21].lower()}"


class WebMoneyFake(FakeProviderApp):
    """The WebMoney gateway over a :class:`SandboxLedger` (see the module docstring)."""

    DEMO_OPTIONS: Mapping[str, str] = {
        "agent_number": "900001",
        "wmid": "0",
        "pos_number": "9001",
        "crs_id": "0",
        "service_path": "/PosIntegration2/ApiService.svc",
        "payment_type": "sbp",
    }
    DEMO_SECRETS: Mapping[str, str] = {"agent_key": "demo-agent-key-not-a-secret"}

    async def handle(self, request: Request) -> Response:
        """Answer one SOAP request on the service path."""
        if request.path != self.options["service_path"]:
            return Response.text("endpoint not found\n", 404)
        if request.method != "POST":
            return Response.text("method not allowed\n", 405)
        operation = codec.operation_for(request.headers.get("soapaction", ""))
        if operation is None:
            return _fault("the SOAPAction names no operation of IApiService")
        try:
            _, fields = codec.decode_request(request.headers, request.body, self._key)
            answer = self._answer(operation, fields)
        except codec.SignatureMismatch:
            log.warning("fake-webmoney:bad_signature %s", operation.value)
            answer = _refusal(codec.Result.BAD_SIGNATURE, "request signature does not match")
        except codec.WireError as exc:
            return Response(400, f"bad request: {exc}\n".encode(), "text/plain; charset=utf-8")
        except _Refused as exc:
            answer = _refusal(exc.result, str(exc))
        return self._reply(operation, answer)

    # -- operations --------------------------------------------------------------------

    def _answer(self, operation: codec.Operation, fields: dict[str, str]) -> dict[str, str]:
        self._check_terminal(fields)
        log.info("fake-webmoney:%s order=%s", operation.value, fields["OrderId"])
        handlers = {
            codec.Operation.CREATE: self._create,
            codec.Operation.STATUS: self._status,
            codec.Operation.CANCEL: self._cancel,
            codec.Operation.REFUND: self._refund,
        }
        return handlers[operation](fields)

    def _status(self, fields: dict[str, str]) -> dict[str, str]:
        record = self.ledger.get(fields["OrderId"])
        if record is None:
            return _refusal(codec.Result.NOT_FOUND, "no payment under this OrderId")
        return self._record_fields(self.as_seen(record), fields)

    def _cancel(self, fields: dict[str, str]) -> dict[str, str]:
        try:
            return self._record_fields(self.ledger.cancel(fields["OrderId"]), fields)
        except LedgerRefusal as exc:
            if exc.error != "already_paid":
                return _refusal(codec.Result.NOT_FOUND, "no payment under this OrderId")
        paid = self._status(fields)
        return {**paid, "ResultCode": str(int(codec.Result.ALREADY_PAID))}

    def _create(self, fields: dict[str, str]) -> dict[str, str]:
        amount = _amount(fields)
        try:
            record = self.ledger.create(
                fields["OrderId"],
                amount.amount_minor,
                amount.currency,
                flow="mpm",
                description=fields["Description"],
            )
        except LedgerRefusal as exc:
            raise _Refused(codec.Result.DUPLICATE_ORDER, "OrderId already used") from exc
        return self._record_fields(record, fields)

    def _refund(self, fields: dict[str, str]) -> dict[str, str]:
        amount = _amount(fields)
        order_id, refund_id = fields["OrderId"], fields["RefundId"]
        payment = self.ledger.get(order_id)
        if payment is not None and payment.currency != amount.currency:
            raise _Refused(codec.Result.BAD_REQUEST, "Currency is not the payment's")
        if payment is not None and self.refuses_repeat(refund_id):
            refusal = _refusal(codec.Result.REFUND_CONFLICT, "RefundId already used")
            seen = self.as_seen(payment)
            return {**refusal, "OrderId": order_id, "State": WIRE_STATES[seen.status]}
        try:
            refund = self.ledger.refund(order_id, refund_id, amount.amount_minor)
        except LedgerRefusal as exc:
            if exc.error == "not_found":
                return _refusal(codec.Result.NOT_FOUND, "no payment under this OrderId")
            refusal = _refusal(_REFUND_REFUSALS[exc.error], exc.error)
            return {**refusal, "OrderId": order_id, "State": WIRE_STATES[exc.status or "paid"]}
        record = self.ledger.get(order_id)
        assert record is not None
        answer = self._record_fields(record, fields)
        money = Money(refund.amount_minor, record.currency)
        return {**answer, "Amount": money.major_str(), "RefundId": refund.refund_id}

    # -- private -----------------------------------------------------------------------

    @property
    def _key(self) -> str:
        return self.secrets.get("agent_key", "")

    def _check_terminal(self, fields: Mapping[str, str]) -> None:
        expected = {
            "AgentId": self.options.get("agent_number", ""),
            "Wmid": self.options.get("wmid", "0") or "0",
            "PosId": self.options.get("pos_number", ""),
            "CrsId": self.options.get("crs_id", "0") or "0",
        }
        if any(fields[name] != value for name, value in expected.items()):
            raise _Refused(codec.Result.UNKNOWN_TERMINAL, "unknown agent, POS or CrsId")
        if fields["PaymentType"] not in _CODE_TYPES:
            raise _Refused(codec.Result.BAD_REQUEST, "unknown PaymentType")

    def _record_fields(self, record: LedgerRecord, fields: Mapping[str, str]) -> dict[str, str]:
        amount = Money(record.amount_minor, record.currency)
        state = WIRE_STATES[record.status]
        if state == "Paid" and record.refunded_minor:
            state = "PartiallyRefunded"
        kind = _CODE_TYPES[fields["PaymentType"]]
        agent = self.options.get("agent_number", "")
        return {
            "ResultCode": str(int(codec.Result.OK)),
            "ResultText": record.message,
            "OrderId": record.order_id,
            "TransactionId": record.payment_id,
            "State": state,
            "Amount": amount.major_str(),
            "Currency": amount.currency,
            "QrData": qr_payload(kind, record.payment_id, amount, agent),
        }

    def _reply(self, operation: codec.Operation, fields: Mapping[str, str]) -> Response:
        key = self._key if self.signatures_valid else f"not-{self._key}"
        body = codec.encode_reply(operation, fields, key)
        return Response(200, body, codec.CONTENT_TYPE)


def _refusal(result: codec.Result, text: str) -> dict[str, str]:
    return {"ResultCode": str(int(result)), "ResultText": text}


def _amount(fields: Mapping[str, str]) -> Money:
    try:
        amount = Money.parse(fields["Amount"], fields["Currency"])
    except ValueError as exc:
        raise _Refused(codec.Result.BAD_REQUEST, f"bad Amount or Currency: {exc}") from exc
    if amount.amount_minor <= 0:
        raise _Refused(codec.Result.BAD_REQUEST, "Amount must be positive")
    return amount


def _fault(text: str) -> Response:
    return Response(500, codec.encode_fault(text), codec.CONTENT_TYPE)
