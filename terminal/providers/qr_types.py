"""The payment types a QR provider entry offers, read from its configuration alone.

A WebMoney entry pays with the one type its ``options.payment_type`` names; PayMaster's QR
is SBP; a Sendy entry offers each online service switched on (Sendy always, WeChat and
AliPay when enabled), its ``options.online_service`` first in the cashier's mind as the
default. Other drivers name no type: their entry is one choice, shown by its name.
"""

from __future__ import annotations

from terminal.config.model import ProviderConfig

__all__ = ["qr_types"]

#: Sendy's online services in the order the cashier's list shows them.
_SENDY_SERVICES = ("sendy", "wechat", "alipay")


def qr_types(cfg: ProviderConfig) -> tuple[tuple[str, ...], str]:
    """The wallets a QR of ``cfg`` is paid with, and the one taken when none is chosen."""
    options = cfg.options
    if cfg.driver == "webmoney":
        kind = options.get("payment_type", "").strip().lower()
        return ((kind,), kind) if kind else (("",), "")
    if cfg.driver == "paymaster":
        return ("sbp",), "sbp"
    if cfg.driver == "sendy":
        services = tuple(
            service
            for service in _SENDY_SERVICES
            if service == "sendy" or options.get(f"service_{service}", "").lower() == "true"
        )
        default = options.get("online_service", "sendy")
        return services, default if default in services else "sendy"
    return ("",), ""
