"""PayMaster API v2 wire format: request bodies, answers, statuses and exact amounts.

Pure functions, no I/O. Field names and status words come from the public record (see
``docs/providers/paymaster.md``); what no public text states is gathered in the section
marked ASSUMED below, so a fuller specification changes one place.

Why this module is longer than most: it is the whole of PayMaster's wire format, and the
rule is that a provider's wire format lives in its one codec module (the docs point at it
and nothing else knows the format). Its sections (exact JSON, requests, answers) share the
private field readers at the bottom.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from terminal.money import Money, minor_digits
from terminal.providers.base import Order, PaymentStatus, ProviderAnswer

__all__ = [
    "API_ROOT",
    "PAYMENTS_PATH",
    "REFUNDS_PATH",
    "STICKERS_PATH",
    "PAYMENT_STATUSES",
    "REFUND_STATUSES",
    "WireError",
    "Refusal",
    "Expected",
    "Payment",
    "Refund",
    "ListedRefund",
    "encode",
    "decode",
    "amount_json",
    "amount_of",
    "payment_body",
    "refund_body",
    "list_params",
    "refund_list_params",
    "iso_time",
    "refusal_of",
    "payment_status",
    "parse_payment",
    "parse_page",
    "parse_refund",
    "parse_refund_page",
    "refunds_outcome",
    "parse_sticker",
    "pick",
]

API_ROOT = "/api/v2"
PAYMENTS_PATH = f"{API_ROOT}/payments"
REFUNDS_PATH = f"{API_ROOT}/refunds"
STICKERS_PATH = f"{API_ROOT}/stickers"

#: ``paymentData.paymentMethod`` for SBP, as both community SDKs send it.
SBP_METHOD = "sbp"

#: Payment ``status`` words (PascalCase on the wire, matched case-insensitively).
PAYMENT_STATUSES: dict[str, PaymentStatus] = {
    "pending": PaymentStatus.PENDING,
    "confirmation": PaymentStatus.PENDING,  # waiting for the payer's action
    "authorized": PaymentStatus.PENDING,  # a two-stage hold; never asked for by payterm
    "settled": PaymentStatus.PAID,
    "cancelled": PaymentStatus.CANCELLED,
    "rejected": PaymentStatus.DECLINED,
}

#: Refund ``status`` words; a rejected refund leaves the payment paid.
REFUND_STATUSES: dict[str, PaymentStatus] = {
    "success": PaymentStatus.REFUNDED,
    "pending": PaymentStatus.PENDING,
    "rejected": PaymentStatus.PAID,
}

#: What a refund answer that is not REFUNDED tells the cashier.
_REFUND_TEXT = {
    PaymentStatus.PENDING: "refund accepted, not completed yet; repeat it with the same id",
    PaymentStatus.PAID: "refund rejected; the payment stays paid",
}

#: ``resultCode`` values that mean the invoice ran out of time rather than was refused.
EXPIRED_RESULT_CODES = frozenset({"paymentexpired"})

#: What the authorization ``resultCode`` values mean, for the cashier and the journal.
RESULT_TEXT: dict[str, str] = {
    "TransactionDeclined": "authorization declined",
    "IssuerUnavailable": "the payer's bank is unavailable",
    "RejectedByFraud": "rejected by fraud monitoring",
    "InvalidAmount": "amount not allowed",
    "InvalidAccount": "invalid account",
    "BlockedAccount": "account blocked",
    "OperationNotAllowed": "operation not allowed",
    "InsufficientFunds": "insufficient funds",
    "ExpiredAccount": "account expired",
    "PaymentLimitExceeded": "amount limit exceeded",
    "PaymentCountExceeded": "too many attempts",
    "CardNotEnrolled": "card not enrolled in 3-D Secure",
    "ThreeDSecureFailed": "3-D Secure failed",
    "CancelledByUser": "declined by the payer",
    "PaymentExpired": "the invoice expired",
}

# --- ASSUMED: not stated by any public text found; see docs/providers/paymaster.md ---

#: Where the SBP link (the qr.nspk.ru payload to show as a QR) sits in a payment's details.
QR_LINK_PATH: tuple[str, ...] = ("confirmation", "paymentUrl")
#: Query parameters of the payment list; ``start``/``end`` bound the creation time.
LIST_MERCHANT, LIST_START, LIST_END, LIST_CURSOR = "merchantId", "start", "end", "cursor"
#: The list answer: ``{"items": [...], "cursor": "..."}`` with ``cursor`` absent on the last page.
LIST_ITEMS, NEXT_CURSOR = "items", "cursor"
#: A refusal body is ``{"code", "message", "errors"}`` under any 4xx status.
CODE_ALREADY_USED = "idempotency_key_violation"  # this key came before with another request
CODE_REFUSED = "invalid_operation"  # e.g. cancel of a settled payment, refund of an unpaid one
#: The refund list is filtered by payment: ``GET /api/v2/refunds?merchantId=…&paymentId=…``,
#: answered ``{"items": [...], "cursor": "..."}`` as the payment list is.
LIST_PAYMENT = "paymentId"

# --- end of ASSUMED ---------------------------------------------------------------------


class WireError(ValueError):
    """An answer that breaks the PayMaster protocol or is not about what was asked."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """PayMaster's error body: ``code`` (``validation_error``, …), ``message`` and details."""

    code: str
    message: str = ""
    errors: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for logs and the operator: the code, the message and the details."""
        details = "; ".join(self.errors)
        text = f"{self.code}: {self.message}".rstrip(": ")
        return f"{text} ({details})" if details else text


@dataclass(frozen=True, slots=True)
class Expected:
    """What an answer about a payment must agree with, or it is not about our order."""

    merchant_id: str
    order: Order
    payment_id: str | None = None
    live: bool = True  # a test-mode payment must never answer a live terminal


@dataclass(frozen=True, slots=True)
class Payment:
    """The parts of a payment's details the terminal uses."""

    id: str
    status: str
    result_code: str = ""
    message: str = ""
    qr_link: str | None = None

    def answer(self, qr_payload: str | None = None) -> ProviderAnswer:
        """The engine's view of this payment; ``qr_payload`` overrides the dynamic link."""
        status = payment_status(self.status, self.result_code)
        raw = f"{self.status}:{self.result_code}" if self.result_code else self.status
        message = self.message or RESULT_TEXT.get(self.result_code, self.result_code)
        return ProviderAnswer(
            status,
            raw_status=raw,
            provider_ref=self.id,
            qr_payload=qr_payload or self.qr_link,
            message=message,
        )


