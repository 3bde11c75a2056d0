"""Verystar (VeryPay v3): the parts of the wire format that are ASSUMED, kept in one place.

The public record (VeryPay's PHP SDK, a third-party Java client, the Openbravo module's
wiki page) gives the endpoints, the request fields, the signature and the answer's
envelope ``{retcode, msg, data, sign}``. It does not give:

- the ``retcode`` of success, nor the codes of "order not found", "already paid" and the
  refund refusals (only ``10013`` "send the refund again with the same refund_out_sn" is
  stated, and ``10001``/``10003``/``10007``/``400`` are the SDK's own local codes);
- the names of the fields inside ``data`` (beyond ``order_sn``, which the query, refund
  and close requests accept "as returned by unified order"), nor the trade-status words.

What follows is a guess modelled on WeChat Pay v2 (``trade_state`` words) and on the SDK's
codes. When VeryPay's real answers are known, this module is the only one to change; the
driver (:mod:`terminal.providers.verystar.driver`) and its fake both read their vocabulary here.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from terminal.providers.base import PaymentStatus

__all__ = [
    "Outcome",
    "Refusal",
    "SUCCESS_RETCODE",
    "RETCODES",
    "REFUSAL_MESSAGES",
    "TRADE_STATES",
    "STATUS_FIELDS",
    "QR_FIELDS",
    "ORDER_REF_FIELD",
    "REFUND_DONE",
    "CHANNEL_WECHAT",
    "CHANNEL_ALIPAY",
    "classify",
    "normalise_retcode",
    "trade_status",
    "qr_payload",
    "trade_state_for",
    "refusal_retcode",
    "BAD_REQUEST_RETCODE",
    "BUSY_RETCODE",
    "APP_KEY_RETCODE",
    "SIGN_RETCODE",
]


class Outcome(enum.Enum):
    """What an answer's ``retcode`` means to the driver."""

    OK = "ok"  # the request was processed; ``data`` describes the order or refund
    REFUSED = "refused"  # a business refusal; see :class:`Refusal`
    RETRY = "retry"  # the provider is busy or asks for the same request again: technical
    CREDENTIALS = "credentials"  # app_key or signature refused: a configuration problem
    BAD_REQUEST = "bad_request"  # a parameter refused: the request is not the protocol
    UNKNOWN = "unknown"  # a code this module does not know: never taken as a payment


class Refusal(enum.Enum):
    """The business refusals the driver tells apart (all codes ASSUMED except where noted)."""

    NOT_FOUND = "not_found"  # no order under this out_sn
    ALREADY_PAID = "already_paid"  # close refused: the order is paid (refund it instead)
    NOT_PAID = "not_paid"  # refund refused: the order is not paid
    EXCEEDS = "exceeds"  # refund refused: more than was paid
    REFUND_CONFLICT = "refund_conflict"  # refund_out_sn already used for another refund
    OUT_SN_CONFLICT = "out_sn_conflict"  # out_sn already used for another order


#: ASSUMED: the success code. The SDK's own codes are non-zero, so zero is the likely one.
SUCCESS_RETCODE = "0"

#: Every non-success code the driver knows, as text (answers may send a number or a string).
RETCODES: Mapping[str, Outcome | Refusal] = {
    # Stated by the SDK (as its local codes) / the Java client; assumed to mean the same
    # when the server sends them.
    "400": Outcome.RETRY,  # "server busy, try again"
    "10007": Outcome.RETRY,  # "server busy, try again"
    "10013": Outcome.RETRY,  # refund: send again with the same refund_out_sn (Java client)
    "10001": Outcome.CREDENTIALS,  # app_key wrong
    "10003": Outcome.CREDENTIALS,  # secret / signature wrong
    "10002": Outcome.BAD_REQUEST,  # ASSUMED: a missing or malformed parameter
    # ASSUMED: invented codes for the refusals the public record describes only in words.
    "20001": Refusal.NOT_FOUND,
    "20002": Refusal.ALREADY_PAID,  # "paid orders cannot be closed" (Java client, in words)
    "20003": Refusal.NOT_PAID,
    "20004": Refusal.EXCEEDS,  # "refund_fee must not exceed the order total" (in words)
    "20005": Refusal.REFUND_CONFLICT,
    "20006": Refusal.OUT_SN_CONFLICT,
}

