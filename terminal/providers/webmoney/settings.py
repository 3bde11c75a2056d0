"""WebMoney's settings: the ``[providers.<name>.options]`` table and the secrets, checked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from terminal.errors import ConfigError
from terminal.providers.options import DriverOptions
from terminal.providers.webmoney import codec as codec

__all__ = [
    "WebMoneySettings",
    "PAYMENT_TYPES",
    "OPTIONS",
    "agent_key",
    "pfx_password",
    "no_certificate",
    "server_address",
    "secret_key",
]

#: The gateway's four payment types, as ``options.payment_type`` names them.
PAYMENT_TYPES = ("sbp", "webmoney", "wechat", "alipay")

#: Every option a ``[providers.<name>.options]`` table of this driver may hold.
OPTIONS = frozenset(
    {"agent_number", "wmid", "pos_number", "crs_id", "service_path", "payment_type",
     "payment_type_code", "pfx_path", "ca_file"}
)  # fmt: skip

_REQUIRED = "required: the value WebMoney gave for this terminal"
_DIGITS = "{value!r} must be digits (0 when WebMoney gave none)"


@dataclass(frozen=True, slots=True)
class WebMoneySettings:
    """The non-secret settings of one provider entry (one payment type of one POS)."""

    agent_number: str
    pos_number: str
    service_path: str
    payment_type: str
    payment_type_code: str
    wmid: str = "0"
    crs_id: str = "0"
    pfx_path: Path | None = None
    ca_file: Path | None = None

    @classmethod
    def from_options(cls, name: str, options: Mapping[str, str]) -> WebMoneySettings:
        """Validate ``[providers.<name>.options]``; ``ConfigError`` names the wrong key."""
        opts = DriverOptions(name, options)
        known = ", ".join(sorted(OPTIONS))
        opts.refuse_unknown(OPTIONS, lambda _: f"unknown option; known: {known}")
        payment_type = opts.required("payment_type", _REQUIRED).lower()
        if payment_type not in PAYMENT_TYPES:
            raise opts.error(
                "payment_type", f"{payment_type!r} is not one of {', '.join(PAYMENT_TYPES)}"
            )
        service_path = opts.required("service_path", _REQUIRED)
        if not service_path.startswith("/") or "?" in service_path:
            raise opts.error(
                "service_path",
                f"{service_path!r} must start with / (e.g. /PosIntegration2/ApiService.svc)",
            )
        return cls(
            agent_number=opts.required("agent_number", _REQUIRED),
            pos_number=opts.required("pos_number", _REQUIRED),
            service_path=service_path,
            payment_type=payment_type,
            payment_type_code=opts.text(
                "payment_type_code", codec.PAYMENT_TYPE_CODES[payment_type]
            ),
            wmid=opts.digits("wmid", default="0", message=_DIGITS),
            crs_id=opts.digits("crs_id", default="0", message=_DIGITS),
            pfx_path=opts.file("pfx_path"),
            ca_file=opts.file("ca_file"),
        )

    def merchant_fields(self) -> dict[str, str]:
        """The identity every request carries (see ``codec.MERCHANT_FIELDS``)."""
        return {
            "AgentId": self.agent_number,
            "Wmid": self.wmid,
            "PosId": self.pos_number,
            "CrsId": self.crs_id,
            "PaymentType": self.payment_type_code,
        }


def secret_key(name: str, secret: str) -> str:
    """The name of a secret of this entry, as error messages give it."""
    return f"providers.{name}.{secret}"  # the secrets file's [providers.<name>] table


def agent_key(name: str, secrets: Mapping[str, str]) -> str:
    """The agent key WebMoney gave (the answers' and requests' signing key), required."""
    value = secrets.get("agent_key", "")
    if not value:
        raise ConfigError(
            "required in the secrets file: the agent key WebMoney gave",
            key=secret_key(name, "agent_key"),
        )
    return value


def pfx_password(name: str, secrets: Mapping[str, str]) -> str:
    """The password of the ``.pfx`` certificate, required when ``options.pfx_path`` is set."""
    if "pfx_password" not in secrets:
        raise ConfigError(
            "required in the secrets file with options.pfx_path: the certificate's password",
            key=secret_key(name, "pfx_password"),
        )
    return secrets["pfx_password"]


def no_certificate(name: str) -> ConfigError:
    """The error of an ``https://`` gateway configured without a client certificate."""
    return ConfigError(
        "an https:// gateway needs the .pfx client certificate WebMoney gave",
        key=f"providers.{name}.options.pfx_path",
    )


def server_address(name: str, base_url: str) -> str:
    """The server address alone; the service path comes from ``options.service_path``."""
    url = base_url.rstrip("/")
    if urlsplit(url).path or urlsplit(url).query:
        raise ConfigError(
            f"{base_url!r} must be the server address only (e.g. https://dev.runpay.com); "
            "put the service path in options.service_path",
            key=f"providers.{name}.url",
        )
    return url
