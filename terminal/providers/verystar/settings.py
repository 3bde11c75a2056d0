"""Verystar's settings: options, secrets and endpoint URLs checked; the Openbravo module's lists.

The Openbravo module "Alipay & Wechat Verystar" kept its barcode routing and its proxy
among the provider's settings; here routing is the terminal's ``[[routes]]`` table
(:func:`routes_from_openbravo` turns the module's lists into routes) and the proxy is an
option applied where the HTTP client is built (:func:`proxy_from`).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from terminal.config.model import RouteConfig
from terminal.errors import ConfigError
from terminal.providers.options import DriverOptions, is_http_url
from terminal.providers.verystar import codec as codec

__all__ = [
    "VerystarSettings",
    "Endpoint",
    "OPTIONS",
    "proxy_from",
    "routes_from_openbravo",
]


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


@dataclass(frozen=True, slots=True)
class VerystarSettings:
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

    @classmethod
    def from_config(
        cls, name: str, base_url: str, options: Mapping[str, str], secrets: Mapping[str, str]
    ) -> VerystarSettings:
        """Read and check the options and secrets; ``ConfigError`` names the first bad key."""
        opts = DriverOptions(name, options)
        opts.refuse_unknown(OPTIONS, _unknown_option)
        app_key = opts.text("app_key") or secrets.get("app_key", "").strip()
        if not app_key:
            raise opts.error("app_key", "is required for Verystar (the App Key of the account)")
        app_secret = secrets.get("app_secret", "").strip()
        if not app_secret:
            raise ConfigError(
                "is required for Verystar (the App Secret, in the secrets file)",
                key=f"providers.{name}.app_secret",
            )
        return cls(
            app_key=app_key,
            app_secret=app_secret,
            store_sn=opts.required("store_sn", "is required for Verystar (the store number)"),
            client_sn=opts.required("client_sn", "is required for Verystar (the terminal number)"),
            currency=_currency(opts),
            channel=_channel(opts),
            op_user_id=opts.text("op_user_id"),
            op_user_pwd=secrets.get("op_user_pwd", "").strip(),
            urls={endpoint: _endpoint_url(opts, base_url, endpoint) for endpoint in Endpoint},
            proxy=proxy_from(options, name=name),
        )


def proxy_from(options: Mapping[str, str], *, name: str = "verystar") -> str | None:
    """The ``proxy`` option as a URL for ``httpx.AsyncClient(proxy=...)``, or None when unset.

    The Openbravo module's "Proxy" setting. Only ``http://`` and ``https://`` proxies (a
    SOCKS proxy needs an extra package). Raises ``ConfigError`` naming the key otherwise.
    """
    return DriverOptions(name, options).http_url(
        "proxy",
        message="must be an http:// or https:// proxy address such as http://10.0.0.1:3128",
    )


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


def _unknown_option(key: str) -> str:
    hint = (
        "barcode routing is the terminal's [[routes]] table (docs/providers/verystar.md)"
        if key in _ROUTING_OPTIONS
        else f"known options: {', '.join(OPTIONS)}"
    )
    return f"unknown Verystar option; {hint}"


def _currency(opts: DriverOptions) -> str | None:
    if opts.text("currency").lower() == "any":
        return None
    return opts.currency(
        "currency", default="CNY", message='must be an ISO 4217 code such as "CNY", or "any"'
    )


def _channel(opts: DriverOptions) -> str:
    value = opts.text("channel", codec.CHANNEL_WECHAT)
    if not re.fullmatch(r"[a-z0-9_]{1,32}", value):
        raise opts.error("channel", f'must be a channel word such as "{codec.CHANNEL_WECHAT}"')
    return value


def _endpoint_url(opts: DriverOptions, base_url: str, endpoint: Endpoint) -> str:
    """The option's absolute URL, or its path (else the default path) under ``base_url``."""
    value = opts.text(endpoint.option, endpoint.default_path)
    parts = urlsplit(value)
    if parts.scheme:
        if not is_http_url(value):
            raise opts.error(
                endpoint.option, "must be an http(s):// URL or a path such as v3/pay/micropay.json"
            )
        return value
    if parts.netloc or parts.query or parts.fragment:
        raise opts.error(endpoint.option, "must be a plain path or a full URL")
    return f"{base_url.rstrip('/')}/{value.lstrip('/')}"


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
