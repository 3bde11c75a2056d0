"""The Verystar (VeryPay v3) driver: Alipay and WeChat Pay by customer code (CPM) and by QR (MPM).

Wire format as the public record shows it (VeryPay's PHP SDK ``verystar/verypay-sdk-php``,
a third-party Java client, the Openbravo module "Alipay & Wechat Verystar"): form POSTs to
``v3/pay/{micropay,unifiedorder,orderquery,refund,closeorder}.json``, each carrying
``app_key``, ``time`` (unix seconds) and ``sign``; JSON answers ``{retcode, msg, data,
sign}`` whose ``sign`` covers ``data``. Amounts are integer fen. What the record does not
show (success code, refusal codes, status words, field names inside ``data``) is guessed
in :mod:`terminal.providers.verystar.codec` and nowhere else.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import hmac
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from terminal.config.model import RouteConfig
from terminal.errors import ConfigError, ProviderProtocolError, ProviderUnavailable
from terminal.money import Money
from terminal.payment import mask_code
from terminal.providers.base import Capabilities, Order, PaymentStatus, ProviderAnswer
from terminal.providers.httpx_errors import (
    raise_for_unavailable,
    read_json,
    translate_httpx_errors,
)
from terminal.providers.verystar import codec as codec
from terminal.providers.verystar.codec import Outcome, Refusal

__all__ = [
    "VerystarProvider",
    "Endpoint",
    "sign_params",
    "signing_string",
    "out_sn_for",
    "order_id_from_out_sn",
    "proxy_from",
    "routes_from_openbravo",
    "OPTIONS",
]

logger = logging.getLogger(__name__)


class Endpoint(enum.Enum):
    """The five calls, each with the option that may override its URL and its default path."""

    PAY = ("url_pay", "v3/pay/micropay.json")  # CPM: the customer's code (auth_code)
    UNIT_PAYMENT = ("url_unit_payment", "v3/pay/unifiedorder.json")  # MPM: a QR
    ORDER_QUERY = ("url_order_query", "v3/pay/orderquery.json")
    REFUND = ("url_refund", "v3/pay/refund.json")
    CLOSE_ORDER = ("url_close_order", "v3/pay/closeorder.json")

    @property
    def option(self) -> str:
        """The ``[providers.<name>.options]`` key overriding this URL."""
        return self.value[0]

    @property
    def default_path(self) -> str:
        """The path under the provider's ``url`` when no option overrides it."""
        return self.value[1]


#: Every option the driver reads, with what it is for.
OPTIONS: Mapping[str, str] = {
    "app_key": "the account's App Key (may also live in the secrets file)",
    "store_sn": "store number (required)",
    "client_sn": "terminal number at Verystar (required)",
    "currency": 'the account\'s currency, "CNY" unless set; "any" sends any currency as is',
    "channel": 'unified order (QR) channel: "wx" (default) or "alipay"',
    "op_user_id": "refund operator, when the account has no default operator",
    "proxy": "http(s) proxy URL; applied where the HTTP client is built (see proxy_from)",
    **{endpoint.option: f"URL or path of {endpoint.default_path}" for endpoint in Endpoint},
}

#: The Openbravo module's barcode lists: routing belongs to the terminal's [[routes]] table.
_ROUTING_OPTIONS = ("alipay_lengths", "alipay_prefixes", "wechat_lengths", "wechat_prefixes")

_PHP_SPACE = " \t\n\r\0\x0b"  # what PHP's trim() strips
MAX_OUT_SN_CHARS = 64  # out_sn is string(64) (Java client)
MAX_REFUND_OUT_SN_CHARS = 100  # refund_out_sn is string(100) (Java client)
MAX_BODY_CHARS = 100  # body is string(100)
_MSG_CHARS = 200  # how much of the provider's msg goes into an error message


# -- signing (VeryPay's PHP SDK: getSign / checkSign) --------------------------------------


