"""Pockyt's (ex-Yuansfer) wire format: ``verifySign``, amounts, paths, answer codes, statuses.

The first half is the published protocol, checked against the provider's documents and
SDKs (see ``docs/providers/pockyt.md``). Everything the public record does not settle is
in the section marked ASSUMED at the bottom, so a firmer specification replaces it there.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, urlencode

from terminal.money import Money, minor_digits
from terminal.providers.base import PaymentStatus

__all__ = [
    "SIGN_FIELD",
    "CONTENT_TYPE",
    "PATHS",
    "RET_CODES",
    "SUCCESS",
    "NO_RECORD",
    "STATUS_ERROR",
    "UNAVAILABLE_CODES",
    "STATUS_MAP",
    "WAITING",
    "md5_hex",
    "sign_string",
    "verify_sign",
    "sign",
    "signature_matches",
    "verify_ipn",
    "format_amount",
    "parse_amount",
    "encode_body",
    "decode_body",
    "response_signature_ok",
    "vendor_for_code",
]

#: The parameter that carries the signature, in requests, IPNs and (assumed) answers.
SIGN_FIELD = "verifySign"


# -- published: the verifySign rule -----------------------------------------------------------


def md5_hex(text: str) -> str:
    """Lower-case hex MD5 of ``text`` encoded as UTF-8 (the protocol mandates MD5)."""
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324 - Pockyt's signature


def sign_string(params: Mapping[str, object], token: str) -> str:
    """The text that is hashed: sorted ``k=v`` joined by ``&``, then ``&`` + md5(token).

    ``verifySign`` itself and empty values (None, "") are left out; values go in raw,
    never URL-encoded.
    """
    pairs = []
    for key in sorted(params):
        text = _field_text(params[key])
        if key != SIGN_FIELD and text is not None:
            pairs.append(f"{key}={text}")
    return "&".join([*pairs, md5_hex(token)])


def verify_sign(params: Mapping[str, object], token: str) -> str:
    """``params``'s ``verifySign`` under ``token``: lower-case hex MD5 of :func:`sign_string`."""
    return md5_hex(sign_string(params, token))


def sign(params: Mapping[str, str], token: str) -> dict[str, str]:
    """``params`` with their ``verifySign`` added, ready to send."""
    return {**params, SIGN_FIELD: verify_sign(params, token)}


def signature_matches(params: Mapping[str, object], token: str) -> bool:
    """True when ``params`` carry a ``verifySign`` that is right for the other fields."""
    given = params.get(SIGN_FIELD)
    if not isinstance(given, str) or not given:
        return False
    expected = verify_sign(params, token)
    return hmac.compare_digest(given.lower().encode("ascii", "replace"), expected.encode("ascii"))


def verify_ipn(params: Mapping[str, str], token: str) -> bool:
    """Check an IPN's ``verifySign`` (form fields as received) against the merchant's ``token``."""
    return signature_matches(params, token)


# -- published: amounts -------------------------------------------------------------------------


def format_amount(money: Money) -> str:
    """An amount as Pockyt takes it: a decimal string in major units, e.g. ``"12.50"``."""
    return money.major_str()


