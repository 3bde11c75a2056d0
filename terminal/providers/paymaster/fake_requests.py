"""The request side of the PayMaster fake: reading and checking requests, PayMaster's refusals.

Helpers of :mod:`terminal.providers.paymaster.fake`; each refuses a bad request with
PayMaster's error body, as PayMaster does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from terminal.money import Money
from terminal.providers.loopback_http import Request, Response
from terminal.providers.paymaster import codec as wire
from terminal.providers.sandbox.ledger import LedgerRecord

__all__ = [
    "Refused",
    "answer",
    "refusal",
    "body_of",
    "idempotency_key",
    "object_at",
    "string_at",
    "money_of",
    "time_of",
    "expires_of",
    "optional",
    "now",
    "payment_id",
    "digits",
]


class Refused(Exception):
    """Answer the request with PayMaster's error body."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.response = answer({"code": code, "message": message, "errors": [message]}, status)


def answer(data: Mapping[str, Any], status: int = 200) -> Response:
    """A JSON answer with ``status``, digits of ``Decimal`` values kept exact."""
    return Response(status, wire.encode(data))


def refusal(code: str, message: str, status: int) -> Response:
    """PayMaster's error body ``{code, message, errors}`` under ``status``."""
    return answer({"code": code, "message": message, "errors": [message]}, status)


def body_of(request: Request) -> dict[str, Any]:
    """The request's JSON object; ``validation_error`` when it is not one."""
    if "application/json" not in request.headers.get("content-type", ""):
        raise Refused("validation_error", "Content-Type must be application/json")
    try:
        body = wire.decode(request.body)
    except ValueError as exc:
        raise Refused("validation_error", "the body is not JSON") from exc
    if not isinstance(body, dict):
        raise Refused("validation_error", "the body is not a JSON object")
    return body


def idempotency_key(request: Request) -> str:
    """The request's ``Idempotency-Key``; the fake insists on one."""
    key = request.headers.get("idempotency-key", "").strip()
    if not key:  # PayMaster makes it optional; payterm always sends it, so the fake insists
        raise Refused("validation_error", "Idempotency-Key header is required by this fake")
    return key


def object_at(body: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """The object under ``key``; ``validation_error`` naming it when absent."""
    value = body.get(key)
    if not isinstance(value, dict):
        raise Refused("validation_error", f"Specify required {key[0].upper()}{key[1:]} value.")
    return value


def string_at(body: Mapping[str, Any], key: str, label: str) -> str:
    """The non-blank text under ``key``; ``validation_error`` naming ``label``."""
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise Refused("validation_error", f"Specify required {label} value.")
    return value


def money_of(data: object) -> Money:
    """An ``amount`` object as Money: positive, RUB, whole kopecks."""
    try:
        money = wire.amount_of(data)
    except wire.WireError as exc:
        raise Refused("validation_error", f"Amount is not valid: {exc}") from exc
    if money.amount_minor <= 0:
        raise Refused("validation_error", "Amount must be greater than zero")
    if money.currency != "RUB":
        raise Refused("validation_error", "SBP accepts RUB only")
    return money


def time_of(raw: str | None, label: str) -> datetime:
    """An ISO 8601 time with its zone; ``validation_error`` naming ``label``."""
    try:
        moment = datetime.fromisoformat((raw or "").replace("Z", "+00:00"))
    except ValueError as exc:
        raise Refused("validation_error", f"Specify required {label} value.") from exc
    if moment.tzinfo is None:
        raise Refused("validation_error", f"{label} must carry a time zone")
    return moment


def expires_of(raw: object) -> str | None:
    """``invoice.expires`` as given, when it lies in the future."""
    if raw is None:
        return None
    if not isinstance(raw, str) or time_of(raw, "Invoice.Expires") <= now():
        raise Refused("validation_error", "Invoice.Expires must be in the future")
    return raw


def optional(value: object) -> str | None:
    """``value`` as text, or None."""
    return None if value is None else str(value)


def now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


def payment_id(record: LedgerRecord) -> str:
    """PayMaster ids are numbers: the ledger's hex payment id read as one."""
    return str(int(record.payment_id, 16))


def digits(seed: str) -> str:
    """A stable number made from ``seed``, for ids of refunds and stickers."""
    return str(int(hashlib.sha256(seed.encode()).hexdigest()[:12], 16))