def signing_string(params: Mapping[str, object]) -> str:
    """The string VeryPay signs: sorted non-empty ``k=v`` joined by ``&``, no URL-encoding.

    ``sign`` (any case, spaces trimmed) and values that are empty after PHP's ``trim`` are
    left out; keys sort by byte value (PHP ``ksort(SORT_STRING)``); values are written as
    PHP writes them in a string (``true`` as ``1``, ``false``/``null`` dropped, ``1.0``
    as ``1``, a nested array as ``Array``).
    """
    pairs = []
    for key, value in params.items():
        text = _php_text(value)
        if key.strip(_PHP_SPACE).lower() == "sign" or not text.strip(_PHP_SPACE):
            continue
        pairs.append((key, text))
    pairs.sort(key=lambda pair: pair[0].encode("utf-8"))
    return "&".join(f"{key}={text}" for key, text in pairs)


def sign_params(params: Mapping[str, object], app_secret: str) -> str:
    """``md5(signing_string(params) + app_secret)``, lowercase hex: the secret goes last, bare."""
    digest = hashlib.md5(  # noqa: S324 - the provider's protocol, not our choice
        (signing_string(params) + app_secret).encode("utf-8"), usedforsecurity=False
    )
    return digest.hexdigest()


def _php_text(value: object) -> str:
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dict | list | tuple):
        return "Array"
    return str(value)


# -- order numbers -------------------------------------------------------------------------

_ESCAPE = "Z"
_ESCAPES = {"-": "H", "_": "U", _ESCAPE: _ESCAPE}
_UNESCAPES = {code: char for char, code in _ESCAPES.items()}
_ALNUM = re.compile(r"[A-Za-z0-9]")


def out_sn_for(order_id: str) -> str:
    """The terminal's id as a VeryPay ``out_sn`` (letters and digits only), reversibly.

    Letters and digits stay, except ``Z``; ``-`` becomes ``ZH``, ``_`` ``ZU``, ``Z``
    ``ZZ``, any other character ``ZX`` plus two hex digits per UTF-8 byte. Distinct ids
    always give distinct numbers: ``T0001-c0de-000042`` becomes ``T0001ZHc0deZH000042``.
    """
    out = []
    for char in order_id:
        if char in _ESCAPES:
            out.append(_ESCAPE + _ESCAPES[char])
        elif char.isascii() and _ALNUM.fullmatch(char):
            out.append(char)
        else:
            out.extend(f"{_ESCAPE}X{byte:02x}" for byte in char.encode("utf-8"))
    return "".join(out)


def order_id_from_out_sn(out_sn: str) -> str:
    """The terminal's id from an ``out_sn`` made by :func:`out_sn_for`; ValueError if not one."""
    raw = bytearray()
    i = 0
    while i < len(out_sn):
        char = out_sn[i]
        if char != _ESCAPE:
            if not (char.isascii() and _ALNUM.fullmatch(char)):
                raise ValueError(f"{out_sn!r} is not letters and digits")
            raw += char.encode()
            i += 1
            continue
        code = out_sn[i + 1 : i + 2]
        if code in _UNESCAPES:
            raw += _UNESCAPES[code].encode()
            i += 2
        elif code == "X" and re.fullmatch(r"[0-9a-f]{2}", out_sn[i + 2 : i + 4]):
            raw.append(int(out_sn[i + 2 : i + 4], 16))
            i += 4
        else:
            raise ValueError(f"{out_sn!r} has a bad escape at {i}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{out_sn!r} does not decode to text") from exc


# -- configuration helpers -----------------------------------------------------------------


def proxy_from(options: Mapping[str, str], *, name: str = "verystar") -> str | None:
    """The ``proxy`` option as a URL for ``httpx.AsyncClient(proxy=...)``, or None when unset.

    The Openbravo module's "Proxy" setting. Only ``http://`` and ``https://`` proxies (a
    SOCKS proxy needs an extra package). Raises ``ConfigError`` naming the key otherwise.
    """
    value = options.get("proxy", "").strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            "must be an http:// or https:// proxy address such as http://10.0.0.1:3128",
            key=f"providers.{name}.options.proxy",
        )
    return value


