"""PayMaster's settings: the ``[providers.<name>.options]`` table and the token, checked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from terminal.errors import ConfigError
from terminal.providers.options import DriverOptions
from terminal.providers.paymaster import codec as wire

__all__ = ["PayMasterSettings", "OPTIONS", "DEFAULT_LOOKUP_WINDOW_H"]

#: Every ``[providers.<name>.options]`` key the driver reads; any other is a config error.
OPTIONS = frozenset(
    {"merchant_id", "test_mode", "sticker_id", "send_expires", "lookup_window_h", "path_prefix"}
)

#: A payment looked up by order id is searched among those created this long ago.
DEFAULT_LOOKUP_WINDOW_H = 72

_TRUE, _FALSE = frozenset({"true", "yes", "1", "on"}), frozenset({"false", "no", "0", "off"})
_FLAG = 'must be "true" or "false", not {value!r}'


@dataclass(frozen=True, slots=True)
class PayMasterSettings:
    """What one PayMaster entry is configured with; the token never appears in ``repr``."""

    token: str = field(repr=False)
    merchant_id: str
    test_mode: bool
    send_expires: bool
    sticker_id: str | None
    lookup_window: timedelta
    base_url: str  # the service address and any path prefix, without ``/api/v2``

    @classmethod
    def from_config(
        cls,
        name: str,
        base_url: str,
        options: Mapping[str, str],
        secrets: Mapping[str, str],
        api_key: str | None,
    ) -> PayMasterSettings:
        """Read and check the settings; ``ConfigError`` names the first wrong key."""
        opts = DriverOptions(name, options)
        known = ", ".join(sorted(OPTIONS))
        opts.refuse_unknown(OPTIONS, lambda key: f"PayMaster has no option {key!r}; known: {known}")
        token = _token(name, secrets, api_key)
        merchant_id = opts.required(
            "merchant_id", "missing: PayMaster's merchant (shop) id from the personal account"
        )
        return cls(
            token=token,
            merchant_id=merchant_id,
            test_mode=opts.flag(
                "test_mode", default=False, message=_FLAG, true=_TRUE, false=_FALSE
            ),
            send_expires=opts.flag(
                "send_expires", default=True, message=_FLAG, true=_TRUE, false=_FALSE
            ),
            sticker_id=opts.text("sticker_id") or None,
            lookup_window=timedelta(hours=_hours(opts)),
            base_url=_api_base(base_url)
            + opts.path_prefix(
                "path_prefix",
                message='must be a path such as "/paymaster", or empty, not {value!r}',
            ),
        )


def _token(name: str, secrets: Mapping[str, str], api_key: str | None) -> str:
    token = (secrets.get("token") or api_key or "").strip()
    if not token:
        raise ConfigError(
            "missing: the PayMaster API token (from the merchant's personal account) goes "
            'in the secrets file as token = "..."',
            key=f"providers.{name}.token",
        )
    return token


def _hours(opts: DriverOptions) -> float:
    raw = opts.text("lookup_window_h", str(DEFAULT_LOOKUP_WINDOW_H))
    try:
        hours = float(raw)
    except ValueError:
        hours = 0.0
    if not 0 < hours <= 24 * 90:
        raise opts.error(
            "lookup_window_h", f"must be a number of hours above 0 and at most 2160, not {raw!r}"
        )
    return hours


def _api_base(base_url: str) -> str:
    """The service address; a configured URL that already ends in ``/api/v2`` is accepted."""
    base = base_url.rstrip("/")
    return base.removesuffix(wire.API_ROOT)
