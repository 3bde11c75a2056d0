"""The WebMoney POS gateway's driver (SBP, WebMoney, WeChat, Alipay by QR) and its TLS client.

The configuration and the behaviour follow the public record (docs/providers/webmoney.md):
agent number, WMID, POS number, CrsId, agent key, a PKCS#12 client certificate with its
password, server address plus service path, one payment type per provider entry, a poll
every 5 s, an overall timeout of at least 120 s and a budget of consecutive technical
errors. The wire encoding is not public: it is assumed, wholly inside
:mod:`terminal.providers.webmoney.codec`.
"""

from __future__ import annotations

import logging
import os
import secrets as token_source
import ssl
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12

from terminal.errors import ConfigError, ProviderProtocolError
from terminal.money import Money
from terminal.payment import mask_code
from terminal.providers.base import Capabilities, Order, PaymentStatus, ProviderAnswer
from terminal.providers.httpx_errors import raise_for_unavailable, translate_httpx_errors
from terminal.providers.webmoney import codec as codec

__all__ = [
    "WebMoneyProvider",
    "WebMoneySettings",
    "PAYMENT_TYPES",
    "client_ssl_context",
    "client_for",
]

logger = logging.getLogger(__name__)

#: The gateway's four payment types, as ``options.payment_type`` names them.
PAYMENT_TYPES = ("sbp", "webmoney", "wechat", "alipay")

#: Every option a ``[providers.<name>.options]`` table of this driver may hold.
OPTIONS = frozenset(
    {"agent_number", "wmid", "pos_number", "crs_id", "service_path", "payment_type",
     "payment_type_code", "pfx_path", "ca_file"}
)  # fmt: skip

#: The whole operation, the customer paying included, hardly takes less (public record).
MIN_OVERALL_TIMEOUT_S = 120.0

#: Timeouts of a client built without the config's (connect and pool, read and write).
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=10.0, write=10.0, pool=5.0)
MAX_CONNECTIONS = 4  # one call at a time, plus a query or cancel that may overlap it


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
        unknown = sorted(set(options) - OPTIONS)
        if unknown:
            raise ConfigError(
                f"unknown option; known: {', '.join(sorted(OPTIONS))}",
                key=_option_key(name, unknown[0]),
            )
        payment_type = _required(name, options, "payment_type").lower()
        if payment_type not in PAYMENT_TYPES:
            raise ConfigError(
                f"{payment_type!r} is not one of {', '.join(PAYMENT_TYPES)}",
                key=_option_key(name, "payment_type"),
            )
        service_path = _required(name, options, "service_path")
        if not service_path.startswith("/") or "?" in service_path:
            raise ConfigError(
                f"{service_path!r} must start with / (e.g. /PosIntegration2/ApiService.svc)",
                key=_option_key(name, "service_path"),
            )
        return cls(
            agent_number=_required(name, options, "agent_number"),
            pos_number=_required(name, options, "pos_number"),
            service_path=service_path,
            payment_type=payment_type,
            payment_type_code=options.get("payment_type_code")
            or codec.PAYMENT_TYPE_CODES[payment_type],
            wmid=_digits(name, options, "wmid"),
            crs_id=_digits(name, options, "crs_id"),
            pfx_path=_path(options, "pfx_path"),
            ca_file=_path(options, "ca_file"),
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


def client_ssl_context(
    pfx_path: str | os.PathLike[str],
    password: str,
    *,
    cafile: str | os.PathLike[str] | None = None,
    provider: str = "webmoney",
) -> ssl.SSLContext:
    """A verifying TLS client context presenting the PKCS#12 ``.pfx`` certificate and key.

    The private key never touches the disk unprotected: it is re-encrypted under a
    one-time random passphrase into a 0600 file in a private temporary folder, loaded,
    and the folder is deleted at once. Server certificates are checked against ``cafile``
    (or the system's CAs) and the host name. ``ConfigError`` names the key to fix.
    """
    key, chain = _load_pfx(Path(pfx_path), password, provider)
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    passphrase = token_source.token_hex(32)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode("ascii")),
    )
    chain_pem = b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in chain)
    with tempfile.TemporaryDirectory(prefix="payterm-pfx-") as folder:
        certfile = _write_private(Path(folder) / "chain.pem", chain_pem)
        keyfile = _write_private(Path(folder) / "key.pem", key_pem)
        try:
            context.load_cert_chain(certfile, keyfile, password=passphrase)
        except ssl.SSLError as exc:
            raise ConfigError(
                f"the certificate in {pfx_path} cannot be used for TLS ({exc.reason})",
                key=_option_key(provider, "pfx_path"),
            ) from exc
    return context