def routes_from_openbravo(
    alipay_lengths: str,
    alipay_prefixes: str,
    wechat_lengths: str,
    wechat_prefixes: str,
    provider: str,
    *,
    wechat_provider: str | None = None,
) -> tuple[RouteConfig, ...]:
    """``[[routes]]`` entries from the Openbravo module's comma-separated barcode lists.

    ``"18"``/``"10,11,12,13,14,15"`` → a ``wechat`` route with those lengths and prefixes.
    A wallet whose two lists are both empty gets no route (an empty route would take any
    code). WeChat codes go to ``wechat_provider`` when given (e.g. a second Verystar
    provider with WeChat's cadence). Raises ``ConfigError`` naming the bad list.
    """
    routes = []
    for wallet, lengths, prefixes, target in (
        ("alipay", alipay_lengths, alipay_prefixes, provider),
        ("wechat", wechat_lengths, wechat_prefixes, wechat_provider or provider),
    ):
        route = RouteConfig(
            wallet,
            target,
            prefixes=_prefix_list(prefixes, f"{wallet}_prefixes"),
            lengths=_length_list(lengths, f"{wallet}_lengths"),
        )
        if route.prefixes or route.lengths:
            routes.append(route)
    return tuple(routes)


def _csv(text: str) -> list[str]:
    items = [item.strip() for item in text.split(",")]
    return list(dict.fromkeys(item for item in items if item))


def _length_list(text: str, key: str) -> tuple[int, ...]:
    items = _csv(text)
    bad = [item for item in items if not (item.isascii() and item.isdigit() and int(item) > 0)]
    if bad:
        raise ConfigError(f"{bad[0]!r} is not a code length: use numbers like 16,18", key=key)
    return tuple(int(item) for item in items)


def _prefix_list(text: str, key: str) -> tuple[str, ...]:
    items = _csv(text)
    bad = [item for item in items if not re.fullmatch(r"[0-9A-Za-z]+", item)]
    if bad:
        raise ConfigError(f"{bad[0]!r} is not a prefix: use letters and digits like 25,28", key=key)
    return tuple(items)


@dataclass(frozen=True, slots=True)
class _Settings:
    """The driver's configuration, checked; the secrets never appear in ``repr``."""

    app_key: str
    store_sn: str
    client_sn: str
    currency: str | None  # None: any currency is sent as is
    channel: str
    op_user_id: str
    urls: Mapping[Endpoint, str]
    proxy: str | None
    app_secret: str = field(repr=False)
    op_user_pwd: str = field(repr=False, default="")


def _read_settings(
    name: str, base_url: str, options: Mapping[str, str], secrets: Mapping[str, str]
) -> _Settings:
    """Read and check the options and secrets; ``ConfigError`` names the first bad key."""
    _refuse_unknown_options(name, options)

    def required(value: str | None, key: str, where: str) -> str:
        if not value or not value.strip():
            raise ConfigError(f"is required for Verystar ({where})", key=key)
        return value.strip()

    opt = f"providers.{name}.options"
    app_key = options.get("app_key") or secrets.get("app_key")
    return _Settings(
        app_key=required(app_key, f"{opt}.app_key", "the App Key of the account"),
        app_secret=required(
            secrets.get("app_secret"),
            f"providers.{name}.app_secret",
            "the App Secret, in the secrets file",
        ),
        store_sn=required(options.get("store_sn"), f"{opt}.store_sn", "the store number"),
        client_sn=required(options.get("client_sn"), f"{opt}.client_sn", "the terminal number"),
        currency=_currency(options.get("currency", "CNY"), f"{opt}.currency"),
        channel=_channel(options.get("channel", codec.CHANNEL_WECHAT), f"{opt}.channel"),
        op_user_id=options.get("op_user_id", "").strip(),
        op_user_pwd=secrets.get("op_user_pwd", "").strip(),
        urls={endpoint: _endpoint_url(base_url, options, endpoint, opt) for endpoint in Endpoint},
        proxy=proxy_from(options, name=name),
    )


