"""A loopback fake of a Sendy POS server, speaking the assumed wire of ``sendy_codec``.

Payments live in the shared :class:`~terminal.providers.sandbox.ledger.SandboxLedger`;
the server's own books (the through-numbering counter, shifts, each order's numbers and
service) live in a small JSON file next to the ledger, so they survive a restart.
It checks every request's signature (401, unsigned, when wrong) and signs its answers,
wrongly while ``signatures_valid`` is False. Activation accepts the demo code
:attr:`SendyFake.DEMO_ACTIVATION_CODE` (or the secret ``activation_code``), three
wrong attempts void it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from terminal.payment import mask_code
from terminal.providers.fake_app import FakeProviderApp
from terminal.providers.loopback_http import Request, Response
from terminal.providers.sandbox.ledger import LedgerRecord, LedgerRefusal, SandboxLedger
from terminal.providers.sendy import codec as wire

__all__ = ["SendyFake", "QR_SHAPES"]

log = logging.getLogger(__name__)

#: What an online-mode token QR looks like per service (the token is the payment id).
QR_SHAPES = {
    "sendy": "https://sendy.land/pay/{token}",  # assumed
    "wechat": "weixin://wxpay/bizpayurl?pr={token}",  # WeChat Native Pay code_url shape
    "alipay": "https://qr.alipay.com/{token}",  # Alipay precreate qr_code shape
}
#: The ledger's statuses as Sendy's words.
_WORDS = {status.value: word for word, status in wire.STATUS_MAP.items()}
_WECHAT_PREFIXES = ("10", "11", "12", "13", "14", "15")  # 18-digit WeChat payment codes
MAX_ID_CHARS = 128

Outcome = tuple[int, str, Mapping[str, object]]


class _BadRequest(Exception):
    """The request is not what the protocol expects."""


class SendyFake(FakeProviderApp):
    """The Sendy fake: ``(Request) -> Response`` over the ledger, on the assumed wire."""

    DEMO_OPTIONS: Mapping[str, str] = {"terminal_id": "SENDY-DEMO-0001"}
    DEMO_SECRETS: Mapping[str, str] = {"terminal_key": "sendy-demo-terminal-key-NOT-SECRET"}
    #: The activation code the fake accepts when the secrets name none.
    DEMO_ACTIVATION_CODE = "2468-1357-DEMO"
    #: Where the requests that create a payment go. Each payment is preceded by a
    #: counters request under ``/v1/`` too, so a misbehaviour meant for the payment
    #: itself must be limited to this prefix.
    CHARGE_PATHS_PREFIX = wire.API_ROOT + "pos/payment/"

    def __init__(
        self,
        ledger: SandboxLedger,
        *,
        options: Mapping[str, str] | None = None,
        secrets: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(ledger, options=options, secrets=secrets)
        self.terminal_id = self.options["terminal_id"]
        self.books = _Books(ledger.path.with_name(f"{ledger.path.name}.sendy.json"))
        self.activation_failures = 0

    @property
    def terminal_key(self) -> str:
        """The key the terminal signs with (what activation hands out)."""
        return self.secrets["terminal_key"]

    async def handle(self, request: Request) -> Response:
        """Answer one request on the Sendy paths."""
        op = _operation(request)
        if op is None:
            return _unsigned(wire.ErrNo.BAD_REQUEST, "no such operation", 404)
        if op == "activate":
            return self._activate(request)
        refusal = self._authenticate(request)
        if refusal is not None:
            return refusal
        nonce = request.headers[wire.NONCE_HEADER.lower()]
        try:
            body = _body(request)
            if body.get("terminal_id") != self.terminal_id:
                raise _BadRequest("terminal_id differs from the signed header")
            err_no, err_msg, data = self._dispatch(op, body)
        except _BadRequest as exc:
            return self._signed(
                nonce, self.terminal_key, (wire.ErrNo.BAD_REQUEST, str(exc), {}), 400
            )
        return self._signed(nonce, self.terminal_key, (err_no, err_msg, data))

    # -- operations ------------------------------------------------------------------

    def _dispatch(self, op: str, body: dict[str, Any]) -> Outcome:
        if op == "counters":
            counters = self.books.reserve(_identifier(body, "order_id"))
            return wire.ErrNo.OK, "", counters.to_data()
        if op in ("offline", "online"):
            return self._pay(op, body)
        if op == "status":
            record = self.ledger.get(_identifier(body, "order_id"))
            if record is None:
                return wire.ErrNo.NOT_FOUND, "no payment under this order id", {}
            return wire.ErrNo.OK, "", self._payment(record)
        if op == "cancel":
            return self._cancel(_identifier(body, "order_id"))
        return self._close_shift(body)

    def _pay(self, op: str, body: dict[str, Any]) -> Outcome:
        order_id = _identifier(body, "order_id")
        numbers = self.books.numbers(order_id)
        given = (_whole(body, "transaction_no"), _whole(body, "shift_no"))
        if numbers is None or given != numbers[:2]:
            raise _BadRequest("transaction_no and shift_no were not handed out for this order")
        amount, currency = _whole(body, "amount"), _currency(body)
        description = _text(body, "description", required=False)
        try:
            if op == "offline":
                code = _text(body, "qr")
                log.info("fake-sendy:offline order=%s code=%s", order_id, mask_code(code))
                record = self.ledger.create(order_id, amount, currency, flow="cpm", code=code,
                                            description=description)  # fmt: skip
                self.books.set_service(order_id, _service_of(code))
            else:
                service = _text(body, "service")
                if service not in wire.SERVICES:
                    raise _BadRequest(f"service must be one of {', '.join(wire.SERVICES)}")
                log.info("fake-sendy:online order=%s service=%s", order_id, service)
                record = self.ledger.create(order_id, amount, currency, flow="mpm",
                                            description=description)  # fmt: skip
                self.books.set_service(order_id, service)
        except LedgerRefusal:
            return wire.ErrNo.CONFLICT, "order id already used with another amount or mode", {}
        return wire.ErrNo.OK, "", self._payment(record)

    def _cancel(self, order_id: str) -> Outcome:
        try:
            record = self.ledger.cancel(order_id)
        except LedgerRefusal as refusal:
            if refusal.error == "not_found":
                return wire.ErrNo.NOT_FOUND, "no payment under this order id", {}
            paid = self.ledger.get(order_id)  # already paid: it stays paid
            assert paid is not None
            record = paid
        log.info("fake-sendy:cancel order=%s status=%s", order_id, record.status)
        return wire.ErrNo.OK, "", self._payment(record)

    def _close_shift(self, body: dict[str, Any]) -> Outcome:
        shift_no = body.get("shift_no")
        if shift_no is not None:
            shift_no = _whole(body, "shift_no")
        totals = self.books.close(self.ledger, shift_no)
        log.info("fake-sendy:close_shift %s", totals.to_data())
        err_no = wire.ErrNo.OK if totals.closed else wire.ErrNo.SHIFT_NOT_OPEN
        return err_no, "" if totals.closed else "no open shift", totals.to_data()

    def _payment(self, record: LedgerRecord) -> dict[str, object]:
        numbers = self.books.numbers(record.order_id)
        if numbers is None:
            raise _BadRequest("the server's books have no numbers for this order")
        transaction_no, shift_no, service = numbers
        qr = QR_SHAPES[service].format(token=record.payment_id) if record.flow == "mpm" else None
        payment = wire.SendyPayment(
            record.order_id, _WORDS[record.status], transaction_no, shift_no,
            record.amount_minor, record.currency, service, qr, record.message,
        )  # fmt: skip
        return payment.to_data()

    # -- activation ------------------------------------------------------------------

    def _activate(self, request: Request) -> Response:
        """Activation: the request is signed with the activation code; three wrong tries void it."""
        nonce = request.headers.get(wire.NONCE_HEADER.lower(), "")
        try:
            terminal_id = _identifier(_body(request), "terminal_id")
        except _BadRequest as exc:
            return _unsigned(wire.ErrNo.BAD_REQUEST, str(exc), 400)
        if terminal_id != self.terminal_id:
            return _unsigned(wire.ErrNo.UNKNOWN_TERMINAL, "unknown terminal id", 200)
        if self.activation_failures >= 3:
            return _unsigned(wire.ErrNo.ACTIVATION_CODE_VOID, "activation code is void", 200)
        code = self.secrets.get("activation_code", self.DEMO_ACTIVATION_CODE)
        if not self._signature_ok(request, code):
            self.activation_failures += 1
            left = 3 - self.activation_failures
            if left == 0:
                return _unsigned(wire.ErrNo.ACTIVATION_CODE_VOID, "activation code is void", 200)
            data: dict[str, object] = {"attempts_left": left}
            return _unsigned(wire.ErrNo.ACTIVATION_CODE_WRONG, "wrong activation code", 200, data)
        log.info("fake-sendy:activated terminal=%s", terminal_id)
        granted: dict[str, object] = {"terminal_id": terminal_id, "terminal_key": self.terminal_key}
        return self._signed(nonce, code, (wire.ErrNo.OK, "", granted))

    # -- signatures ------------------------------------------------------------------

    def _authenticate(self, request: Request) -> Response | None:
        """None when the request is a signed POST from our terminal; else the 401 refusal."""
        if request.method != "POST":
            return _unsigned(wire.ErrNo.BAD_REQUEST, "POST only", 405)
        if request.headers.get(wire.TERMINAL_HEADER.lower()) != self.terminal_id:
            return _unsigned(wire.ErrNo.UNKNOWN_TERMINAL, "unknown terminal id", 401)
        if not self._signature_ok(request, self.terminal_key):
            log.warning("fake-sendy:refused a badly signed request to %s", request.path)
            return _unsigned(wire.ErrNo.BAD_SIGNATURE, "bad request signature", 401)
        return None

    def _signature_ok(self, request: Request, key: str) -> bool:
        nonce = request.headers.get(wire.NONCE_HEADER.lower(), "")
        if not nonce:
            return False
        expected = wire.request_signature(key, request.method, request.path, nonce, request.body)
        return wire.signature_matches(expected, request.headers.get(wire.SIGNATURE_HEADER.lower()))

    def _signed(self, nonce: str, key: str, outcome: Outcome, status: int = 200) -> Response:
        err_no, err_msg, data = outcome
        body = wire.encode_envelope(err_no, err_msg, data)
        signing_key = key if self.signatures_valid else f"{key}-but-wrong"
        signature = wire.response_signature(signing_key, nonce, body)
        return Response(status, body, headers=((wire.SIGNATURE_HEADER, signature),))


class _Books:
    """The server's own books: through-numbers, shifts, and each order's numbers and service."""

    def __init__(self, path: Path) -> None:
        self.path = path
        saved = json.loads(path.read_text("utf-8")) if path.exists() else {}
        self.next_transaction: int = saved.get("next_transaction", 1)
        self.shift_no: int = saved.get("shift_no", 0)
        self.shift_open: bool = saved.get("shift_open", False)
        self.orders: dict[str, list[Any]] = saved.get("orders", {})
        self.closed: dict[str, dict[str, Any]] = saved.get("closed", {})

    def reserve(self, order_id: str) -> wire.Counters:
        """Hand out the current transaction number and advance the counter; the same on a repeat."""
        known = self.orders.get(order_id)
        if known is not None:
            return wire.Counters(known[0], known[1])
        opened = not self.shift_open
        if opened:
            self.shift_no, self.shift_open = self.shift_no + 1, True
        counters = wire.Counters(self.next_transaction, self.shift_no, opened)
        self.orders[order_id] = [counters.transaction_no, counters.shift_no, "sendy"]
        self.next_transaction += 1
        self._save()
        return counters

    def numbers(self, order_id: str) -> tuple[int, int, str] | None:
        """The transaction number, shift number and service of ``order_id``."""
        known = self.orders.get(order_id)
        return None if known is None else (int(known[0]), int(known[1]), str(known[2]))

    def set_service(self, order_id: str, service: str) -> None:
        """Remember the service that pays ``order_id``."""
        if self.orders[order_id][2] != service:
            self.orders[order_id][2] = service
            self._save()

    def close(self, ledger: SandboxLedger, shift_no: int | None) -> wire.ShiftTotals:
        """Close the open shift, counting only paid payments; a closed one answers again."""
        if shift_no is not None and str(shift_no) in self.closed:
            return wire.ShiftTotals.from_data(self.closed[str(shift_no)])
        if not self.shift_open or (shift_no is not None and shift_no != self.shift_no):
            return wire.ShiftTotals(self.shift_no, False, 0, 0, "")
        in_shift = [
            order_id for order_id, known in self.orders.items() if known[1] == self.shift_no
        ]
        records = [ledger.get(order_id) for order_id in in_shift]
        paid = [record for record in records if record is not None and record.status == "paid"]
        currency = paid[0].currency if paid else ""
        amount = sum(record.amount_minor for record in paid)
        totals = wire.ShiftTotals(self.shift_no, True, len(paid), amount, currency)
        self.closed[str(self.shift_no)] = totals.to_data()
        self.shift_open = False
        self._save()
        return totals

    def _save(self) -> None:
        state = {
            "next_transaction": self.next_transaction,
            "shift_no": self.shift_no,
            "shift_open": self.shift_open,
            "orders": self.orders,
            "closed": self.closed,
        }
        temporary = self.path.with_name(f"{self.path.name}.tmp")
        temporary.write_text(json.dumps(state), "utf-8")
        os.replace(temporary, self.path)


def _operation(request: Request) -> str | None:
    path = request.path
    if not path.startswith(wire.API_ROOT):
        return None
    tail = path[len(wire.API_ROOT) :]
    return next((op for op, where in wire.PATHS.items() if where == tail), None)


def _unsigned(
    err_no: int, err_msg: str, status: int, data: Mapping[str, object] | None = None
) -> Response:
    return Response(status, wire.encode_envelope(err_no, err_msg, data))


def _service_of(code: str) -> str:
    """Which app showed the code: WeChat's 18-digit codes, else Sendy's own."""
    is_wechat = len(code) == 18 and code.isdigit() and code.startswith(_WECHAT_PREFIXES)
    return "wechat" if is_wechat else "sendy"


def _body(request: Request) -> dict[str, Any]:
    try:
        body = request.json()
    except ValueError as exc:
        raise _BadRequest("the body is not JSON") from exc
    if not isinstance(body, dict):
        raise _BadRequest("the body must be a JSON object")
    return body


def _text(body: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = body.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise _BadRequest(f"{key} must be text")
    return value


def _identifier(body: dict[str, Any], key: str) -> str:
    value = _text(body, key)
    if not value or len(value) > MAX_ID_CHARS or not value.isprintable():
        raise _BadRequest(f"{key} must be 1 to {MAX_ID_CHARS} printable characters")
    return value


def _whole(body: dict[str, Any], key: str) -> int:
    value = body.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise _BadRequest(f"{key} must be a positive whole number")
    return value


def _currency(body: dict[str, Any]) -> str:
    value = _text(body, "currency")
    if len(value) != 3 or not (value.isascii() and value.isalpha() and value.isupper()):
        raise _BadRequest("currency must be a 3-letter ISO 4217 code")
    return value