def client_for(
    options: Mapping[str, str],
    secrets: Mapping[str, str],
    *,
    name: str = "webmoney",
    url: str = "",
    timeout: httpx.Timeout | None = None,
) -> httpx.AsyncClient:
    """The ``httpx.AsyncClient`` a WebMoney entry needs: ``verify=`` its client-certificate context.

    With ``options.pfx_path`` the client presents that certificate (``pfx_password`` from
    the secrets) and verifies the server against ``options.ca_file`` or the system's CAs.
    Without it only a plain ``http://`` ``url`` (the loopback fake) is allowed: an
    ``https://`` one raises ``ConfigError`` naming ``pfx_path``. Pass the config's
    timeouts as ``timeout``; environment proxies and certificates are ignored.
    """
    settings = WebMoneySettings.from_options(name, options)
    verify: ssl.SSLContext | bool = True
    if settings.pfx_path is not None:
        password = _pfx_password(name, secrets)
        verify = client_ssl_context(
            settings.pfx_path, password, cafile=settings.ca_file, provider=name
        )
    elif url.startswith("https://"):
        raise _no_certificate(name)
    limits = httpx.Limits(
        max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS
    )
    return httpx.AsyncClient(
        verify=verify, timeout=timeout or DEFAULT_TIMEOUT, limits=limits, trust_env=False
    )