def parse_amount(value: object, currency: str) -> Money | None:
    """An amount from an answer (string or JSON number) as Money; None when it is not one."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        exact = Decimal(str(value))
    except InvalidOperation:
        return None
    minor = exact.scaleb(minor_digits(currency))
    if not minor.is_finite() or minor != minor.to_integral_value() or minor < 0:
        return None
    return Money(int(minor), currency)


# -- published: paths and answer codes ------------------------------------------------------

#: Pockyt's in-store endpoints, all POST, relative to the base URL.
PATHS: dict[str, str] = {
    "add": "/app-instore/v3/add",
    "prepay": "/app-instore/v3/prepay",
    "pay": "/app-instore/v3/pay",  # the older name of prepay; used when prepay answers 404
    "qrcode": "/app-instore/v3/create-trans-qrcode",
    "query": "/app-data-search/v3/tran-query",
    "cancel": "/app-data-search/v3/cancel",
    "refund": "/app-data-search/v3/refund",
}

SUCCESS = "000100"
NO_RECORD = "000021"  # "no information for the parameter's number": the reference is unknown
STATUS_ERROR = "000040"  # the transaction is not in a state that allows the call

#: Pockyt's ``ret_code`` values. 000000 and 000080 are the provider's (or the wallet's)
#: trouble, retried like a 5xx; the others mean the request was refused.
RET_CODES: dict[str, str] = {
    "000000": "system error",
    "000010": "API version error",
    "000020": "a parameter is empty",
    "000021": "no record for the number given",
    "000022": "parameters do not match",
    "000023": "a parameter has a wrong value",
    "000030": "no permission",
    "000040": "transaction status error",
    "000080": "wallet (vendor) system error",
    SUCCESS: "success",
}
#: The codes that are the provider's (or the wallet's) trouble, not a refusal.
UNAVAILABLE_CODES = frozenset({"000000", "000080"})


# -- ASSUMED ----------------------------------------------------------------------------------
# Not settled by the public record; each choice is explained in docs/providers/pockyt.md.

#: Pockyt's transaction statuses and what they mean to the engine. ``closed`` means the
#: customer never completed and Pockyt closed it: EXPIRED when a query finds it, CANCELLED
#: in the answer to the terminal's own cancel.
STATUS_MAP: dict[str, PaymentStatus] = {
    "init": PaymentStatus.PENDING,
    "dealing": PaymentStatus.PENDING,
    "pending": PaymentStatus.PENDING,
    "success": PaymentStatus.PAID,
    "failed": PaymentStatus.DECLINED,
    "closed": PaymentStatus.EXPIRED,
}

#: The statuses of a transaction (or refund) still under way.
WAITING = frozenset({"init", "dealing", "pending"})

#: What Pockyt answers a refund whose ``refundReference`` it has seen (nothing is
#: documented): ``000022``, "parameters do not match". The driver never reads it as refused.
REFUND_SEEN = "000022"
#: The refusals of a refund that say something about the payment (its status, or that the
#: amount exceeds what is left): the driver reads the payment back, refunded or not.
REFUND_REFUSALS = frozenset({"000040", REFUND_SEEN, "000023"})

#: Body encoding. The docs' curl examples post JSON; the Python SDK, the Go SDK and the
#: PHP samples post form fields. The terminal posts form fields, as the SDKs do.
CONTENT_TYPE = "application/x-www-form-urlencoded"

#: Customer codes: WeChat Pay 18 digits starting 10-15; Alipay 16-24 digits starting 25-30;
#: UnionPay 19 digits starting 62.
_WECHAT_CODE = re.compile(r"1[0-5][0-9]{16}")
_ALIPAY_CODE = re.compile(r"(2[5-9]|30)[0-9]{14,22}")
_UNIONPAY_CODE = re.compile(r"62[0-9]{17}")


def encode_body(params: Mapping[str, str]) -> bytes:
    """The request body: the signed parameters as form fields."""
    return urlencode(list(params.items())).encode("ascii")


def decode_body(body: bytes, content_type: str) -> dict[str, str]:
    """Parameters from a request body, form-encoded or JSON; ``ValueError`` when neither."""
    text = body.decode("utf-8")
    if content_type.split(";")[0].strip().lower() != "application/json":
        return dict(parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text)))
    data = json.loads(text) if text.strip() else {}
    if not isinstance(data, dict):
        raise ValueError("the JSON body is not an object")
    params: dict[str, str] = {}
    for key, value in data.items():
        field = _field_text(value)
        if field is not None:
            params[str(key)] = field
    return params


def response_signature_ok(data: Mapping[str, Any], token: str) -> bool:
    """False when an answer carries a ``verifySign`` (top level or in ``result``) that is wrong.

    Pockyt's answers are unsigned in the public record; the terminal still refuses one that
    carries a signature it cannot confirm over the ``result`` fields.
    """
    result = data.get("result")
    fields: Mapping[str, Any] = result if isinstance(result, dict) else {}
    for given in (data.get(SIGN_FIELD), fields.get(SIGN_FIELD)):
        if given is not None and not signature_matches({**fields, SIGN_FIELD: given}, token):
            return False
    return True


def vendor_for_code(code: str, *, wechat_vendor: str = "wechatpay") -> str | None:
    """The ``vendor`` word for a scanned customer code; None when no wallet is recognised."""
    if _WECHAT_CODE.fullmatch(code):
        return wechat_vendor
    if _ALIPAY_CODE.fullmatch(code):
        return "alipay"
    if _UNIONPAY_CODE.fullmatch(code):
        return "unionpay"
    return None


def _field_text(value: object) -> str | None:
    """A parameter's text as it is signed; None for a value that is left out."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)
