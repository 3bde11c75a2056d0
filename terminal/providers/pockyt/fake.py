"""A loopback fake of Pockyt's in-store API over the sandbox ledger; it doubles as a Pockyt sandbox.

It checks every request's ``verifySign`` and the merchant and store numbers, answers
``{ret_code, ret_msg, result}`` (refusals with HTTP 400, as Pockyt's documents show), and
while :attr:`signatures_valid` is False puts a wrong ``verifySign`` into every result.

Payments live in the ledger, keyed by ``reference``. A transaction that was only ``add``-ed
(status ``init``, no code yet, no money) is kept in memory until a code pays it. ``cancel``
of a paid transaction refunds it, as Pockyt documents; that refund shows as ``voidAmount``.

Pockyt documents nothing about a refund repeated under the same ``refundReference``: by
default the fake answers the first refund again; switched to ``refuse``
(``POST /control/refunds``) it answers ``000022`` "refundReference already used".
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from terminal.money import Money
from terminal.payment import mask_code
from terminal.providers.fake_app import FakeProviderApp
from terminal.providers.loopback_http import Request, Response
from terminal.providers.pockyt.codec import (
    PATHS,
    decode_body,
    signature_matches,
    verify_sign,
)
from terminal.providers.pockyt.settings import MPM_VENDORS
from terminal.providers.sandbox.ledger import LedgerRecord, LedgerRefusal, SandboxLedger

__all__ = ["PockytFake", "transaction_no"]

log = logging.getLogger(__name__)

CPM_VENDORS = ("alipay", "wechatpay", "wechat", "unionpay")
#: The ledger's statuses in Pockyt's words.
LEDGER_WORDS = {
    "pending": "pending",
    "paid": "success",
    "declined": "failed",
    "expired": "closed",
    "cancelled": "closed",
    "refunded": "success",
}
_Result = tuple[dict[str, str], str]  # the result object and the ret_msg


class _Refused(Exception):
    """Pockyt refuses the request with ``code``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class _Added:
    """A transaction created by ``add`` and not yet paid with a code."""

    reference: str
    amount: Money
    closed: bool = False