class WebMoneyProvider:
    """Talks to the WebMoney POS gateway over one injected ``httpx.AsyncClient``.

    MPM only: the gateway makes a QR for this entry's payment type; the terminal prints or
    shows it and polls every 5 s. Every call names the payment by the terminal's order id,
    so a lost answer is found by :meth:`query`; nothing is retried here. Every answer's
    signature is checked with the agent key: a wrong one is ``ProviderProtocolError``.
    The client must be built by :func:`client_for` (the client certificate lives in it).
    """

    DEFAULT_CAPABILITIES = Capabilities(
        supports_mpm=True,
        supports_cpm=False,
        supports_refund=True,  # assumed RefundPayment (docs/providers/webmoney.md)
        supports_cancel=True,
        poll_interval_s=5.0,
        first_poll_delay_s=5.0,
        invoice_lifetime_s=MIN_OVERALL_TIMEOUT_S,  # the overall timeout
        confirm_timeout_s=MIN_OVERALL_TIMEOUT_S,  # unused: no customer codes
        no_answer_timeout_s=MIN_OVERALL_TIMEOUT_S,  # the error budget ends a dead wait first
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
    ) -> None:
        self.name = name
        self.capabilities = capabilities
        self.settings = WebMoneySettings.from_options(name, options or {})
        self._agent_key = _agent_key(name, secrets or {})
        self._base_url = _server_address(name, base_url)
        if self._base_url.startswith("https://") and self.settings.pfx_path is None:
            raise _no_certificate(name)
        if self.settings.pfx_path is not None:
            _pfx_password(name, secrets or {})
        if capabilities.invoice_lifetime_s < MIN_OVERALL_TIMEOUT_S:
            logger.warning(
                "webmoney:config %s invoice_lifetime_s %.0f s is under %.0f s: a printed QR "
                "is rarely paid that fast",
                name,
                capabilities.invoice_lifetime_s,
                MIN_OVERALL_TIMEOUT_S,
            )
        self._endpoint = f"{self._base_url}{self.settings.service_path}"
        self._client = client
        self._owns_client = owns_client

    def __repr__(self) -> str:
        state = "closed" if self._client.is_closed else "open"
        return (
            f"<WebMoneyProvider {self.name} {self._endpoint} pos={self.settings.pos_number} "
            f"type={self.settings.payment_type} {state}>"
        )

    async def create_invoice(self, order: Order) -> ProviderAnswer:
        """Ask the gateway for a QR of this entry's payment type."""
        logger.debug("webmoney:create %s order=%s %s", self.name, order.order_id, order.amount)
        fields = {**_amount_fields(order.amount), "Description": order.description}
        reply = await self._call(codec.Operation.CREATE, order, fields)
        answer = self._record_answer(reply, order)
        if answer.status is PaymentStatus.PENDING and not answer.qr_payload:
            raise self._protocol_error(order, "a pending payment came without QrData")
        return answer

    async def pay_with_code(self, order: Order, code: str) -> ProviderAnswer:
        """The gateway takes no customer codes: declined at once, nothing is sent."""
        logger.warning(
            "webmoney:no_cpm %s order=%s code=%s", self.name, order.order_id, mask_code(code)
        )
        message = "WebMoney gateway payments are by QR only"
        return ProviderAnswer(PaymentStatus.DECLINED, raw_status="unsupported", message=message)

    async def query(self, order: Order) -> ProviderAnswer:
        """Ask what became of the payment under the terminal's order id."""
        reply = await self._call(codec.Operation.STATUS, order, {})
        return self._record_answer(reply, order)

    async def cancel(self, order: Order) -> ProviderAnswer:
        """Cancel an unpaid payment; a paid one answers PAID, an unknown one NOT_FOUND."""
        logger.debug("webmoney:cancel %s order=%s", self.name, order.order_id)
        reply = await self._call(codec.Operation.CANCEL, order, {})
        return self._record_answer(reply, order)

    async def refund(self, order: Order, refund_id: str, amount: Money) -> ProviderAnswer:
        """Refund ``amount``; a repeated ``refund_id`` refunds nothing more."""
        logger.debug(
            "webmoney:refund %s order=%s refund=%s %s", self.name, order.order_id, refund_id, amount
        )
        fields = {**_amount_fields(amount), "RefundId": refund_id}
        reply = await self._call(codec.Operation.REFUND, order, fields)
        return self._refund_answer(reply, order, refund_id, amount)

    async def aclose(self) -> None:
        """Close the client if this driver owns it; idempotent."""
        if self._owns_client and not self._client.is_closed:
            await self._client.aclose()

    # -- private -----------------------------------------------------------------------

    async def _call(
        self, operation: codec.Operation, order: Order, fields: Mapping[str, str]
    ) -> codec.Reply:
        """One signed request and its checked answer; no proper answer raises."""
        request = codec.encode_request(
            operation,
            {**self.settings.merchant_fields(), "OrderId": order.order_id, **fields},
            self._agent_key,
        )
        with translate_httpx_errors(self.name, order.order_id):
            response = await self._client.post(
                self._endpoint, content=request.body, headers=request.headers
            )
        raise_for_unavailable(response, provider=self.name, order_id=order.order_id)
        if response.status_code != 200:
            raise self._protocol_error(order, f"{operation.value}: HTTP {response.status_code}")
        try:
            reply = codec.decode_reply(operation, response.content, self._agent_key)
        except codec.WireError as exc:
            raise self._protocol_error(order, f"{operation.value}: {exc}") from exc
        if reply.result_code in _TECHNICAL_REFUSALS:
            refusal = _TECHNICAL_REFUSALS[reply.result_code]
            raise self._protocol_error(order, f"{operation.value}: {refusal} ({reply.result_text})")
        if reply.order_id and reply.order_id != order.order_id:
            raise self._protocol_error(order, f"answer is about order {reply.order_id!r}")
        return reply

    def _record_answer(self, reply: codec.Reply, order: Order) -> ProviderAnswer:
        """A payment record (or a refusal about one) as an answer."""
        if reply.result_code == codec.Result.NOT_FOUND:
            return ProviderAnswer(PaymentStatus.NOT_FOUND, raw_status="NotFound")
        if reply.result_code == codec.Result.DUPLICATE_ORDER:
            message = "order id already used with another amount or payment type"
            return ProviderAnswer(PaymentStatus.DECLINED, raw_status="Duplicate", message=message)
        if reply.result_code not in (codec.Result.OK, codec.Result.ALREADY_PAID):
            raise self._protocol_error(order, f"unexpected ResultCode {reply.result_code}")
        if reply.order_id != order.order_id:
            raise self._protocol_error(order, "answer names no order")
        self._check_amount(reply, order, order.amount)
        return ProviderAnswer(
            self._status(reply, order),
            raw_status=reply.state,
            provider_ref=reply.transaction_id or None,
            qr_payload=reply.qr_data or None,
            message=reply.result_text,
        )

    def _refund_answer(
        self, reply: codec.Reply, order: Order, refund_id: str, amount: Money
    ) -> ProviderAnswer:
        if reply.result_code == codec.Result.NOT_FOUND:
            return ProviderAnswer(PaymentStatus.NOT_FOUND, raw_status="NotFound")
        refusal = _REFUND_REFUSALS.get(reply.result_code)
        if refusal is not None:
            status = self._status(reply, order)
            return ProviderAnswer(status, raw_status=reply.state, message=refusal)
        if reply.result_code != codec.Result.OK:
            raise self._protocol_error(order, f"unexpected ResultCode {reply.result_code}")
        if reply.refund_id != refund_id or reply.order_id != order.order_id:
            raise self._protocol_error(order, f"answer is about refund {reply.refund_id!r}")
        self._check_amount(reply, order, amount)
        return ProviderAnswer(
            PaymentStatus.REFUNDED,
            raw_status=reply.state,
            provider_ref=reply.transaction_id or None,
            message=reply.result_text,
        )

    def _status(self, reply: codec.Reply, order: Order) -> PaymentStatus:
        status = codec.STATE_MAP.get(reply.state)
        if status is None:
            raise self._protocol_error(order, f"unknown State {reply.state!r}")
        return status

    def _check_amount(self, reply: codec.Reply, order: Order, expected: Money) -> None:
        """The gateway's amount must be the order's: anything else is not this payment."""
        try:
            same = Money.parse(reply.amount, reply.currency) == expected
        except ValueError:
            same = False
        if not same:
            got = f"{reply.amount} {reply.currency}".strip()
            raise self._protocol_error(order, f"answer's amount {got!r} is not {expected}")

    def _protocol_error(self, order: Order, what: str) -> ProviderProtocolError:
        return ProviderProtocolError(
            f"{self.name}: order {order.order_id}: {what}",
            provider=self.name,
            order_id=order.order_id,
        )