def _refuse_unknown_options(name: str, options: Mapping[str, str]) -> None:
    for key in options:
        if key in OPTIONS:
            continue
        hint = (
            "barcode routing is the terminal's [[routes]] table (docs/providers/verystar.md)"
            if key in _ROUTING_OPTIONS
            else f"known options: {', '.join(OPTIONS)}"
        )
        raise ConfigError(f"unknown Verystar option; {hint}", key=f"providers.{name}.options.{key}")


def _currency(value: str, key: str) -> str | None:
    value = value.strip()
    if value.lower() == "any":
        return None
    if not re.fullmatch(r"[A-Z]{3}", value):
        raise ConfigError('must be an ISO 4217 code such as "CNY", or "any"', key=key)
    return value


def _channel(value: str, key: str) -> str:
    value = value.strip()
    if not re.fullmatch(r"[a-z0-9_]{1,32}", value):
        raise ConfigError(f'must be a channel word such as "{codec.CHANNEL_WECHAT}"', key=key)
    return value


def _endpoint_url(base_url: str, options: Mapping[str, str], endpoint: Endpoint, opt: str) -> str:
    """The option's absolute URL, or its path (else the default path) under ``base_url``."""
    value = options.get(endpoint.option, "").strip() or endpoint.default_path
    parts = urlsplit(value)
    if parts.scheme:
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                "must be an http(s):// URL or a path such as v3/pay/micropay.json",
                key=f"{opt}.{endpoint.option}",
            )
        return value
    if parts.netloc or parts.query or parts.fragment:
        raise ConfigError("must be a plain path or a full URL", key=f"{opt}.{endpoint.option}")
    return f"{base_url.rstrip('/')}/{value.lstrip('/')}"


# -- the driver ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Reply:
    """A verified answer: its code (as text), message and signed ``data``."""

    retcode: str
    msg: str
    data: dict[str, Any]


