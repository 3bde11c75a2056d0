"""Sendy POS wire encoding, ASSUMED: only the path ``pos/payment/offline`` is public.

The Кассир 5 Sendy module's document names one request, ``pos/payment/offline``, which
carries the customer's QR code as a parameter. Everything else here is an assumption:

- the API root ``/v1/`` under the configured server URL, and every other path;
- JSON bodies; answers are the envelope ``{"errNo", "errMsg", "data"}``, with
  ``errNo == 0`` meaning success (the convention of Sendy's public wallet SDK);
- the field names, the status words and the error numbers;
- the signing: ``X-Sendy-Signature`` = hex HMAC-SHA256 over the request, keyed with the
  terminal key that activation hands out. Answers are signed over the request's nonce
  and the answer's body, so an old "paid" answer cannot be replayed.

This is the one module to replace when Sendy's specification is at hand: the driver
(:mod:`terminal.providers.sendy.driver`) and the fake (:mod:`terminal.providers.sendy.fake`)
take every name, word and rule of the wire from here.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from terminal.providers.base import Order, PaymentStatus

__all__ = [
    "API_ROOT",
    "PATHS",
    "TERMINAL_HEADER",
    "NONCE_HEADER",
    "SIGNATURE_HEADER",
    "SERVICES",
    "ErrNo",
    "STATUS_MAP",
    "Envelope",
    "Counters",
    "SendyPayment",
    "ShiftTotals",
    "new_nonce",
    "request_signature",
    "response_signature",
    "signature_matches",
    "encode",
    "encode_envelope",
    "decode_envelope",
    "counters_request",
    "offline_request",
    "online_request",
    "order_request",
    "close_shift_request",
    "activation_request",
    "activation_key",
]

#: The assumed API root under the server URL; ``options.api_root`` overrides it.
API_ROOT = "/v1/"

#: Operation -> path under the API root. Only ``offline`` is public.
PATHS: dict[str, str] = {
    "activate": "pos/terminal/activate",
    "counters": "pos/counters",
    "offline": "pos/payment/offline",  # public: the Кассир 5 module's document
    "online": "pos/payment/online",
    "status": "pos/payment/status",
    "cancel": "pos/payment/cancel",
    "close_shift": "pos/shift/close",
}

TERMINAL_HEADER = "X-Sendy-Terminal"
NONCE_HEADER = "X-Sendy-Nonce"
SIGNATURE_HEADER = "X-Sendy-Signature"

#: The online-mode services: Sendy always; WeChat and AliPay when switched on.
SERVICES = ("sendy", "wechat", "alipay")


class ErrNo(enum.IntEnum):
    """The envelope's ``errNo`` values."""

    OK = 0
    BAD_REQUEST = 1
    BAD_SIGNATURE = 2  # the request's signature is wrong (HTTP 401, answer unsigned)
    UNKNOWN_TERMINAL = 3  # no such terminal, or not activated (HTTP 401, answer unsigned)
    NOT_FOUND = 4  # no payment under this order id
    CONFLICT = 5  # the order id was used with another amount, currency or mode
    SERVICE_OFF = 6  # the service is not enabled for this merchant
    ACTIVATION_CODE_WRONG = 7
    ACTIVATION_CODE_VOID = 8  # three wrong attempts: a new code is needed
    SHIFT_NOT_OPEN = 9  # close_shift without an open shift


#: Sendy's payment status words and what they mean to the engine.
STATUS_MAP: dict[str, PaymentStatus] = {
    "WAITING": PaymentStatus.PENDING,  # waiting for the customer to scan or confirm
    "PAID": PaymentStatus.PAID,
    "REJECTED": PaymentStatus.DECLINED,
    "EXPIRED": PaymentStatus.EXPIRED,
    "CANCELLED": PaymentStatus.CANCELLED,
    "REFUNDED": PaymentStatus.REFUNDED,
}