#: Result codes that are no business answer: the terminal's setup or this code is wrong.
_TECHNICAL_REFUSALS: dict[int, str] = {
    codec.Result.BAD_SIGNATURE: "the gateway refused the request's signature (check agent_key)",
    codec.Result.UNKNOWN_TERMINAL: "the gateway does not know this agent, POS or CrsId",
    codec.Result.BAD_REQUEST: "the gateway refused the request as malformed",
}

#: Refund refusals and how the cashier reads them.
_REFUND_REFUSALS: dict[int, str] = {
    codec.Result.NOT_PAID: "the payment is not paid",
    codec.Result.REFUND_EXCEEDS: "the refund exceeds what was paid",
    codec.Result.REFUND_CONFLICT: "this refund id was already used for another refund",
}


def _amount_fields(amount: Money) -> dict[str, str]:
    return {"Amount": amount.major_str(), "Currency": amount.currency}


# -- configuration -------------------------------------------------------------------


def _option_key(name: str, option: str) -> str:
    return f"providers.{name}.options.{option}"


def _secret_key(name: str, secret: str) -> str:
    return f"providers.{name}.{secret}"  # the secrets file's [providers.<name>] table


def _required(name: str, options: Mapping[str, str], option: str) -> str:
    value = options.get(option, "").strip()
    if not value:
        raise ConfigError(
            "required: the value WebMoney gave for this terminal", key=_option_key(name, option)
        )
    return value


def _digits(name: str, options: Mapping[str, str], option: str) -> str:
    value = options.get(option, "0").strip() or "0"
    if not value.isascii() or not value.isdigit():
        raise ConfigError(
            f"{value!r} must be digits (0 when WebMoney gave none)", key=_option_key(name, option)
        )
    return value


def _path(options: Mapping[str, str], option: str) -> Path | None:
    value = options.get(option, "").strip()
    return Path(value) if value else None


def _agent_key(name: str, secrets: Mapping[str, str]) -> str:
    key = secrets.get("agent_key", "")
    if not key:
        raise ConfigError(
            "required in the secrets file: the agent key WebMoney gave",
            key=_secret_key(name, "agent_key"),
        )
    return key


def _pfx_password(name: str, secrets: Mapping[str, str]) -> str:
    if "pfx_password" not in secrets:
        raise ConfigError(
            "required in the secrets file with options.pfx_path: the certificate's password",
            key=_secret_key(name, "pfx_password"),
        )
    return secrets["pfx_password"]


def _no_certificate(name: str) -> ConfigError:
    return ConfigError(
        "an https:// gateway needs the .pfx client certificate WebMoney gave",
        key=_option_key(name, "pfx_path"),
    )


def _server_address(name: str, base_url: str) -> str:
    """The server address alone; the service path comes from ``options.service_path``."""
    url = base_url.rstrip("/")
    if urlsplit(url).path or urlsplit(url).query:
        raise ConfigError(
            f"{base_url!r} must be the server address only (e.g. https://dev.runpay.com); "
            "put the service path in options.service_path",
            key=f"providers.{name}.url",
        )
    return url


# -- the certificate -----------------------------------------------------------------


def _load_pfx(
    path: Path, password: str, provider: str
) -> tuple[PrivateKeyTypes, list[x509.Certificate]]:
    """The private key and certificate chain (own certificate first) of a ``.pfx`` file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"cannot read {path}: {exc.strerror or exc}", key=_option_key(provider, "pfx_path")
        ) from exc
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, password.encode() or None)
    except ValueError as exc:
        raise ConfigError(
            f"{path} cannot be opened with this password (or is not a PKCS#12 file)",
            key=_secret_key(provider, "pfx_password"),
        ) from exc
    if key is None or cert is None:
        raise ConfigError(
            f"{path} lacks the private key or its certificate",
            key=_option_key(provider, "pfx_path"),
        )
    return key, [cert, *extra]


def _write_private(path: Path, data: bytes) -> str:
    """Write ``data`` to a new file only its owner may read; return its path."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    return str(path)
