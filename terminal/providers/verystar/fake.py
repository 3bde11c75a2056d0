"""A loopback fake of Verystar (VeryPay v3) over the sandbox ledger, speaking its wire format.

Form POSTs on the five VeryPay paths (or the paths the ``url_*`` options name), each
checked like the real service would: ``app_key``, ``time`` in seconds, and ``sign`` =
md5(sorted non-empty ``k=v`` + app_secret). A request that fails a check gets a signed
error answer (``retcode`` 10001 app_key, 10003 sign, 10002 parameter). Answers are
``{retcode, msg, data, sign}`` signed over ``data``; wrongly while
``signatures_valid`` is False. The terminal's order id is recovered from ``out_sn`` so the
ledger (and ``/control/customer``) speak in the terminal's ids. Codes and status words
are those of :mod:`terminal.providers.verystar.codec` (assumed, like the driver's).

A refund repeated under a booked ``refund_out_sn`` gets the first refund again, as the
public record reads ("the same refund_out_sn refunds once"); switched to ``refuse``
(``POST /control/refunds``) it gets the refund-number conflict code instead.
"""

from __future__ import annotations

import hmac
import logging
import zlib
from collections.abc import Callable, Mapping
from urllib.parse import parse_qsl, urlsplit

from terminal.payment import mask_code
from terminal.providers.fake_app import FakeProviderApp
from terminal.providers.loopback_http import Request, Response
from terminal.providers.sandbox.ledger import LedgerRecord, LedgerRefusal, SandboxLedger
from terminal.providers.verystar import codec as codec
from terminal.providers.verystar.codec import Refusal
from terminal.providers.verystar.out_sn import (
    MAX_OUT_SN_CHARS,
    MAX_REFUND_OUT_SN_CHARS,
    order_id_from_out_sn,
    out_sn_for,
)
from terminal.providers.verystar.settings import Endpoint
from terminal.providers.verystar.signing import sign_params

__all__ = ["VerystarFake"]

log = logging.getLogger(__name__)

_Handler = Callable[[dict[str, str]], Response]

#: Sandbox-ledger refusals of a refund, as VeryPay refusals.
_REFUND_REFUSALS = {
    "not_found": Refusal.NOT_FOUND,
    "not_paid": Refusal.NOT_PAID,
    "exceeds": Refusal.EXCEEDS,
    "conflict": Refusal.REFUND_CONFLICT,
}


class _Refused(Exception):
    """The fake refuses a request with ``retcode`` and ``msg``."""

    def __init__(self, retcode: int, msg: str) -> None:
        super().__init__(msg)
        self.retcode = retcode
        self.msg = msg