class VerystarProvider:
    """Talks to VeryPay over one injected ``httpx.AsyncClient`` (connections are reused).

    ``out_sn`` is :func:`out_sn_for` of the terminal's order id (the engine gives every
    attempt a new id), so a query, close or refund finds the payment without the
    provider's own number. Never retries by itself. ``unix_time`` gives the ``time``
    field (wall-clock seconds, as the protocol wants; the only wall-clock read here).
    """

    #: Alipay: first query after ~5 s, then every 3 s. WeChat: query every 3-5 s and the
    #: customer has 45 s (WeChat revokes an unconfirmed code payment after that).
    DEFAULT_CAPABILITIES = Capabilities(
        supports_mpm=True,
        supports_cpm=True,
        supports_refund=True,
        supports_cancel=True,
        poll_interval_s=3.0,
        first_poll_delay_s=5.0,
        invoice_lifetime_s=300.0,
        confirm_timeout_s=45.0,
        no_answer_timeout_s=30.0,
        technical_error_budget=5,
    )

    def __init__(
        self,
        name: str,
        capabilities: Capabilities,
        *,
        client: httpx.AsyncClient,
        base_url: str,
        api_key: str | None = None,
        owns_client: bool = True,
        options: Mapping[str, str] | None = None,
        secrets: Mapping[str, str] | None = None,
        unix_time: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.capabilities = capabilities
        self._settings = _read_settings(name, base_url, options or {}, secrets or {})
        self._client = client
        self._base_url = base_url.rstrip("/")
        self._owns_client = owns_client
        self._unix_time = unix_time
        if self._settings.proxy is not None:
            logger.info("verystar:proxy %s: set on the HTTP client when it is built", name)

    def __repr__(self) -> str:
        state = "closed" if self._client.is_closed else "open"
        return f"<VerystarProvider {self.name} {self._base_url} {state}>"

    @property
    def proxy(self) -> str | None:
        """The configured proxy URL (the client must be built with it), or None."""
        return self._settings.proxy

    def status(self) -> dict[str, object]:
        """A snapshot for the self-check; no secret in it."""
        return {
            "provider": self.name,
            "driver": "verystar",
            "url": self._base_url,
            "store_sn": self._settings.store_sn,
            "client_sn": self._settings.client_sn,
            "proxy": self._settings.proxy is not None,
            "closed": self._client.is_closed,
        }

    async def create_invoice(self, order: Order) -> ProviderAnswer:
        """MPM: unified order; the answer carries the QR text to show."""
        refused = self._refuse_locally(order, order.amount)
        if refused is not None:
            return refused
        logger.debug(
            "verystar:unifiedorder %s order=%s %s", self.name, order.order_id, order.amount
        )
        params = {
            **self._order_params(order),
            "total_fee": str(order.amount.amount_minor),
            "body": order.description[:MAX_BODY_CHARS],
            "channel": self._settings.channel,
        }
        reply = await self._call(Endpoint.UNIT_PAYMENT, order, params)
        return self._new_order_answer(order, reply, want_qr=True)

    async def pay_with_code(self, order: Order, code: str) -> ProviderAnswer:
        """CPM: micropay with the customer's code; the channel is left to VeryPay to detect."""
        refused = self._refuse_locally(order, order.amount)
        if refused is not None:
            return refused
        logger.debug(
            "verystar:micropay %s order=%s %s code=%s",
            self.name,
            order.order_id,
            order.amount,
            mask_code(code),
        )
        params = {
            **self._order_params(order),
            "auth_code": code,
            "total_fee": str(order.amount.amount_minor),
            "body": order.description[:MAX_BODY_CHARS],
        }
        reply = await self._call(Endpoint.PAY, order, params)
        return self._new_order_answer(order, reply, want_qr=False)

    async def query(self, order: Order) -> ProviderAnswer:
        """Order query by ``out_sn``; NOT_FOUND when VeryPay never saw it."""
        reply = await self._call(Endpoint.ORDER_QUERY, order, self._order_params(order))
        meaning = self._meaning(order, reply)
        if meaning is Refusal.NOT_FOUND:
            return self._not_found(reply)
        if meaning is not Outcome.OK:
            raise self._unexpected(order, reply)
        return self._order_answer(order, reply)

    async def cancel(self, order: Order) -> ProviderAnswer:
        """Close an unpaid order; a refused close is followed by a query (a paid one says PAID)."""
        logger.debug("verystar:closeorder %s order=%s", self.name, order.order_id)
        reply = await self._call(Endpoint.CLOSE_ORDER, order, self._order_params(order))
        meaning = self._meaning(order, reply)
        if meaning is Refusal.NOT_FOUND:
            return self._not_found(reply)
        if isinstance(meaning, Refusal):
            found = await self.query(order)
            return dataclasses.replace(found, message=codec.REFUSAL_MESSAGES[meaning])
        if codec.trade_status(reply.data) is not None:
            return self._order_answer(order, reply)
        ref = _text(reply.data.get(codec.ORDER_REF_FIELD))
        return ProviderAnswer(PaymentStatus.CANCELLED, raw_status="CLOSED", provider_ref=ref)

    async def refund(self, order: Order, refund_id: str, amount: Money) -> ProviderAnswer:
        """Refund by ``refund_out_sn`` (from ``refund_id``): a repeat refunds nothing more."""
        refused = self._refuse_locally(order, amount, refund_id)
        if refused is not None:
            return refused
        logger.debug(
            "verystar:refund %s order=%s refund=%s %s", self.name, order.order_id, refund_id, amount
        )
        refund_out_sn = out_sn_for(refund_id)
        params = {
            **self._order_params(order),
            "refund_fee": str(amount.amount_minor),
            "refund_out_sn": refund_out_sn,
            "op_user_id": self._settings.op_user_id,
            "op_user_pwd": self._settings.op_user_pwd,
        }
        reply = await self._call(Endpoint.REFUND, order, params)
        meaning = self._meaning(order, reply)
        if meaning is Refusal.NOT_FOUND:
            return self._not_found(reply)
        if isinstance(meaning, Refusal):
            found = await self.query(order)
            return dataclasses.replace(found, message=codec.REFUSAL_MESSAGES[meaning])
        self._check_field(order, reply.data, "refund_out_sn", refund_out_sn)
        self._check_amount(order, reply.data, "refund_fee", amount.amount_minor)
        return ProviderAnswer(
            PaymentStatus.REFUNDED,
            raw_status=codec.REFUND_DONE,
            provider_ref=_text(reply.data.get(codec.ORDER_REF_FIELD)) or order.provider_ref,
        )

    async def aclose(self) -> None:
        """Close the client if this driver owns it; idempotent."""
        if self._owns_client and not self._client.is_closed:
            await self._client.aclose()

    # -- private: requests -------------------------------------------------------------

    def _order_params(self, order: Order) -> dict[str, str]:
        return {
            "store_sn": self._settings.store_sn,
            "client_sn": self._settings.client_sn,
            "out_sn": out_sn_for(order.order_id),
        }

    def _refuse_locally(
        self, order: Order, amount: Money, refund_id: str | None = None
    ) -> ProviderAnswer | None:
        """Answer DECLINED, sending nothing, for what VeryPay cannot take."""
        currency = self._settings.currency
        if currency is not None and amount.currency != currency:
            message = f"Verystar takes {currency} only, not {amount.currency}"
            return ProviderAnswer(
                PaymentStatus.DECLINED, raw_status="currency_not_accepted", message=message
            )
        too_long = len(out_sn_for(order.order_id)) > MAX_OUT_SN_CHARS or (
            refund_id is not None and len(out_sn_for(refund_id)) > MAX_REFUND_OUT_SN_CHARS
        )
        if too_long:
            message = "order number too long for Verystar: shorten terminal.id"
            return ProviderAnswer(
                PaymentStatus.DECLINED, raw_status="out_sn_too_long", message=message
            )
        return None

    async def _call(self, endpoint: Endpoint, order: Order, params: dict[str, str]) -> _Reply:
        """Sign and send one form POST; return the answer once its signature is checked."""
        fields = {key: value for key, value in params.items() if value != ""}
        fields["app_key"] = self._settings.app_key
        fields["time"] = str(int(self._unix_time()))
        fields["sign"] = sign_params(fields, self._settings.app_secret)
        with translate_httpx_errors(self.name, order.order_id):
            response = await self._client.post(self._settings.urls[endpoint], data=fields)
        raise_for_unavailable(response, provider=self.name, order_id=order.order_id)
        if response.status_code != 200:
            raise self._protocol_error(order, f"unexpected HTTP {response.status_code}")
        body = read_json(
            response, provider=self.name, order_id=order.order_id, required={"retcode": (int, str)}
        )
        data = self._data(order, body.get("data"))
        sign = body.get("sign")
        expected = sign_params(data, self._settings.app_secret)
        if not isinstance(sign, str) or not hmac.compare_digest(sign, expected):
            raise self._protocol_error(order, "answer signature does not match")
        msg = body.get("msg")
        return _Reply(codec.normalise_retcode(body["retcode"]), _text(msg) or "", data)

    def _data(self, order: Order, data: object) -> dict[str, Any]:
        """``data`` as a dict: absent, ``null`` and ``[]`` (PHP's empty array) are empty."""
        if data is None or data == []:
            return {}
        if not isinstance(data, dict):
            raise self._protocol_error(order, "answer's data is not an object")
        return data

    # -- private: answers --------------------------------------------------------------

    def _meaning(self, order: Order, reply: _Reply) -> Outcome | Refusal:
        """OK or a refusal; the technical outcomes leave as ``ProviderTechnicalError``."""
        meaning = codec.classify(reply.retcode)
        said = f"retcode {reply.retcode} ({reply.msg[:_MSG_CHARS]})"
        if meaning is Outcome.RETRY:
            raise ProviderUnavailable(
                f"{self.name}: order {order.order_id}: provider asks to try again: {said}",
                provider=self.name,
                order_id=order.order_id,
            )
        if meaning is Outcome.CREDENTIALS:
            what = f"provider refused the app_key or signature: {said}; check app_key/app_secret"
            raise self._protocol_error(order, what)
        if meaning is Outcome.BAD_REQUEST:
            raise self._protocol_error(order, f"provider refused a parameter: {said}")
        if meaning is Outcome.UNKNOWN:
            raise self._unexpected(order, reply)
        return meaning

    def _new_order_answer(self, order: Order, reply: _Reply, *, want_qr: bool) -> ProviderAnswer:
        """The answer to micropay / unified order."""
        meaning = self._meaning(order, reply)
        if meaning is Refusal.OUT_SN_CONFLICT:
            message = codec.REFUSAL_MESSAGES[meaning]
            return ProviderAnswer(PaymentStatus.DECLINED, raw_status=reply.retcode, message=message)
        if meaning is not Outcome.OK:
            raise self._unexpected(order, reply)
        return self._order_answer(order, reply, want_qr=want_qr)

    def _order_answer(
        self, order: Order, reply: _Reply, *, want_qr: bool = False
    ) -> ProviderAnswer:
        """Map an order's ``data`` to an answer, checking it is about this order and amount."""
        data = reply.data
        self._check_field(order, data, "out_sn", out_sn_for(order.order_id))
        self._check_amount(order, data, "total_fee", order.amount.amount_minor)
        try:
            found = codec.trade_status(data)
        except KeyError as exc:
            raise self._protocol_error(order, f"unknown trade status {exc.args[0]!r}") from exc
        if found is None:
            raise self._protocol_error(order, "answer carries no trade status")
        status, raw = found
        qr = codec.qr_payload(data)  # unified order's answer; maybe a query's (assumed)
        if want_qr and status is PaymentStatus.PENDING and qr is None:
            raise self._protocol_error(order, "unified order answer carries no QR")
        settled = status in (PaymentStatus.PAID, PaymentStatus.PENDING)
        return ProviderAnswer(
            status,
            raw_status=raw,
            provider_ref=_text(data.get(codec.ORDER_REF_FIELD)),
            qr_payload=qr,
            message="" if settled else reply.msg[:_MSG_CHARS],
        )

    def _not_found(self, reply: _Reply) -> ProviderAnswer:
        message = codec.REFUSAL_MESSAGES[Refusal.NOT_FOUND]
        return ProviderAnswer(PaymentStatus.NOT_FOUND, raw_status=reply.retcode, message=message)

    def _check_field(self, order: Order, data: Mapping[str, Any], key: str, expected: str) -> None:
        value = data.get(key)
        if value is not None and str(value) != expected:
            raise self._protocol_error(order, f"answer is about {key} {value!r}, not {expected!r}")

    def _check_amount(self, order: Order, data: Mapping[str, Any], key: str, expected: int) -> None:
        value = data.get(key)
        if value is None:
            return
        number = _integer(value)
        if number != expected:
            raise self._protocol_error(order, f"answer's {key} is {value!r}, not {expected}")

    def _unexpected(self, order: Order, reply: _Reply) -> ProviderProtocolError:
        return self._protocol_error(
            order, f"unexpected retcode {reply.retcode} ({reply.msg[:_MSG_CHARS]})"
        )

    def _protocol_error(self, order: Order, what: str) -> ProviderProtocolError:
        return ProviderProtocolError(
            f"{self.name}: order {order.order_id}: {what}",
            provider=self.name,
            order_id=order.order_id,
        )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _integer(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None