@dataclass(frozen=True, slots=True)
class Refund:
    """A refund's details: PayMaster's id, status word and reason."""

    id: str
    status: str
    result_code: str = ""

    def answer(self, payment_id: str) -> ProviderAnswer:
        """REFUNDED when done; PENDING while PayMaster works on it; PAID when rejected."""
        status = REFUND_STATUSES[self.status.casefold()]
        message = _REFUND_TEXT.get(status, "")
        if self.result_code:
            reason = RESULT_TEXT.get(self.result_code, self.result_code)
            message = f"{message} ({reason})" if message else reason
        return ProviderAnswer(
            status, raw_status=self.status, provider_ref=payment_id, message=message
        )


@dataclass(frozen=True, slots=True)
class ListedRefund:
    """A refund as the refund list shows it: its payment, its amount and what it did."""

    id: str
    payment_id: str
    amount: Money
    status: PaymentStatus  # REFUNDED done, PENDING under way, PAID rejected


# --- JSON with exact decimals -----------------------------------------------------------


def encode(body: Mapping[str, Any]) -> bytes:
    """JSON for ``body``; ``Decimal`` values become JSON numbers digit for digit."""
    numbers: list[str] = []

    def swap(value: Any) -> Any:
        if isinstance(value, Decimal):
            numbers.append(format(value, "f"))
            return f"\x00{len(numbers) - 1}\x00"
        if isinstance(value, str):
            return value.replace("\x00", "")
        if isinstance(value, Mapping):
            return {key: swap(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [swap(item) for item in value]
        return value

    text = json.dumps(swap(body), ensure_ascii=False, separators=(",", ":"))
    for index, number in enumerate(numbers):
        text = text.replace(f'"\\u0000{index}\\u0000"', number, 1)
    return text.encode("utf-8")


def decode(content: bytes) -> Any:
    """Parse JSON keeping fractions as ``Decimal``; ``ValueError`` when it is not JSON."""
    return json.loads(content.decode("utf-8"), parse_float=Decimal, parse_constant=_no_constant)


def amount_json(money: Money) -> dict[str, Any]:
    """``{"value", "currency"}`` with the value in major units, exact (``12500`` → ``125.00``)."""
    return {"value": Decimal(money.major_str()), "currency": money.currency}


def amount_of(data: object) -> Money:
    """The ``Money`` an ``amount`` object states; ``WireError`` unless exact in minor units."""
    if not isinstance(data, Mapping):
        raise WireError("amount is not an object")
    currency, value = data.get("currency"), data.get("value")
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isupper():
        raise WireError(f"amount currency {currency!r} is not an ISO 4217 code")
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise WireError(f"amount value {value!r} is not a number")
    try:
        minor = Decimal(value).scaleb(minor_digits(currency))
    except InvalidOperation as exc:
        raise WireError(f"amount value {value!r} is not a number") from exc
    if not minor.is_finite() or minor != minor.to_integral_value():
        raise WireError(f"amount {value} {currency} is not a whole number of minor units")
    return Money(int(minor), currency)


# --- requests -----------------------------------------------------------------------------


def payment_body(
    order: Order,
    *,
    merchant_id: str,
    test_mode: bool,
    expires: datetime | None = None,
    sticker_id: str | None = None,
) -> dict[str, Any]:
    """``POST /api/v2/payments``: an SBP payment for ``order``, on a sticker when given."""
    invoice: dict[str, Any] = {
        "description": order.description or f"Order {order.order_id}",
        "orderNo": order.order_id,
    }
    if expires is not None:
        invoice["expires"] = iso_time(expires)
    payment_data: dict[str, Any] = {"paymentMethod": SBP_METHOD}
    if sticker_id is not None:
        payment_data["stickerId"] = sticker_id
    body: dict[str, Any] = {
        "merchantId": merchant_id,
        "invoice": invoice,
        "amount": amount_json(order.amount),
        "paymentData": payment_data,
    }
    if test_mode:
        body["testMode"] = True
    return body


def refund_body(payment_id: str, amount: Money) -> dict[str, Any]:
    """``POST /api/v2/refunds``: give back ``amount`` of payment ``payment_id``."""
    return {"paymentId": payment_id, "amount": amount_json(amount)}


def list_params(
    merchant_id: str, start: datetime, end: datetime, cursor: str | None = None
) -> dict[str, str]:
    """Query of ``GET /api/v2/payments``: the merchant's payments created in ``[start, end]``."""
    params = {LIST_MERCHANT: merchant_id, LIST_START: iso_time(start), LIST_END: iso_time(end)}
    if cursor is not None:
        params[LIST_CURSOR] = cursor
    return params


def refund_list_params(
    merchant_id: str, payment_id: str, cursor: str | None = None
) -> dict[str, str]:
    """Query of ``GET /api/v2/refunds``: the refunds of payment ``payment_id``."""
    params = {LIST_MERCHANT: merchant_id, LIST_PAYMENT: payment_id}
    if cursor is not None:
        params[LIST_CURSOR] = cursor
    return params


def iso_time(moment: datetime) -> str:
    """ISO 8601 in UTC to the second, e.g. ``2026-11-23T13:32:31Z``."""
    if moment.tzinfo is None:
        raise ValueError("a time sent to PayMaster must carry its time zone")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- answers ----------------------------------------------------------------------------


def refusal_of(data: object) -> Refusal | None:
    """The error body in ``data``, or None when ``data`` is not one."""
    if not isinstance(data, Mapping) or not isinstance(data.get("code"), str):
        return None
    errors = data.get("errors")
    details = tuple(str(e) for e in errors) if isinstance(errors, list) else ()
    return Refusal(str(data["code"]), _text(data.get("message")), details)


def payment_status(status: str, result_code: str = "") -> PaymentStatus:
    """The engine's status for a payment ``status`` word (``WireError`` when unknown)."""
    mapped = PAYMENT_STATUSES.get(status.casefold())
    if mapped is None:
        raise WireError(f"unknown payment status {status!r}")
    final_but_unpaid = mapped in (PaymentStatus.DECLINED, PaymentStatus.CANCELLED)
    if final_but_unpaid and result_code.casefold() in EXPIRED_RESULT_CODES:
        return PaymentStatus.EXPIRED
    return mapped


def parse_payment(data: object, expected: Expected) -> Payment:
    """Check a payment's details against ``expected`` and keep what the terminal uses."""
    if not isinstance(data, Mapping):
        raise WireError("payment details are not an object")
    payment_id = _id(data.get("id"), "payment id")
    if expected.payment_id is not None and payment_id != expected.payment_id:
        raise WireError(f"answer is about payment {payment_id}, not {expected.payment_id}")
    _check_merchant(data, expected.merchant_id)
    invoice = data.get("invoice")
    order_no = invoice.get("orderNo") if isinstance(invoice, Mapping) else None
    if order_no != expected.order.order_id:
        raise WireError(f"answer is about order {order_no!r}")
    amount = amount_of(data.get("amount"))
    if amount != expected.order.amount:
        raise WireError(f"answer states {amount}, the order is {expected.order.amount}")
    if expected.live and data.get("testMode") is True:
        raise WireError("a test-mode payment answered a terminal that is not in test mode")
    status = data.get("status")
    if not isinstance(status, str):
        raise WireError("payment details lack a status")
    payment_status(status)  # an unknown word is a protocol error, not "pending"
    return Payment(
        payment_id,
        status,
        result_code=_text(data.get("resultCode")),
        message=_text(data.get("message")),
        qr_link=_qr_link(data),
    )


def parse_page(data: object, merchant_id: str) -> tuple[list[Mapping[str, Any]], str | None]:
    """A page of the payment list: its items (all the merchant's) and the next cursor."""
    if not isinstance(data, Mapping) or not isinstance(data.get(LIST_ITEMS), list):
        raise WireError(f"the payment list lacks {LIST_ITEMS!r}")
    items: list[Mapping[str, Any]] = []
    for item in data[LIST_ITEMS]:
        if not isinstance(item, Mapping):
            raise WireError("a payment in the list is not an object")
        _check_merchant(item, merchant_id)
        items.append(item)
    cursor = data.get(NEXT_CURSOR)
    return items, cursor if isinstance(cursor, str) and cursor else None


def pick(items: list[Mapping[str, Any]], order_id: str) -> Mapping[str, Any] | None:
    """The list item for ``order_id``: a settled one first, then one still pending."""
    mine = [item for item in items if _order_no(item) == order_id]

    def rank(item: Mapping[str, Any]) -> int:
        word = item.get("status")
        status = PAYMENT_STATUSES.get(word.casefold()) if isinstance(word, str) else None
        return _PICK_ORDER.get(status, 2) if status is not None else 2

    return min(mine, key=rank) if mine else None


def parse_refund(data: object, payment_id: str, amount: Money) -> Refund:
    """Check a refund's details against the request and keep its id and status."""
    if not isinstance(data, Mapping):
        raise WireError("refund details are not an object")
    refund_id = _id(data.get("id"), "refund id")
    answered_for = _id(data.get("paymentId"), "refund paymentId")
    if answered_for != payment_id:
        raise WireError(f"refund answer is about payment {answered_for}, not {payment_id}")
    stated = amount_of(data.get("amount"))
    if stated != amount:
        raise WireError(f"refund answer states {stated}, the refund is {amount}")
    status = data.get("status")
    if not isinstance(status, str) or status.casefold() not in REFUND_STATUSES:
        raise WireError(f"unknown refund status {status!r}")
    return Refund(refund_id, status, _text(data.get("resultCode")))


def parse_refund_page(data: object, payment_id: str) -> tuple[list[ListedRefund], str | None]:
    """A page of the refund list: the refunds of ``payment_id`` on it, and the next cursor.

    Refunds of other payments are left out, should the list ignore the filter.
    """
    if not isinstance(data, Mapping) or not isinstance(data.get(LIST_ITEMS), list):
        raise WireError(f"the refund list lacks {LIST_ITEMS!r}")
    refunds: list[ListedRefund] = []
    for item in data[LIST_ITEMS]:
        if not isinstance(item, Mapping):
            raise WireError("a refund in the list is not an object")
        if _id(item.get("paymentId"), "refund paymentId") != payment_id:
            continue
        status = item.get("status")
        if not isinstance(status, str) or status.casefold() not in REFUND_STATUSES:
            raise WireError(f"unknown refund status {status!r}")
        refund_id = _id(item.get("id"), "refund id")
        amount = amount_of(item.get("amount"))
        refunds.append(
            ListedRefund(refund_id, payment_id, amount, REFUND_STATUSES[status.casefold()])
        )
    cursor = data.get(NEXT_CURSOR)
    return refunds, cursor if isinstance(cursor, str) and cursor else None


def refunds_outcome(refunds: list[ListedRefund], amount: Money) -> PaymentStatus | None:
    """What a payment's refunds did about ``amount``.

    REFUNDED when the successful ones give it all back; PENDING while one is under way;
    None when none gives money back (there is none, or each was rejected).
    """
    done = 0
    for refund in refunds:
        if refund.amount.currency != amount.currency:
            raise WireError(
                f"refund {refund.id} is in {refund.amount.currency}, not {amount.currency}"
            )
        if refund.status is PaymentStatus.REFUNDED:
            done += refund.amount.amount_minor
    if amount.amount_minor > 0 and done >= amount.amount_minor:
        return PaymentStatus.REFUNDED
    if any(refund.status is PaymentStatus.PENDING for refund in refunds):
        return PaymentStatus.PENDING
    return None


def parse_sticker(data: object, sticker_id: str) -> str:
    """The SBP link of cash-link sticker ``sticker_id`` (what its QR and NFC tag carry)."""
    if not isinstance(data, Mapping):
        raise WireError("sticker details are not an object")
    answered = _id(data.get("id"), "sticker id")
    if answered != sticker_id:
        raise WireError(f"answer is about sticker {answered}, not {sticker_id}")
    if data.get("cashlink") is not True:
        raise WireError(f"sticker {sticker_id} is not a cash link (cashlink is not true)")
    return _link(data.get("payload"), "sticker payload")


# --- private ------------------------------------------------------------------------------

#: When one order id shows up more than once in the list, a settled payment wins.
_PICK_ORDER = {PaymentStatus.PAID: 0, PaymentStatus.PENDING: 1}


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _id(value: object, what: str) -> str:
    """PayMaster ids are digit strings in some answers and numbers in others."""
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise WireError(f"answer lacks the {what}")
    return str(value)


def _check_merchant(data: Mapping[str, Any], merchant_id: str) -> None:
    answered = data.get("merchantId")
    if answered != merchant_id:
        raise WireError(f"answer is about merchant {answered!r}, not the configured one")


def _order_no(item: Mapping[str, Any]) -> object:
    invoice = item.get("invoice")
    return invoice.get("orderNo") if isinstance(invoice, Mapping) else None


def _qr_link(data: Mapping[str, Any]) -> str | None:
    node: object = data
    for key in QR_LINK_PATH:
        node = node.get(key) if isinstance(node, Mapping) else None
    return None if node is None else _link(node, ".".join(QR_LINK_PATH))


def _link(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.startswith("https://"):
        raise WireError(f"{what} is not an https link")
    return value
