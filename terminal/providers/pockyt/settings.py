"""Pockyt's settings: the ``[providers.<name>.options]`` table and the token, checked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from terminal.errors import ConfigError
from terminal.providers.options import DriverOptions

__all__ = ["PockytSettings", "OPTIONS", "MPM_VENDORS", "WECHAT_VENDORS", "DEFAULT_SETTLE_CURRENCY"]

OPTIONS = ("merchant_no", "store_no", "store_admin_no", "settle_currency", "vendor",
           "wechat_vendor", "path_prefix")  # fmt: skip
MPM_VENDORS = ("alipay", "wechatpay")
WECHAT_VENDORS = ("wechatpay", "wechat")
DEFAULT_SETTLE_CURRENCY = "USD"

_REQUIRED = "required by the Pockyt driver; not set"


@dataclass(frozen=True, slots=True)
class PockytSettings:
    """What one Pockyt entry is configured with; the token never appears in ``repr``."""

    merchant_no: str
    store_no: str
    store_admin_no: str
    settle_currency: str
    vendor: str  # the wallet of the QR invoices (MPM)
    wechat_vendor: str  # the word WeChat Pay codes are sent with
    path_prefix: str
    token: str = field(repr=False)

    @classmethod
    def from_config(
        cls, name: str, options: Mapping[str, str], secrets: Mapping[str, str]
    ) -> PockytSettings:
        """Read and check the settings; ``ConfigError`` names the first wrong key."""
        opts = DriverOptions(name, options)
        opts.refuse_unknown(OPTIONS, lambda _: f"unknown option; Pockyt takes {', '.join(OPTIONS)}")
        return cls(
            merchant_no=opts.required("merchant_no", _REQUIRED),
            store_no=opts.required("store_no", _REQUIRED),
            store_admin_no=opts.text("store_admin_no"),
            settle_currency=opts.currency(
                "settle_currency",
                default=DEFAULT_SETTLE_CURRENCY,
                message="must be a 3-letter ISO 4217 code, such as USD",
            ),
            vendor=opts.choice("vendor", MPM_VENDORS, default=MPM_VENDORS[0]),
            wechat_vendor=opts.choice("wechat_vendor", WECHAT_VENDORS, default=WECHAT_VENDORS[0]),
            path_prefix=opts.path_prefix(
                "path_prefix", message='must be a path such as "/v1", or empty'
            ),
            token=_token(name, secrets),
        )


def _token(name: str, secrets: Mapping[str, str]) -> str:
    token = secrets.get("token", "").strip()
    if not token:
        raise ConfigError(
            "the Pockyt API token is missing from the secrets file", key=f"providers.{name}.token"
        )
    return token