class VerystarFake(FakeProviderApp):
    """VeryPay's five calls over a :class:`SandboxLedger`; doubles as the Verystar sandbox."""

    DEMO_OPTIONS: Mapping[str, str] = {
        "app_key": "demo-verystar-app-key",
        "store_sn": "10001",
        "client_sn": "10001",
        "currency": "any",  # the sandbox takes the demo terminal's currency, whatever it is
    }
    DEMO_SECRETS: Mapping[str, str] = {"app_secret": "demo-verystar-secret-not-for-production"}

    def __init__(
        self,
        ledger: SandboxLedger,
        *,
        options: Mapping[str, str] | None = None,
        secrets: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(ledger, options=options, secrets=secrets)
        self._app_key = self.options.get("app_key") or self.secrets.get("app_key", "")
        self._secret = self.secrets.get("app_secret", "")
        currency = self.options.get("currency", "CNY")
        self._currency = currency if len(currency) == 3 and currency.isalpha() else "CNY"
        handlers: dict[Endpoint, _Handler] = {
            Endpoint.PAY: self._micropay,
            Endpoint.UNIT_PAYMENT: self._unifiedorder,
            Endpoint.ORDER_QUERY: self._orderquery,
            Endpoint.REFUND: self._refund,
            Endpoint.CLOSE_ORDER: self._closeorder,
        }
        self._channels: dict[str, str] = {}  # order id -> unified order's channel
        self._routes = {"/" + endpoint.default_path: h for endpoint, h in handlers.items()}
        self._routes.update({_path(self.options, ep): h for ep, h in handlers.items()})

    def __repr__(self) -> str:
        return f"<VerystarFake {self.ledger.path} paths={sorted(self._routes)}>"

    async def handle(self, request: Request) -> Response:
        """Answer one VeryPay call."""
        handler = self._routes.get(request.path)
        if handler is None:
            return Response.text("404 page not found\n", 404)
        if request.method != "POST":
            return Response.text("405 method not allowed\n", 405)
        try:
            return handler(self._checked_form(request))
        except _Refused as refused:
            log.info("fake:verystar refused %s: %s", request.path, refused.msg)
            return self._answer(refused.retcode, refused.msg)

    # -- the five calls ----------------------------------------------------------------

    def _micropay(self, form: dict[str, str]) -> Response:
        out_sn, fee = _out_sn(form), _fee(form, "total_fee")
        code = _required(form, "auth_code")
        log.info("fake:verystar micropay out_sn=%s fee=%d code=%s", out_sn, fee, mask_code(code))
        record = self._create(out_sn, fee, "cpm", form, code)
        return self._order_answer(record, out_sn, channel=_channel_of_code(code))

    def _unifiedorder(self, form: dict[str, str]) -> Response:
        out_sn, fee = _out_sn(form), _fee(form, "total_fee")
        channel = form.get("channel") or codec.CHANNEL_WECHAT
        log.info("fake:verystar unifiedorder out_sn=%s fee=%d channel=%s", out_sn, fee, channel)
        record = self._create(out_sn, fee, "mpm", form, "")
        self._channels.setdefault(record.order_id, channel)
        return self._order_answer(record, out_sn)

    def _orderquery(self, form: dict[str, str]) -> Response:
        record, out_sn = self._find(form)
        return self._order_answer(self.as_seen(record), out_sn)

    def _closeorder(self, form: dict[str, str]) -> Response:
        _, out_sn = self._find(form)
        log.info("fake:verystar closeorder out_sn=%s", out_sn)
        try:
            record = self.ledger.cancel(order_id_from(out_sn))
        except LedgerRefusal as exc:
            refusal = Refusal.ALREADY_PAID if exc.error == "already_paid" else Refusal.NOT_FOUND
            raise _refused(refusal) from exc
        return self._order_answer(record, out_sn)

    def _refund(self, form: dict[str, str]) -> Response:
        record, out_sn = self._find(form)
        fee = _fee(form, "refund_fee")
        refund_out_sn = _required(form, "refund_out_sn")
        if not refund_out_sn.isalnum() or len(refund_out_sn) > MAX_REFUND_OUT_SN_CHARS:
            raise _Refused(codec.BAD_REQUEST_RETCODE, "refund_out_sn: letters and digits only")
        log.info(
            "fake:verystar refund out_sn=%s refund_out_sn=%s fee=%d", out_sn, refund_out_sn, fee
        )
        if self.refuses_repeat(order_id_from(refund_out_sn)):
            raise _refused(Refusal.REFUND_CONFLICT)
        try:
            done = self.ledger.refund(record.order_id, order_id_from(refund_out_sn), fee)
        except LedgerRefusal as exc:
            raise _refused(_REFUND_REFUSALS.get(exc.error, Refusal.NOT_PAID)) from exc
        order_sn = _order_sn(record.payment_id)
        data: dict[str, object] = {
            "order_sn": order_sn,
            "out_sn": out_sn,
            "refund_out_sn": refund_out_sn,
            "refund_fee": done.amount_minor,
            "refund_sn": f"{order_sn}R{zlib.crc32(refund_out_sn.encode()):010d}",
        }
        return self._answer(0, "ok", data)

    # -- ledger ------------------------------------------------------------------------

    def _create(
        self, out_sn: str, fee: int, flow: str, form: dict[str, str], code: str
    ) -> LedgerRecord:
        try:
            return self.ledger.create(
                order_id_from(out_sn),
                fee,
                self._currency,
                flow="cpm" if flow == "cpm" else "mpm",
                description=form.get("body", ""),
                code=code,
            )
        except LedgerRefusal as exc:
            raise _refused(Refusal.OUT_SN_CONFLICT) from exc

    def _find(self, form: dict[str, str]) -> tuple[LedgerRecord, str]:
        """The record named by ``order_sn`` (it wins) or ``out_sn``, and its out_sn."""
        order_sn = form.get("order_sn", "")
        if order_sn:
            for record in self.ledger.payments():
                if _order_sn(record.payment_id) == order_sn:
                    return record, _out_sn_of(record)
            raise _refused(Refusal.NOT_FOUND)
        out_sn = _out_sn(form)
        found = self.ledger.get(order_id_from(out_sn))
        if found is None:
            raise _refused(Refusal.NOT_FOUND)
        return found, out_sn

    # -- answers -----------------------------------------------------------------------

    def _order_answer(self, record: LedgerRecord, out_sn: str, *, channel: str = "") -> Response:
        """The order as data; a pending QR order carries its QR text (in a query too)."""
        extra: dict[str, str] = {}
        if record.flow == "mpm":
            default = self.options.get("channel") or codec.CHANNEL_WECHAT
            channel = self._channels.get(record.order_id, default)
            if record.status == "pending":
                extra["code_url"] = _qr_payload(channel, record.payment_id)
        data: dict[str, object] = {
            "order_sn": _order_sn(record.payment_id),
            "out_sn": out_sn,
            "store_sn": self.options.get("store_sn", ""),
            "client_sn": self.options.get("client_sn", ""),
            "total_fee": record.amount_minor,
            "trade_state": codec.trade_state_for(record.status, record.flow),
            **({"channel": channel} if channel else {}),
            **extra,
        }
        return self._answer(0, record.message or "ok", data)

    def _answer(self, retcode: int, msg: str, data: Mapping[str, object] | None = None) -> Response:
        """A signed answer (signed wrongly while ``signatures_valid`` is False)."""
        secret = self._secret if self.signatures_valid else f"{self._secret}-wrong"
        body = {
            "retcode": retcode,
            "msg": msg,
            "data": dict(data) if data else [],  # PHP sends an empty array as []
            "sign": sign_params(data or {}, secret),
        }
        return Response.json(body)

    def _checked_form(self, request: Request) -> dict[str, str]:
        """The form's fields once ``app_key``, ``time`` and ``sign`` pass."""
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("application/x-www-form-urlencoded"):
            raise _Refused(codec.BAD_REQUEST_RETCODE, "the body must be a URL-encoded form")
        try:
            form = dict(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError as exc:
            raise _Refused(codec.BAD_REQUEST_RETCODE, "the form is not UTF-8") from exc
        given_key = form.get("app_key", "")
        if not hmac.compare_digest(given_key.encode(), self._app_key.encode()):
            raise _Refused(codec.APP_KEY_RETCODE, "app_key错误 (wrong app_key)")
        stamp = form.get("time", "")
        if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 10):
            raise _Refused(codec.BAD_REQUEST_RETCODE, "time must be unix seconds")
        expected = sign_params(form, self._secret)
        if not hmac.compare_digest(form.get("sign", "").encode(), expected.encode()):
            raise _Refused(codec.SIGN_RETCODE, "签名错误 (wrong sign)")
        for key in ("store_sn", "client_sn"):
            if form.get(key, "") != self.options.get(key, ""):
                raise _Refused(codec.BAD_REQUEST_RETCODE, f"{key}: no such store or terminal")
        return form


def _path(options: Mapping[str, str], endpoint: Endpoint) -> str:
    value = options.get(endpoint.option, "").strip() or endpoint.default_path
    parts = urlsplit(value)
    return parts.path if parts.scheme else "/" + value.lstrip("/")


def order_id_from(out_sn: str) -> str:
    """The terminal's id behind ``out_sn``; a number not made by the terminal is kept as is."""
    try:
        return order_id_from_out_sn(out_sn)
    except ValueError:
        return out_sn


def _out_sn_of(record: LedgerRecord) -> str:
    return out_sn_for(record.order_id)


def _out_sn(form: dict[str, str]) -> str:
    out_sn = _required(form, "out_sn")
    if not out_sn.isascii() or not out_sn.isalnum() or len(out_sn) > MAX_OUT_SN_CHARS:
        raise _Refused(codec.BAD_REQUEST_RETCODE, "out_sn: up to 64 letters and digits")
    return out_sn


def _fee(form: dict[str, str], key: str) -> int:
    value = _required(form, key)
    if not (value.isascii() and value.isdigit() and int(value) > 0):
        raise _Refused(codec.BAD_REQUEST_RETCODE, f"{key} must be a positive integer of fen")
    return int(value)


def _required(form: dict[str, str], key: str) -> str:
    value = form.get(key, "")
    if not value:
        raise _Refused(codec.BAD_REQUEST_RETCODE, f"{key} is required")
    return value


def _refused(refusal: Refusal) -> _Refused:
    return _Refused(codec.refusal_retcode(refusal), codec.REFUSAL_MESSAGES[refusal])


def _order_sn(payment_id: str) -> str:
    """VeryPay-looking order number (22 digits) made from the ledger's payment id."""
    return f"31{int(payment_id, 16):020d}"


def _qr_payload(channel: str, payment_id: str) -> str:
    """A QR text of the channel's own shape, short enough for a 128x64 display."""
    if channel == codec.CHANNEL_ALIPAY:
        return f"https://qr.alipay.com/bax0{payment_id}"
    return f"weixin://wxpay/bizpayurl?pr={payment_id[:7]}"


def _channel_of_code(code: str) -> str:
    """The wallet of a customer code, by its published prefixes (WeChat 10-15, Alipay 25-30)."""
    head = code[:2]
    if head.isdigit() and 10 <= int(head) <= 15:
        return codec.CHANNEL_WECHAT
    if head.isdigit() and 25 <= int(head) <= 30:
        return codec.CHANNEL_ALIPAY
    return ""