class PockytFake(FakeProviderApp):
    """Pockyt's in-store endpoints as ``(Request) -> Response``, over a :class:`SandboxLedger`."""

    DEMO_OPTIONS: Mapping[str, str] = {
        "merchant_no": "900001",
        "store_no": "900002",
        "settle_currency": "USD",
    }
    DEMO_SECRETS: Mapping[str, str] = {"token": "demo-pockyt-token-not-for-production"}

    def __init__(
        self,
        ledger: SandboxLedger,
        *,
        options: Mapping[str, str] | None = None,
        secrets: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(ledger, options=options, secrets=secrets)
        self._token = self.secrets.get("token", "")
        self._prefix = self.options.get("path_prefix", "").rstrip("/")
        self._settle = self.options.get("settle_currency") or "USD"
        self._added: dict[str, _Added] = {}
        self._routes: dict[str, Callable[[dict[str, str]], _Result]] = {
            PATHS["add"]: self._add,
            PATHS["prepay"]: self._pay,
            PATHS["pay"]: self._pay,
            PATHS["qrcode"]: self._create_qrcode,
            PATHS["query"]: self._query,
            PATHS["cancel"]: self._cancel,
            PATHS["refund"]: self._refund,
        }

    def __repr__(self) -> str:
        return f"<PockytFake {self.ledger.path} prefix={self._prefix or '/'}>"

    async def handle(self, request: Request) -> Response:
        """Answer one request on Pockyt's paths (with or without the configured prefix)."""
        route = self._routes.get(self._unprefixed(request.path))
        if request.method != "POST" or route is None:
            return Response.text("Not Found\n", 404)
        try:
            params = self._authentic(request)
            result, message = route(params)
        except _Refused as refusal:
            log.info("fake:pockyt refused %s: %s %s", request.path, refusal.code, refusal.message)
            return Response.json({"ret_code": refusal.code, "ret_msg": refusal.message}, 400)
        if not self.signatures_valid:
            result = {**result, "verifySign": verify_sign(result, f"{self._token}-wrong")}
        return Response.json({"ret_code": "000100", "ret_msg": message, "result": result})

    # -- endpoints -----------------------------------------------------------------------

    def _add(self, params: dict[str, str]) -> _Result:
        reference = _required(params, "reference")
        amount = _money(params, "amount")
        _required(params, "settleCurrency")
        record = self.ledger.get(reference)
        if record is not None:
            if (record.amount_minor, record.currency, record.flow) != (
                amount.amount_minor, amount.currency, "cpm",
            ):  # fmt: skip
                raise _Refused("000022", "reference already used for another transaction")
            return self._with_status(reference, "transactionStatus"), "add success"
        added = self._added.setdefault(reference, _Added(reference, amount))
        if added.amount != amount:
            raise _Refused("000022", "reference already used for another transaction")
        log.info("fake:pockyt add reference=%s %s", reference, amount)
        return self._with_status(reference, "transactionStatus"), "add success"

    def _pay(self, params: dict[str, str]) -> _Result:
        code = _required(params, "paymentBarcode")
        _vendor(params, CPM_VENDORS)
        reference = self._reference_of(params)
        added = self._added.get(reference)
        if added is None or added.closed:
            raise _Refused("000040", "transaction status error: not waiting for a code")
        try:
            amount = added.amount
            self.ledger.create(
                reference, amount.amount_minor, amount.currency, flow="cpm", code=code
            )
        except LedgerRefusal as exc:
            raise _Refused("000022", "reference already used for another transaction") from exc
        del self._added[reference]
        log.info("fake:pockyt pay reference=%s code=%s", reference, mask_code(code))
        return self._with_status(reference, "transactionStatus"), "pay success"

    def _create_qrcode(self, params: dict[str, str]) -> _Result:
        reference = _required(params, "reference")
        amount = _money(params, "amount")
        vendor = _vendor(params, MPM_VENDORS)
        _required(params, "settleCurrency")
        timeout = params.get("timeout") or "120"
        if not timeout.isdigit() or int(timeout) < 1:
            raise _Refused("000023", "timeout must be a whole number of minutes")
        if reference in self._added:
            raise _Refused("000022", "reference already used for another transaction")
        try:
            self.ledger.create(reference, amount.amount_minor, amount.currency, flow="mpm")
        except LedgerRefusal as exc:
            raise _Refused("000022", "reference already used for another transaction") from exc
        log.info("fake:pockyt qrcode reference=%s %s %s", reference, amount, vendor)
        link = deep_link(vendor, reference)
        result = {
            **self._fields(reference)[0],
            "deepLink": link,
            "timeout": timeout,
            "qrcodeUrl": f"https://qr.pockyt-sandbox.invalid/show?code={link.rsplit('/', 1)[-1]}",
        }
        return result, "create success"

    def _query(self, params: dict[str, str]) -> _Result:
        reference = self._reference_of(params)
        return self._with_status(reference, "status"), "query success"

    def _cancel(self, params: dict[str, str]) -> _Result:
        reference = self._reference_of(params)
        added = self._added.get(reference)
        if added is not None:
            added.closed = True
        record = self.ledger.get(reference)
        if record is not None and record.status == "pending":
            self.ledger.cancel(reference)
        elif record is not None and record.status == "paid":
            # Pockyt refunds a paid transaction that is cancelled: a reversal.
            left = record.amount_minor - record.refunded_minor
            self.ledger.refund(reference, _reversal_id(reference), left)
        log.info("fake:pockyt cancel reference=%s", reference)
        return self._with_status(reference, "status"), "cancel success"

    def _refund(self, params: dict[str, str]) -> _Result:
        reference = self._reference_of(params)
        amount = _money(params, "refundAmount")
        refund_id = (
            params.get("refundReference") or f"{reference}-refund-{len(self.ledger.refunds())}"
        )
        record = self.ledger.get(reference)
        if record is None:
            raise _Refused("000040", "transaction status error: not paid")
        if amount.currency != record.currency:
            raise _Refused("000022", "currency does not match the transaction")
        if self.refuses_repeat(refund_id):
            raise _Refused("000022", "refundReference already used")
        try:
            done = self.ledger.refund(reference, refund_id, amount.amount_minor)
        except LedgerRefusal as exc:
            raise _refund_refusal(exc) from exc
        log.info("fake:pockyt refund reference=%s refund=%s %s", reference, refund_id, amount)
        result = {
            **self._fields(reference)[0],
            "refundAmount": Money(done.amount_minor, record.currency).major_str(),
            "refundReference": refund_id,
            "refundTransactionNo": transaction_no(refund_id, prefix="2976"),
            "status": "success",
        }
        return result, "refund success"

    # -- the books in Pockyt's words -----------------------------------------------------

    def _with_status(self, reference: str, status_field: str) -> dict[str, str]:
        fields, word = self._fields(reference)
        return {**fields, status_field: word, "transactionType": "payment"}

    def _fields(self, reference: str) -> tuple[dict[str, str], str]:
        """The transaction under ``reference`` and its status word; 000021 when unknown."""
        added = self._added.get(reference)
        record = self.ledger.get(reference)
        if record is not None:
            return self._record_fields(record)
        if added is None:
            raise _Refused("000021", "no information for this reference")
        return self._transaction(added.reference, added.amount, 0, 0), (
            "closed" if added.closed else "init"
        )

    def _record_fields(self, record: LedgerRecord) -> tuple[dict[str, str], str]:
        reversal = _reversal_id(record.order_id)
        void = sum(r.amount_minor for r in self.ledger.refunds() if r.refund_id == reversal)
        record = self.as_seen(record)
        void = void if record.refunded_minor else 0
        amount = Money(record.amount_minor, record.currency)
        fields = self._transaction(record.order_id, amount, record.refunded_minor - void, void)
        return fields, "closed" if void else LEDGER_WORDS[record.status]

    def _transaction(
        self, reference: str, amount: Money, refunded_minor: int, void_minor: int
    ) -> dict[str, str]:
        return {
            "amount": amount.major_str(),
            "currency": amount.currency,
            "merchantNo": self.options.get("merchant_no", ""),
            "reference": reference,
            "refundAmount": Money(refunded_minor, amount.currency).major_str(),
            "settleCurrency": self._settle,
            "storeNo": self.options.get("store_no", ""),
            "transactionNo": transaction_no(reference),
            "voidAmount": Money(void_minor, amount.currency).major_str(),
        }

    # -- requests --------------------------------------------------------------------------

    def _authentic(self, request: Request) -> dict[str, str]:
        """The request's parameters, once its signature and merchant are right."""
        try:
            params = decode_body(request.body, request.headers.get("content-type", ""))
        except ValueError as exc:  # UnicodeDecodeError is a ValueError
            raise _Refused("000020", "the body is neither form fields nor JSON") from exc
        if not self._token or not signature_matches(params, self._token):
            log.warning("fake:pockyt wrong verifySign on %s", request.path)
            raise _Refused("000000", "data error : verifySign")
        merchant = (self.options.get("merchant_no"), self.options.get("store_no"))
        if (params.get("merchantNo"), params.get("storeNo")) != merchant:
            raise _Refused("000030", "no permission for this merchantNo and storeNo")
        return params

    def _reference_of(self, params: dict[str, str]) -> str:
        """The reference a request names, itself or by ``transactionNo``; 000021 when unknown."""
        if params.get("reference"):
            return params["reference"]
        number = _required(params, "transactionNo")
        known = [*self._added, *(record.order_id for record in self.ledger.payments())]
        for reference in known:
            if transaction_no(reference) == number:
                return reference
        raise _Refused("000021", "no information for this transactionNo")

    def _unprefixed(self, path: str) -> str:
        if self._prefix and path.startswith(f"{self._prefix}/"):
            return path[len(self._prefix) :]
        return path


def transaction_no(reference: str, *, prefix: str = "2975") -> str:
    """An 18-digit Pockyt-like ``transactionNo``, the same for the same reference."""
    digest = int(hashlib.sha256(reference.encode("utf-8")).hexdigest()[:16], 16)
    return f"{prefix}{digest % 10 ** (18 - len(prefix)):0{18 - len(prefix)}d}"


def deep_link(vendor: str, reference: str) -> str:
    """A QR payload of the wallet's own shape (Alipay ``qr.alipay.com``, WeChat ``weixin://``)."""
    digest = hashlib.sha256(f"{vendor}:{reference}".encode()).hexdigest()
    if vendor == "wechatpay":
        return f"weixin://wxpay/bizpayurl?pr={digest[:7]}"
    return f"https://qr.alipay.com/bax0{digest[:20]}"


def _reversal_id(reference: str) -> str:
    return f"{reference}#cancel"


def _required(params: dict[str, str], key: str) -> str:
    value = params.get(key, "")
    if not value:
        raise _Refused("000020", f"{key} is empty")
    return value


def _money(params: dict[str, str], key: str) -> Money:
    currency = _required(params, "currency")
    if len(currency) != 3 or not currency.isascii() or not currency.isalpha():
        raise _Refused("000023", "currency is not an ISO 4217 code")
    try:
        amount = Money.parse(_required(params, key), currency.upper())
    except ValueError as exc:
        raise _Refused("000023", f"{key} is not an amount") from exc
    if amount.amount_minor <= 0:
        raise _Refused("000023", f"{key} must be more than zero")
    return amount


def _vendor(params: dict[str, str], allowed: tuple[str, ...]) -> str:
    vendor = _required(params, "vendor")
    if vendor not in allowed:
        raise _Refused("000023", f"vendor must be one of {', '.join(allowed)}")
    return vendor


def _refund_refusal(exc: LedgerRefusal) -> _Refused:
    return {
        "not_found": _Refused("000021", "no information for this reference"),
        "not_paid": _Refused("000040", "transaction status error: not paid"),
        "exceeds": _Refused("000023", "refundAmount exceeds what can be refunded"),
        "conflict": _Refused("000022", "refundReference already used for another refund"),
    }.get(exc.error, _Refused("000000", "system error"))
