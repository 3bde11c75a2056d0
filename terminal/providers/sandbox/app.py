"""The sandbox protocol: routes JSON requests under ``/v1/`` and ``/control/`` to the ledger."""

from __future__ import annotations

import hmac
import logging
from typing import Any, TypeGuard, cast, get_args
from urllib.parse import unquote

from terminal.payment import mask_code
from terminal.providers.loopback_http import Request, Response
from terminal.providers.sandbox.ledger import CustomerAction, LedgerRefusal, SandboxLedger

__all__ = ["SandboxApp"]

logger = logging.getLogger(__name__)

MAX_ID_CHARS = 128
CUSTOMER_ACTIONS: tuple[str, ...] = get_args(CustomerAction)


class _BadRequest(Exception):
    """The request body is not what the protocol expects."""


class SandboxApp:
    """The sandbox's request handler (``(Request) -> Response``) over a :class:`SandboxLedger`.

    With ``api_key`` set, every ``/v1/`` request needs ``Authorization: Bearer <key>``.
    ``/control/`` requests never need it. ``/control/behaviour`` belongs to the HTTP server.
    """

    def __init__(self, ledger: SandboxLedger, *, api_key: str | None = None) -> None:
        self.ledger = ledger
        self._api_key = api_key

    async def __call__(self, request: Request) -> Response:
        """Answer one request."""
        segments = [unquote(part) for part in request.path.strip("/").split("/")]
        try:
            if segments[0] == "control":
                return self._control(request, segments[1:])
            if segments[0] == "v1":
                if not self._authorized(request):
                    return Response.json({"error": "unauthorized"}, 401)
                return self._v1(request, segments[1:])
        except _BadRequest as exc:
            return Response.json({"error": "bad_request", "message": str(exc)}, 400)
        except LedgerRefusal as exc:
            return Response.json(exc.to_json(), exc.http_status)
        return _not_found()

    def __repr__(self) -> str:
        auth = "with key" if self._api_key else "open"
        return f"<SandboxApp {self.ledger.path} {auth}>"

    # -- /v1/ ------------------------------------------------------------------------

    def _v1(self, request: Request, route: list[str]) -> Response:
        match (request.method, route):
            case ("POST", ["invoices"]):
                return self._create_invoice(_body(request))
            case ("POST", ["payments"]):
                return self._pay_with_code(_body(request))
            case ("GET", ["payments", order_id]):
                record = self.ledger.get(order_id)
                return _not_found() if record is None else Response.json(record.to_json())
            case ("POST", ["payments", order_id, "cancel"]):
                logger.info("sandbox:cancel order=%s", order_id)
                return Response.json(self.ledger.cancel(order_id).to_json())
            case ("POST", ["refunds"]):
                return self._refund(_body(request))
        return _not_found()

    def _create_invoice(self, body: dict[str, Any]) -> Response:
        order_id, amount_minor, currency = _order_fields(body)
        description = _text(body, "description", required=False)
        logger.info("sandbox:invoice order=%s amount=%d %s", order_id, amount_minor, currency)
        record = self.ledger.create(
            order_id, amount_minor, currency, flow="mpm", description=description
        )
        return Response.json(record.to_json())

    def _pay_with_code(self, body: dict[str, Any]) -> Response:
        order_id, amount_minor, currency = _order_fields(body)
        code = _text(body, "code")
        logger.info(
            "sandbox:payment order=%s amount=%d %s code=%s",
            order_id,
            amount_minor,
            currency,
            mask_code(code),
        )
        record = self.ledger.create(order_id, amount_minor, currency, flow="cpm", code=code)
        return Response.json(record.to_json())

    def _refund(self, body: dict[str, Any]) -> Response:
        order_id = _identifier(body, "order_id")
        refund_id = _identifier(body, "refund_id")
        amount_minor = _amount(body)
        logger.info(
            "sandbox:refund order=%s refund=%s amount=%d", order_id, refund_id, amount_minor
        )
        return Response.json(self.ledger.refund(order_id, refund_id, amount_minor).to_json())

    def _authorized(self, request: Request) -> bool:
        if self._api_key is None:
            return True
        expected = f"Bearer {self._api_key}".encode()
        given = request.headers.get("authorization", "").encode("utf-8", "replace")
        return hmac.compare_digest(given, expected)

    # -- /control/ ---------------------------------------------------------------------

    def _control(self, request: Request, route: list[str]) -> Response:
        match (request.method, route):
            case ("POST", ["customer"]):
                return self._customer(_body(request))
            case ("GET", ["ledger"]):
                return Response.json(self.ledger.snapshot())
        return _not_found()

    def _customer(self, body: dict[str, Any]) -> Response:
        action = body.get("action")
        if action not in CUSTOMER_ACTIONS:
            raise _BadRequest(f"action must be one of {', '.join(CUSTOMER_ACTIONS)}")
        order_id = _identifier(body, "order_id") if body.get("order_id") is not None else None
        record = self.ledger.customer(cast(CustomerAction, action), order_id)
        if record is None:
            return Response.json({"error": "no pending payment"}, 404)
        logger.info("sandbox:customer %s order=%s", action, record.order_id)
        return Response.json(record.to_json())


def _not_found() -> Response:
    return Response.json({"error": "not_found"}, 404)


def _body(request: Request) -> dict[str, Any]:
    try:
        body = request.json()
    except ValueError as exc:
        raise _BadRequest("the body is not JSON") from exc
    if not isinstance(body, dict):
        raise _BadRequest("the body must be a JSON object")
    return body


def _order_fields(body: dict[str, Any]) -> tuple[str, int, str]:
    currency = body.get("currency")
    if not _is_currency(currency):
        raise _BadRequest("currency must be a 3-letter ISO 4217 code")
    return _identifier(body, "order_id"), _amount(body), currency


def _is_currency(value: object) -> TypeGuard[str]:
    return (
        isinstance(value, str)
        and len(value) == 3
        and value.isascii()
        and value.isalpha()
        and value.isupper()
    )


def _identifier(body: dict[str, Any], key: str) -> str:
    value = _text(body, key)
    if not value or len(value) > MAX_ID_CHARS or not value.isprintable():
        raise _BadRequest(f"{key} must be 1 to {MAX_ID_CHARS} printable characters")
    return value


def _text(body: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = body.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise _BadRequest(f"{key} must be a string")
    return value


def _amount(body: dict[str, Any]) -> int:
    value = body.get("amount_minor")
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise _BadRequest("amount_minor must be a positive integer")
    return value
