"""A loopback fake of PayMaster's API v2 (SBP payments, stickers, refunds) over the sandbox ledger.

It checks what PayMaster checks as far as the public record tells (Bearer token, the
merchant, required fields, amounts with at most two decimals), answers with PayMaster's
field names and status words, and makes qr.nspk.ru links of the real shape. PayMaster's
answers carry no signature; while :attr:`signatures_valid` is False the fake answers
about another merchant's order and amount instead, which the driver must refuse.

A refund sent again under an ``Idempotency-Key`` already booked is answered, as PayMaster's
public record has it, ``idempotency_key_violation`` ("duplicate request"); switched to
``replay`` (``POST /control/refunds``) the fake answers the first refund again instead.
The refund list (``GET /api/v2/refunds?paymentId=``) shows each booked refund ``Success``.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

from terminal.money import Money
from terminal.providers import sbp_links
from terminal.providers.fake_app import DuplicateRefund, FakeProviderApp
from terminal.providers.loopback_http import Request, Response
from terminal.providers.paymaster import codec as wire
from terminal.providers.paymaster import fake_requests as req
from terminal.providers.sandbox.ledger import (
    LedgerRecord,
    LedgerRefusal,
    RefundRecord,
    SandboxLedger,
)

__all__ = ["PayMasterFake", "DEMO_MERCHANT", "sbp_link"]

log = logging.getLogger(__name__)

#: An obviously fake merchant id in PayMaster's GUID shape.
DEMO_MERCHANT = "00000000-0000-4000-8000-000000000000"

#: Ledger status -> PayMaster ``status`` and ``resultCode``.
_STATUS: dict[str, tuple[str, str]] = {
    "pending": ("Pending", ""),
    "paid": ("Settled", ""),
    "declined": ("Rejected", "CancelledByUser"),
    "expired": ("Rejected", "PaymentExpired"),
    "cancelled": ("Cancelled", ""),
    "refunded": ("Settled", ""),  # a refund is its own object; the payment stays settled
}


@dataclass
class _Meta:
    """What the ledger does not keep about a payment (lost when the fake restarts)."""

    created: datetime
    test_mode: bool
    sticker_id: str | None = None
    expires: str | None = None


@dataclass
class _Sticker:
    """A registered sticker; any other id of digits is taken for a cash link."""

    cashlink: bool = True
    purpose: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class PayMasterFake(FakeProviderApp):
    """PayMaster's ``/api/v2/`` paths over a :class:`SandboxLedger`."""

    DEMO_OPTIONS: Mapping[str, str] = {
        "merchant_id": DEMO_MERCHANT,
        "test_mode": "true",
    }
    DEMO_SECRETS: Mapping[str, str] = {"token": "demo-paymaster-token-not-for-production"}
    #: Payments per page of the list (small pages exercise the driver's cursor handling).
    PAGE_SIZE = 20
    #: PayMaster answers a repeated Idempotency-Key with ``idempotency_key_violation``.
    DUPLICATE_REFUND: DuplicateRefund = "refuse"

    def __init__(
        self,
        ledger: SandboxLedger,
        *,
        options: Mapping[str, str] | None = None,
        secrets: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(ledger, options=options, secrets=secrets)
        self._meta: dict[str, _Meta] = {}
        self._stickers: dict[str, _Sticker] = {}

    def __repr__(self) -> str:
        return f"<PayMasterFake {self.ledger.path} merchant={self._merchant}>"

    async def handle(self, request: Request) -> Response:
        """Answer one ``/api/v2/`` request as PayMaster would."""
        route = [unquote(part) for part in self._unprefixed(request.path).strip("/").split("/")]
        if route[:2] != ["api", "v2"]:
            return req.answer({"code": "not_found", "message": "no such endpoint"}, 404)
        if not self._authorized(request):
            return req.refusal("not_authorized", "the token is missing or not valid", 401)
        try:
            return self._route(request, route[2:])
        except req.Refused as exc:
            return exc.response

    # -- routes --------------------------------------------------------------------------

    def _route(self, request: Request, route: list[str]) -> Response:
        match (request.method, route):
            case ("POST", ["payments"]):
                return self._create(request)
            case ("GET", ["payments"]):
                return self._list(request.params())
            case ("GET", ["payments", payment_id]):
                return req.answer(self._payment_json(self._record(payment_id)))
            case ("PUT", ["payments", payment_id, "cancel"]):
                return self._cancel(self._record(payment_id))
            case ("POST", ["refunds"]):
                return self._refund(request)
            case ("GET", ["refunds"]):
                return self._refund_list(request.params())
            case ("POST", ["stickers"]):
                return self._register_sticker(request)
            case ("GET", ["stickers", sticker_id]):
                return req.answer(self._sticker_json(sticker_id))
        return req.answer({"code": "not_found", "message": "no such endpoint"}, 404)

    def _create(self, request: Request) -> Response:
        req.idempotency_key(request)
        body = req.body_of(request)
        self._check_merchant(body.get("merchantId"))
        invoice = req.object_at(body, "invoice")
        order_no = req.string_at(invoice, "orderNo", "Invoice.OrderNo")
        description = req.string_at(invoice, "description", "Invoice.Description")
        expires = req.expires_of(invoice.get("expires"))
        money = req.money_of(body.get("amount"))
        data = req.object_at(body, "paymentData")
        method = data.get("paymentMethod")
        if not isinstance(method, str) or method.casefold() != wire.SBP_METHOD:
            raise req.Refused("validation_error", "this test shop accepts PaymentMethod sbp only")
        sticker = data.get("stickerId")
        if sticker is not None:
            self._sticker(str(sticker))
        try:
            record = self.ledger.create(
                order_no, money.amount_minor, money.currency, description=description
            )
        except LedgerRefusal as exc:
            message = "this order number was already used with other parameters"
            raise req.Refused(wire.CODE_ALREADY_USED, message, 409) from exc
        if record.order_id not in self._meta:
            test_mode = body.get("testMode") is True
            self._meta[order_no] = _Meta(req.now(), test_mode, req.optional(sticker), expires)
            log.info("paymaster-fake:payment order=%s %s", order_no, money)
        return req.answer(self._payment_json(record))

    def _list(self, params: Mapping[str, str]) -> Response:
        self._check_merchant(params.get("merchantId"))
        start, end = (
            req.time_of(params.get("start"), "Start"),
            req.time_of(params.get("end"), "End"),
        )
        try:
            offset = int(params.get("cursor", "0"))
        except ValueError as exc:
            raise req.Refused("validation_error", "Cursor is not valid") from exc
        records = [r for r in self.ledger.payments() if self._created_within(r, start, end)]
        page = records[offset : offset + self.PAGE_SIZE]
        answer: dict[str, Any] = {"items": [self._payment_json(r) for r in page]}
        if offset + self.PAGE_SIZE < len(records):
            answer["cursor"] = str(offset + self.PAGE_SIZE)
        return req.answer(answer)

    def _cancel(self, record: LedgerRecord) -> Response:
        try:
            cancelled = self.ledger.cancel(record.order_id)
        except LedgerRefusal as exc:
            raise req.Refused(wire.CODE_REFUSED, "a settled payment cannot be cancelled") from exc
        log.info("paymaster-fake:cancel order=%s -> %s", record.order_id, cancelled.status)
        return req.answer(self._payment_json(cancelled))

    def _refund(self, request: Request) -> Response:
        key = req.idempotency_key(request)
        body = req.body_of(request)
        payment_id = body.get("paymentId")
        record = self._record(str(payment_id)) if isinstance(payment_id, str | int) else None
        if record is None:
            raise req.Refused("validation_error", "Specify required PaymentId value.")
        money = req.money_of(body.get("amount"))
        if money.currency != record.currency:
            raise req.Refused("validation_error", "the refund currency differs from the payment's")
        if self.refuses_repeat(key):
            message = "violation of key uniqueness (duplicate request)"
            raise req.Refused(wire.CODE_ALREADY_USED, message, 409)
        try:
            booked = self.ledger.refund(record.order_id, key, money.amount_minor)
        except LedgerRefusal as exc:
            if exc.error == "conflict":
                message = "this Idempotency-Key was used for another refund"
                raise req.Refused(wire.CODE_ALREADY_USED, message, 409) from exc
            raise req.Refused(wire.CODE_REFUSED, f"refund refused: {exc.error}") from exc
        return req.answer(self._refund_json(booked, record))

    def _refund_list(self, params: Mapping[str, str]) -> Response:
        self._check_merchant(params.get("merchantId"))
        payment_id = params.get("paymentId", "")
        record = self._record(payment_id) if payment_id else None
        booked = [
            refund
            for refund in self.ledger.refunds()
            if record is None or refund.order_id == record.order_id
        ]
        if not self.refunds_visible:
            booked = []  # still being booked: the list does not show them yet
        by_order = {r.order_id: r for r in self.ledger.payments()}
        items = [self._refund_json(refund, by_order[refund.order_id]) for refund in booked]
        return req.answer({"items": items})

    def _refund_json(self, refund: RefundRecord, record: LedgerRecord) -> dict[str, Any]:
        data = {
            "id": req.digits(f"refund:{refund.refund_id}"),
            "created": wire.iso_time(req.now()),
            "paymentId": req.payment_id(record),
            "amount": wire.amount_json(Money(refund.amount_minor, record.currency)),
            "status": "Success",
        }
        if not self.signatures_valid:
            data["paymentId"] = req.digits(f"other:{refund.refund_id}")
        return data

    def _register_sticker(self, request: Request) -> Response:
        req.idempotency_key(request)
        body = req.body_of(request)
        self._check_merchant(body.get("merchantId"))
        kind = req.string_at(body, "stickerType", "StickerType")
        purpose = req.string_at(body, "paymentPurpose", "PaymentPurpose")
        sticker_id = req.digits(secrets.token_hex(8))
        extra = {"stickerType": kind, "description": body.get("description", "")}
        self._stickers[sticker_id] = _Sticker(body.get("cashlink") is True, purpose, extra)
        return req.answer(self._sticker_json(sticker_id))

    # -- the answers ---------------------------------------------------------------------

    def _payment_json(self, record: LedgerRecord) -> dict[str, Any]:
        meta = self._meta.get(record.order_id) or _Meta(req.now(), self._default_test_mode())
        status, result_code = _STATUS[record.status]
        money = Money(record.amount_minor, record.currency)
        invoice: dict[str, Any] = {"description": record.description, "orderNo": record.order_id}
        if meta.expires is not None:
            invoice["expires"] = meta.expires
        data: dict[str, Any] = {
            "id": req.payment_id(record),
            "created": wire.iso_time(meta.created),
            "testMode": meta.test_mode,
            "status": status,
            "merchantId": self._merchant,
            "amount": wire.amount_json(money),
            "invoice": invoice,
            "paymentData": {"paymentMethod": "Sbp"},
        }
        if result_code:
            data["resultCode"] = result_code
        if record.message:
            data["message"] = record.message
        if meta.sticker_id is not None:
            data["paymentData"]["stickerId"] = meta.sticker_id
        else:
            data["confirmation"] = {"type": "External", "paymentUrl": sbp_link(record)}
        return self._tampered(data) if not self.signatures_valid else data

    def _sticker_json(self, sticker_id: str) -> dict[str, Any]:
        sticker = self._sticker(sticker_id)
        return {
            "id": sticker_id if self.signatures_valid else req.digits(f"other:{sticker_id}"),
            "stickerType": "Sbp",
            **sticker.extra,
            "cashlink": sticker.cashlink,
            "paymentPurpose": sticker.purpose or "Payment at the till",
            "status": "Active",
            "payload": sbp_links.static_link(sticker_id),
        }

    def _tampered(self, data: dict[str, Any]) -> dict[str, Any]:
        """An answer about someone else's order: PayMaster's analogue of a bad signature."""
        amount = data["amount"]
        return {
            **data,
            "merchantId": f"{self._merchant}-other",
            "invoice": {**data["invoice"], "orderNo": f"{data['invoice']['orderNo']}-other"},
            "amount": {**amount, "value": amount["value"] + Decimal("0.01")},
        }

    # -- checks --------------------------------------------------------------------------

    @property
    def _merchant(self) -> str:
        return self.options.get("merchant_id", DEMO_MERCHANT)

    def _unprefixed(self, path: str) -> str:
        prefix = self.options.get("path_prefix", "").rstrip("/")
        return path[len(prefix) :] if prefix and path.startswith(f"{prefix}/") else path

    def _authorized(self, request: Request) -> bool:
        expected = f"Bearer {self.secrets.get('token', '')}"
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given.encode(), expected.encode())

    def _check_merchant(self, merchant_id: object) -> None:
        if not merchant_id:
            raise req.Refused("validation_error", "Specify required MerchantId value.")
        if merchant_id != self._merchant:
            raise req.Refused("not_authorized", "the token is not valid for this merchant", 403)

    def _record(self, payment_id: str) -> LedgerRecord:
        for record in self.ledger.payments():
            if req.payment_id(record) == payment_id:
                return record
        raise req.Refused("not_found", f"payment {payment_id} not found", 404)

    def _sticker(self, sticker_id: str) -> _Sticker:
        if not sticker_id.isdigit():
            raise req.Refused("validation_error", "StickerId is not valid")
        return self._stickers.get(sticker_id, _Sticker())

    def _created_within(self, record: LedgerRecord, start: datetime, end: datetime) -> bool:
        meta = self._meta.get(record.order_id)
        return meta is None or start <= meta.created <= end

    def _default_test_mode(self) -> bool:
        return self.options.get("test_mode", "").lower() in ("true", "yes", "1", "on")


def sbp_link(record: LedgerRecord) -> str:
    """A dynamic SBP link of the real shape for ``record`` (``type=02``, sum in kopecks)."""
    return sbp_links.dynamic_link(record.payment_id, record.amount_minor, record.currency)