@dataclass(frozen=True, slots=True)
class Envelope:
    """One decoded answer: ``err_no`` 0 on success, ``data`` the payload (may be empty)."""

    err_no: int
    err_msg: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Counters:
    """The through-numbers the server hands out before a transaction."""

    transaction_no: int
    shift_no: int
    shift_opened: bool = False  # the previous shift was closed: this one is new

    def to_data(self) -> dict[str, object]:
        """Return the counters as the server sends them."""
        return {
            "transaction_no": self.transaction_no,
            "shift_no": self.shift_no,
            "shift_opened": self.shift_opened,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Counters:
        """Read the counters; ``ValueError`` when a field is missing or of the wrong type."""
        return cls(
            _positive(data, "transaction_no"),
            _positive(data, "shift_no"),
            _bool(data, "shift_opened"),
        )


@dataclass(frozen=True, slots=True)
class SendyPayment:
    """A payment as the server describes it."""

    order_id: str
    status: str  # a word of STATUS_MAP
    transaction_no: int
    shift_no: int
    amount_minor: int
    currency: str
    service: str
    qr: str | None = None  # online mode: the token QR to print or show
    message: str = ""

    def to_data(self) -> dict[str, object]:
        """Return the payment as the server sends it."""
        return {
            "order_id": self.order_id,
            "status": self.status,
            "transaction_no": self.transaction_no,
            "shift_no": self.shift_no,
            "amount": self.amount_minor,
            "currency": self.currency,
            "service": self.service,
            "qr": self.qr,
            "message": self.message,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> SendyPayment:
        """Read a payment; ``ValueError`` when a field is missing or of the wrong type."""
        qr = data.get("qr")
        if qr is not None and not isinstance(qr, str):
            raise ValueError("field 'qr' is not text")
        return cls(
            order_id=_text(data, "order_id"),
            status=_text(data, "status"),
            transaction_no=_positive(data, "transaction_no"),
            shift_no=_positive(data, "shift_no"),
            amount_minor=_positive(data, "amount"),
            currency=_text(data, "currency"),
            service=_text(data, "service"),
            qr=qr or None,
            message=_optional_text(data, "message"),
        )


@dataclass(frozen=True, slots=True)
class ShiftTotals:
    """A shift's totals at its close: only paid payments are counted."""

    shift_no: int
    closed: bool  # False: there was no open shift to close
    paid_count: int
    paid_amount_minor: int
    currency: str

    def to_data(self) -> dict[str, object]:
        """Return the totals as the server sends them."""
        return {
            "shift_no": self.shift_no,
            "closed": self.closed,
            "paid_count": self.paid_count,
            "paid_amount": self.paid_amount_minor,
            "currency": self.currency,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> ShiftTotals:
        """Read shift totals; ``ValueError`` when a field is missing or of the wrong type."""
        return cls(
            shift_no=_count(data, "shift_no"),
            closed=_bool(data, "closed"),
            paid_count=_count(data, "paid_count"),
            paid_amount_minor=_count(data, "paid_amount"),
            currency=_optional_text(data, "currency"),
        )


# -- signing -------------------------------------------------------------------------


def new_nonce() -> str:
    """A fresh request nonce: 32 hex digits."""
    return secrets.token_hex(16)


def request_signature(key: str, method: str, path: str, nonce: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``METHOD \\n path \\n nonce \\n body`` keyed with ``key``."""
    message = f"{method.upper()}\n{path}\n{nonce}\n".encode() + body
    return hmac.new(key.encode("utf-8"), message, hashlib.sha256).hexdigest()


def response_signature(key: str, nonce: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``nonce \\n body`` keyed with ``key``: binds an answer to its request."""
    message = f"{nonce}\n".encode() + body
    return hmac.new(key.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_matches(expected: str, given: str | None) -> bool:
    """Compare signatures in constant time; a missing one never matches."""
    if given is None:
        return False
    return hmac.compare_digest(
        expected.encode("ascii"), given.strip().lower().encode("ascii", "replace")
    )


# -- bodies --------------------------------------------------------------------------


def encode(fields: Mapping[str, object]) -> bytes:
    """Encode a request or answer body: compact JSON, keys sorted, UTF-8."""
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def encode_envelope(
    err_no: int, err_msg: str = "", data: Mapping[str, object] | None = None
) -> bytes:
    """Encode an answer's envelope."""
    return encode({"errNo": int(err_no), "errMsg": err_msg, "data": dict(data or {})})


def decode_envelope(body: bytes) -> Envelope:
    """Decode an answer's envelope; ``ValueError`` when it is not one."""
    parsed = json.loads(body.decode("utf-8"))
    if not isinstance(parsed, dict):
        raise ValueError("the answer is not a JSON object")
    err_no = parsed.get("errNo")
    if not isinstance(err_no, int) or isinstance(err_no, bool):
        raise ValueError("the answer has no integer 'errNo'")
    err_msg = parsed.get("errMsg", "")
    data = parsed.get("data", {})
    if data is None:
        data = {}
    if not isinstance(err_msg, str) or not isinstance(data, dict):
        raise ValueError("the answer's 'errMsg' or 'data' has the wrong type")
    return Envelope(err_no, err_msg, data)


def counters_request(terminal_id: str, order_id: str) -> dict[str, object]:
    """Ask for the transaction and shift numbers of ``order_id`` (the same on a repeat)."""
    return {"terminal_id": terminal_id, "order_id": order_id}


def offline_request(
    terminal_id: str, order: Order, counters: Counters, language: str, code: str
) -> dict[str, object]:
    """Offline mode: pay ``order`` with the customer's QR ``code``."""
    return {**_payment_fields(terminal_id, order, counters, language), "qr": code}


def online_request(
    terminal_id: str, order: Order, counters: Counters, language: str, service: str
) -> dict[str, object]:
    """Online mode: a token QR for ``order``, payable with ``service``'s app."""
    return {**_payment_fields(terminal_id, order, counters, language), "service": service}


def order_request(terminal_id: str, order_id: str, language: str) -> dict[str, object]:
    """Status or cancel of the payment under ``order_id``."""
    return {"terminal_id": terminal_id, "order_id": order_id, "lang": language}


def close_shift_request(terminal_id: str, shift_no: int | None) -> dict[str, object]:
    """Close the open shift (or, given ``shift_no``, answer that shift's totals again)."""
    fields: dict[str, object] = {"terminal_id": terminal_id}
    if shift_no is not None:
        fields["shift_no"] = shift_no
    return fields


def activation_request(terminal_id: str, serial_number: str) -> dict[str, object]:
    """Activation: signed with the activation code as the key; the code itself is not sent."""
    return {"terminal_id": terminal_id, "serial_number": serial_number}


def activation_key(data: Mapping[str, Any]) -> str:
    """The terminal key in a successful activation's data; ``ValueError`` without one."""
    return _text(data, "terminal_key")


# -- private -------------------------------------------------------------------------


def _payment_fields(
    terminal_id: str, order: Order, counters: Counters, language: str
) -> dict[str, object]:
    return {
        "terminal_id": terminal_id,
        "order_id": order.order_id,
        "transaction_no": counters.transaction_no,
        "shift_no": counters.shift_no,
        "amount": order.amount.amount_minor,
        "currency": order.amount.currency,
        "description": order.description,
        "lang": language,
    }


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"field {key!r} is not non-empty text")
    return value


def _optional_text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"field {key!r} is not text")
    return value


def _count(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"field {key!r} is not a whole number")
    return value


def _positive(data: Mapping[str, Any], key: str) -> int:
    value = _count(data, key)
    if value < 1:
        raise ValueError(f"field {key!r} is not positive")
    return value


def _bool(data: Mapping[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"field {key!r} is not true or false")
    return value