#: The codes a fake answers for a bad request, a busy moment, a wrong app_key or sign.
BAD_REQUEST_RETCODE = 10002
BUSY_RETCODE = 10007
APP_KEY_RETCODE = 10001
SIGN_RETCODE = 10003

#: Cashier-readable reasons for the refusals.
REFUSAL_MESSAGES: Mapping[Refusal, str] = {
    Refusal.NOT_FOUND: "the provider has no such order",
    Refusal.ALREADY_PAID: "the order is paid and cannot be closed",
    Refusal.NOT_PAID: "the order is not paid",
    Refusal.EXCEEDS: "the refund exceeds what was paid",
    Refusal.REFUND_CONFLICT: "this refund number was already used for another refund",
    Refusal.OUT_SN_CONFLICT: "this order number was already used for another order",
}

#: ASSUMED: the trade-status words, WeChat Pay v2's ``trade_state`` vocabulary.
TRADE_STATES: Mapping[str, PaymentStatus] = {
    "SUCCESS": PaymentStatus.PAID,
    "USERPAYING": PaymentStatus.PENDING,  # CPM: the customer must confirm in the app
    "NOTPAY": PaymentStatus.PENDING,  # MPM: the QR is not paid yet
    "PAYERROR": PaymentStatus.DECLINED,
    "CLOSED": PaymentStatus.CANCELLED,  # closed by closeorder, or by the provider on timeout
    "REVOKED": PaymentStatus.CANCELLED,  # CPM reversed
    "REFUND": PaymentStatus.REFUNDED,
}

#: ASSUMED: where ``data`` carries the trade status, first found wins.
STATUS_FIELDS = ("trade_state", "status")
#: ASSUMED: where unified order's ``data`` carries the QR text (WeChat / Alipay names).
QR_FIELDS = ("code_url", "qr_code")
#: The provider's own order number (named by the public request fields).
ORDER_REF_FIELD = "order_sn"
#: ASSUMED: the raw status recorded for an accepted refund.
REFUND_DONE = "REFUND"

#: Unified order's ``channel``: ``wx`` is in the SDK's README; the Alipay word is ASSUMED.
CHANNEL_WECHAT = "wx"
CHANNEL_ALIPAY = "alipay"


def normalise_retcode(value: object) -> str:
    """``retcode`` as text: ``0`` and ``"0"`` are the same code."""
    return str(value).strip()


def classify(retcode: str) -> Outcome | Refusal:
    """What ``retcode`` (normalised) means."""
    if retcode == SUCCESS_RETCODE:
        return Outcome.OK
    return RETCODES.get(retcode, Outcome.UNKNOWN)


def trade_status(data: Mapping[str, Any]) -> tuple[PaymentStatus, str] | None:
    """The engine's status and the raw word from ``data``; None when it carries no status.

    Raises ``KeyError`` for a word this module does not know (the driver makes that a
    protocol error: an unknown word is never taken as paid).
    """
    for field in STATUS_FIELDS:
        word = data.get(field)
        if isinstance(word, str) and word.strip():
            raw = word.strip()
            return TRADE_STATES[raw.upper()], raw
    return None


def qr_payload(data: Mapping[str, Any]) -> str | None:
    """The QR text of a unified order's ``data``, or None."""
    for field in QR_FIELDS:
        value = data.get(field)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


# -- the fake's side: the same guesses, read the other way round --------------------------

_LEDGER_WORDS: Mapping[tuple[str, str], str] = {
    ("pending", "mpm"): "NOTPAY",
    ("pending", "cpm"): "USERPAYING",
    ("paid", ""): "SUCCESS",
    ("declined", ""): "PAYERROR",
    ("expired", ""): "CLOSED",
    ("cancelled", "mpm"): "CLOSED",
    ("cancelled", "cpm"): "REVOKED",
    ("refunded", ""): "REFUND",
}


def trade_state_for(ledger_status: str, flow: str) -> str:
    """The trade-status word a fake answers for a sandbox-ledger status and flow."""
    word = _LEDGER_WORDS.get((ledger_status, flow)) or _LEDGER_WORDS.get((ledger_status, ""))
    if word is None:
        raise ValueError(f"no trade state for ledger status {ledger_status!r}")
    return word


def refusal_retcode(refusal: Refusal) -> int:
    """The (assumed) code a fake answers for ``refusal``."""
    for code, meaning in RETCODES.items():
        if meaning is refusal:
            return int(code)
    raise ValueError(f"no code for {refusal!r}")
