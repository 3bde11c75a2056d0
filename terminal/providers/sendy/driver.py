"""The Sendy driver: offline (customer's QR) and online (token QR) payments, shifts, activation.

What the Кассир 5 Sendy module's document says is real here: both payment modes; the
services (Sendy always on, WeChat and AliPay switchable, the choice concerning only
online mode); through-numbering and shift numbers asked from the server before every
transaction; activation with terminal id, serial number and activation code, three
attempts per code; the message language. The wire itself (paths other than
``pos/payment/offline``, fields, words, signing) is assumed and lives in
:mod:`terminal.providers.sendy.codec`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from terminal.errors import ConfigError, ProviderProtocolError, ProviderTechnicalError
from terminal.money import Money
from terminal.payment import mask_code
from terminal.providers.base import Capabilities, Order, PaymentStatus, ProviderAnswer
from terminal.providers.httpx_errors import raise_for_unavailable, translate_httpx_errors
from terminal.providers.sendy import codec as wire

__all__ = [
    "SendyProvider",
    "SendySettings",
    "ActivationResult",
    "activate",
    "provider_ref",
    "MAX_ACTIVATION_ATTEMPTS",
    "LANGUAGES",
]

logger = logging.getLogger(__name__)

#: Attempts allowed per activation code; after the third wrong one the code is void.
MAX_ACTIVATION_ATTEMPTS = 3
LANGUAGES = ("en", "ru")

#: Settings of the Кассир 5 module that belong to the terminal here, and where they went.
_ELSEWHERE = {
    "url": "the server URL is providers.{name}.url",
    "server_url": "the server URL is providers.{name}.url",
    "slip_width": "slips are the terminal's: set [printer] columns (32 or 48)",
    "slip_copies": "slips are the terminal's: set [printer] copies",
    "copies": "slips are the terminal's: set [printer] copies",
    "timeout": "set providers.{name}.confirm_timeout_s, invoice_lifetime_s or read_timeout_s",
    "mode": "both modes are always on: offline by [[routes]], online by payment.mpm_provider",
    "serial_number": "the serial number is given to the activation only",
    "activation_code": "the activation code is given to the activation only",
    "terminal_key": "the terminal key is a secret: put it in the secrets file",
    "detailed_report": "reports are the terminal's",
}
_OPTIONS = frozenset(
    {"terminal_id", "language", "online_service", "state_path", "api_root"}
    | {f"service_{service}" for service in wire.SERVICES}
)
_REF_TEXT = {
    "en": "Sendy shift {shift}, transaction {txn:06d}",
    "ru": "Sendy смена {shift}, транзакция {txn:06d}",
}
_NO_REFUND = {
    "en": "Sendy refunds are not supported by the terminal",
    "ru": "Возврат Sendy терминалом не поддерживается",
}


def provider_ref(shift_no: int, transaction_no: int) -> str:
    """The reference printed on the slip: shift and through-number, e.g. ``S12/T000345``."""
    return f"S{shift_no}/T{transaction_no:06d}"


@dataclass(frozen=True, slots=True)
class SendySettings:
    """The driver's settings, read from ``[providers.<name>.options]`` and the secrets."""

    terminal_id: str
    terminal_key: str = field(repr=False)
    language: str = "en"
    online_services: tuple[str, ...] = ("sendy",)
    online_service: str = "sendy"
    api_root: str = wire.API_ROOT
    state_path: Path | None = None

    @classmethod
    def from_config(
        cls, name: str, options: Mapping[str, str], secrets: Mapping[str, str]
    ) -> SendySettings:
        """Check and read the settings; ``ConfigError`` names the key that is wrong."""
        _check_known(name, options)
        terminal_id = _required(name, options, "terminal_id")
        language = options.get("language", "en")
        if language not in LANGUAGES:
            raise _config_error(name, "language", f"must be one of {', '.join(LANGUAGES)}")
        services = _online_services(name, options)
        online_service = options.get("online_service", "sendy")
        if online_service not in services:
            raise _config_error(name, "online_service", _service_problem(online_service))
        api_root = options.get("api_root", wire.API_ROOT)
        if not (api_root.startswith("/") and api_root.endswith("/")):
            raise _config_error(name, "api_root", "must start and end with '/', e.g. '/v1/'")
        state_path = Path(options["state_path"]) if "state_path" in options else None
        key = secrets.get("terminal_key") or _key_from_state(name, state_path, terminal_id)
        return cls(terminal_id, key, language, services, online_service, api_root, state_path)


class SendyProvider:
    """Talks to a Sendy server over one injected ``httpx.AsyncClient`` (connections reused).

    Before each payment it asks the server for the transaction and shift numbers; they
    are the answer's ``provider_ref`` (``S12/T000345``). Every request is signed and every
    answer's signature checked; a wrong one is ``ProviderProtocolError``, never "paid".
    Never retries by itself; ``order.order_id`` finds the payment after a lost answer.
    """

    #: Offline (CPM) and online (MPM); a poll every 3 s; a minute to confirm in the app.
    #: Refunds are not in the module's document, so the terminal offers none.
    DEFAULT_CAPABILITIES = Capabilities(
        supports_refund=False,
        poll_interval_s=3.0,
        first_poll_delay_s=3.0,
        confirm_timeout_s=60.0,
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
        self.settings = SendySettings.from_config(name, options or {}, secrets or {})
        self._client = client
        self._base_url = base_url.rstrip("/")
        self._owns_client = owns_client
        self.last_counters: wire.Counters | None = None

    def __repr__(self) -> str:
        state = "closed" if self._client.is_closed else "open"
        return f"<SendyProvider {self.name} {self._base_url} {self.settings.terminal_id} {state}>"

    @property
    def online_services(self) -> tuple[str, ...]:
        """The services switched on for online mode (the cashier's choice, when more than one)."""
        return self.settings.online_services

    async def create_invoice(self, order: Order, *, service: str | None = None) -> ProviderAnswer:
        """Online mode: numbers first, then a token QR payable with ``service``'s app."""
        chosen = service or self.settings.online_service
        if chosen not in self.settings.online_services:
            raise _config_error(self.name, f"service_{chosen}", _service_problem(chosen))
        logger.debug(
            "sendy:online %s order=%s %s %s", self.name, order.order_id, order.amount, chosen
        )
        counters = await self._counters(order)
        fields = wire.online_request(
            self.settings.terminal_id, order, counters, self.settings.language, chosen
        )
        return self._payment_answer(await self._call("online", fields, order.order_id), order)

    async def pay_with_code(self, order: Order, code: str) -> ProviderAnswer:
        """Offline mode: numbers first, then ``pos/payment/offline`` with the customer's QR."""
        logger.debug(
            "sendy:offline %s order=%s %s code=%s",
            self.name, order.order_id, order.amount, mask_code(code),
        )  # fmt: skip
        counters = await self._counters(order)
        fields = wire.offline_request(
            self.settings.terminal_id, order, counters, self.settings.language, code
        )
        return self._payment_answer(await self._call("offline", fields, order.order_id), order)

    async def query(self, order: Order) -> ProviderAnswer:
        """Ask for the payment under ``order.order_id``; NOT_FOUND when the server never saw it."""
        fields = wire.order_request(
            self.settings.terminal_id, order.order_id, self.settings.language
        )
        return self._payment_answer(await self._call("status", fields, order.order_id), order)

    async def cancel(self, order: Order) -> ProviderAnswer:
        """Cancel an unpaid payment; a paid one answers PAID."""
        logger.debug("sendy:cancel %s order=%s", self.name, order.order_id)
        fields = wire.order_request(
            self.settings.terminal_id, order.order_id, self.settings.language
        )
        return self._payment_answer(await self._call("cancel", fields, order.order_id), order)

    async def refund(self, order: Order, refund_id: str, amount: Money) -> ProviderAnswer:
        """Refunds are not offered: answers the payment's status with ``refund_unsupported``."""
        logger.warning("sendy:refund %s order=%s refused: not supported", self.name, order.order_id)
        answer = await self.query(order)
        message = _NO_REFUND[self.settings.language]
        return dataclasses.replace(answer, raw_status="refund_unsupported", message=message)

    async def close_shift(self, shift_no: int | None = None) -> wire.ShiftTotals:
        """Close the open shift and return its totals (paid payments only).

        Given ``shift_no`` (after a lost answer), the server answers that shift's totals
        again instead of closing another. ``closed`` is False when no shift was open.
        """
        fields = wire.close_shift_request(self.settings.terminal_id, shift_no)
        envelope = await self._call("close_shift", fields, "")
        if envelope.err_no not in (wire.ErrNo.OK, wire.ErrNo.SHIFT_NOT_OPEN):
            raise self._protocol_error("", f"shift close refused: {_describe(envelope)}")
        try:
            totals = wire.ShiftTotals.from_data(envelope.data)
        except ValueError as exc:
            raise self._protocol_error("", f"unusable shift totals: {exc}") from exc
        logger.info(
            "sendy:shift_closed %s shift=%d closed=%s", self.name, totals.shift_no, totals.closed
        )
        return totals

    async def aclose(self) -> None:
        """Close the client if this driver owns it; idempotent."""
        if self._owns_client and not self._client.is_closed:
            await self._client.aclose()

    def status(self) -> dict[str, object]:
        """A snapshot for the self-check: terminal, services and the last numbers handed out."""
        last = self.last_counters
        return {
            "provider": self.name,
            "url": self._base_url,
            "terminal_id": self.settings.terminal_id,
            "online_services": list(self.settings.online_services),
            "online_service": self.settings.online_service,
            "last_shift_no": last.shift_no if last else None,
            "last_transaction_no": last.transaction_no if last else None,
            "open": not self._client.is_closed,
        }

    # -- private -----------------------------------------------------------------------

    async def _counters(self, order: Order) -> wire.Counters:
        """The transaction and shift numbers for ``order``, asked before the transaction."""
        fields = wire.counters_request(self.settings.terminal_id, order.order_id)
        envelope = await self._call("counters", fields, order.order_id)
        if envelope.err_no != wire.ErrNo.OK:
            raise self._protocol_error(order.order_id, f"no numbers: {_describe(envelope)}")
        try:
            counters = wire.Counters.from_data(envelope.data)
        except ValueError as exc:
            raise self._protocol_error(order.order_id, f"unusable numbers: {exc}") from exc
        if counters.shift_opened:
            logger.info("sendy:shift_opened %s shift=%d", self.name, counters.shift_no)
        self.last_counters = counters
        return counters

    async def _call(self, op: str, fields: Mapping[str, object], order_id: str) -> wire.Envelope:
        """Send one signed request and return its verified envelope."""
        key = self.settings.terminal_key
        response, nonce = await _send(
            self._client, self._base_url + self.settings.api_root + wire.PATHS[op], fields,
            key=key, terminal_id=self.settings.terminal_id, provider=self.name,
            order_id=order_id,
        )  # fmt: skip
        if response.status_code == 401:
            refused = f"the server refused the request ({_refusal(response)})"
            what = f"{refused}; check terminal_id and terminal_key"
            raise self._protocol_error(order_id, what)
        expected = wire.response_signature(key, nonce, response.content)
        if not wire.signature_matches(expected, response.headers.get(wire.SIGNATURE_HEADER)):
            raise self._protocol_error(
                order_id, f"the answer's signature is wrong (HTTP {response.status_code})"
            )
        try:
            envelope = wire.decode_envelope(response.content)
        except ValueError as exc:
            raise self._protocol_error(order_id, f"not a Sendy answer: {exc}") from exc
        if response.status_code != 200:
            what = f"HTTP {response.status_code}: {_describe(envelope)}"
            raise self._protocol_error(order_id, what)
        return envelope

    def _payment_answer(self, envelope: wire.Envelope, order: Order) -> ProviderAnswer:
        """Turn a payment envelope (or a business refusal) into an answer."""
        refusal = _REFUSALS.get(envelope.err_no)
        if refusal is not None:
            return ProviderAnswer(refusal[0], raw_status=refusal[1], message=envelope.err_msg)
        if envelope.err_no != wire.ErrNo.OK:
            raise self._protocol_error(order.order_id, _describe(envelope))
        try:
            payment = wire.SendyPayment.from_data(envelope.data)
        except ValueError as exc:
            raise self._protocol_error(order.order_id, f"unusable payment: {exc}") from exc
        if payment.order_id != order.order_id:
            raise self._protocol_error(
                order.order_id, f"answer is about order {payment.order_id!r}"
            )
        status = wire.STATUS_MAP.get(payment.status)
        if status is None:
            raise self._protocol_error(order.order_id, f"unknown status {payment.status!r}")
        return ProviderAnswer(
            status,
            raw_status=payment.status,
            provider_ref=provider_ref(payment.shift_no, payment.transaction_no),
            qr_payload=payment.qr,
            message=self._message(payment),
        )

    def _message(self, payment: wire.SendyPayment) -> str:
        text = _REF_TEXT[self.settings.language]
        ref = text.format(shift=payment.shift_no, txn=payment.transaction_no)
        return f"{ref}: {payment.message}" if payment.message else ref

    def _protocol_error(self, order_id: str, what: str) -> ProviderProtocolError:
        where = f"{self.name}: order {order_id}: " if order_id else f"{self.name}: "
        return ProviderProtocolError(f"{where}{what}", provider=self.name, order_id=order_id)


#: Business refusals of a payment request: the engine's status and the raw word.
_REFUSALS: dict[int, tuple[PaymentStatus, str]] = {
    wire.ErrNo.NOT_FOUND: (PaymentStatus.NOT_FOUND, "not_found"),
    wire.ErrNo.CONFLICT: (PaymentStatus.DECLINED, "conflict"),
    wire.ErrNo.SERVICE_OFF: (PaymentStatus.DECLINED, "service_off"),
}


# -- activation ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActivationResult:
    """What an activation attempt came to; the terminal key is never in it (it is in the file)."""

    activated: bool
    terminal_id: str
    attempts_used: int  # with this activation code, this one included
    attempts_left: int
    message: str
    state_path: Path
    warning: str = ""  # e.g. the terminal was activated before


async def activate(
    client: httpx.AsyncClient,
    base_url: str,
    *,
    terminal_id: str,
    serial_number: str,
    activation_code: str,
    state_path: Path,
    api_root: str = wire.API_ROOT,
    provider: str = "sendy",
) -> ActivationResult:
    """Activate the terminal with Sendy and keep its key in ``state_path`` (mode 0600).

    Attempts are counted per code in ``state_path`` before each request (a lost answer
    may have used one up at the server); a fourth attempt with one code is refused here,
    without a request. Wrong or void codes are results; no answer, a server error or a
    wrong signature raise ``ProviderTechnicalError``.
    """
    for key, value in (("terminal_id", terminal_id), ("serial_number", serial_number),
                       ("activation_code", activation_code)):  # fmt: skip
        if not value.strip():
            raise ConfigError("must not be empty", key=key)
    state = _read_state(state_path)
    attempts: dict[str, int] = state.setdefault("attempts", {})
    code_id = _code_id(activation_code)
    used = int(attempts.get(code_id, 0))
    result = _Result(terminal_id, state_path, _earlier_activation(state))
    if used >= MAX_ACTIVATION_ATTEMPTS:
        logger.warning("sendy:activation refused locally: code used %d times", used)
        return result.refused(used, _VOID)
    attempts[code_id] = used = used + 1
    _write_state(state_path, state)
    url = base_url.rstrip("/") + api_root + wire.PATHS["activate"]
    fields = wire.activation_request(terminal_id, serial_number)
    try:
        response, nonce = await _send(client, url, fields, key=activation_code,
                                      terminal_id=terminal_id, provider=provider)  # fmt: skip
    except ProviderTechnicalError as exc:
        if isinstance(exc.__cause__, httpx.ConnectError | httpx.ConnectTimeout):
            attempts[code_id] = used - 1  # the request never left: the attempt is not used
            _write_state(state_path, state)
        raise
    envelope = _activation_envelope(response, nonce, activation_code, provider)
    if envelope.err_no == wire.ErrNo.OK:
        try:
            terminal_key = wire.activation_key(envelope.data)
        except ValueError as exc:
            raise ProviderProtocolError(
                f"{provider}: activation: {exc}", provider=provider
            ) from exc
        attempts.pop(code_id, None)
        activated_at = datetime.now(UTC).isoformat()
        state.update(terminal_id=terminal_id, serial_number=serial_number,
                     terminal_key=terminal_key, activated_at=activated_at)  # fmt: skip
        _write_state(state_path, state)
        logger.info("sendy:activated terminal=%s serial=%s", terminal_id, serial_number)
        return result.activated(used)
    left = _attempts_left(envelope, used)
    if left == 0:
        attempts[code_id] = MAX_ACTIVATION_ATTEMPTS
        _write_state(state_path, state)
    return result.refused(used, _activation_refusal(envelope, terminal_id, left), left)


_VOID = (
    "the activation code was tried three times and is void: "
    "issue a new one in the Sendy merchant cabinet"
)


@dataclass(frozen=True, slots=True)
class _Result:
    terminal_id: str
    state_path: Path
    warning: str

    def activated(self, used: int) -> ActivationResult:
        left = MAX_ACTIVATION_ATTEMPTS - used
        message = f"terminal {self.terminal_id} activated; its key is in {self.state_path}"
        return ActivationResult(
            True, self.terminal_id, used, left, message, self.state_path, self.warning
        )

    def refused(self, used: int, message: str, left: int = 0) -> ActivationResult:
        return ActivationResult(
            False, self.terminal_id, used, left, message, self.state_path, self.warning
        )


def _activation_envelope(
    response: httpx.Response, nonce: str, code: str, provider: str
) -> wire.Envelope:
    """The activation's answer; a success must be signed with the activation code."""
    try:
        envelope = wire.decode_envelope(response.content)
    except ValueError as exc:
        raise ProviderProtocolError(
            f"{provider}: activation: not a Sendy answer: {exc}", provider=provider
        ) from exc
    expected = wire.response_signature(code, nonce, response.content)
    signed = wire.signature_matches(expected, response.headers.get(wire.SIGNATURE_HEADER))
    if envelope.err_no == wire.ErrNo.OK and not signed:
        raise ProviderProtocolError(
            f"{provider}: activation: the answer's signature is wrong", provider=provider
        )
    return envelope


def _attempts_left(envelope: wire.Envelope, used: int) -> int:
    """Attempts left with this code: ours, or the server's count when it says fewer."""
    left = max(0, MAX_ACTIVATION_ATTEMPTS - used)
    if envelope.err_no == wire.ErrNo.ACTIVATION_CODE_VOID:
        return 0
    server = envelope.data.get("attempts_left")
    if isinstance(server, int) and not isinstance(server, bool):
        left = max(0, min(left, server))
    return left


def _activation_refusal(envelope: wire.Envelope, terminal_id: str, left: int) -> str:
    if left == 0 and envelope.err_no in (
        wire.ErrNo.ACTIVATION_CODE_WRONG, wire.ErrNo.ACTIVATION_CODE_VOID,
    ):  # fmt: skip
        return _VOID
    if envelope.err_no == wire.ErrNo.ACTIVATION_CODE_WRONG:
        return f"wrong activation code; {left} attempt(s) left with this code"
    if envelope.err_no == wire.ErrNo.UNKNOWN_TERMINAL:
        return f"Sendy does not know terminal {terminal_id!r}: check the id issued at registration"
    return f"activation refused: {_describe(envelope)}"


def _earlier_activation(state: Mapping[str, Any]) -> str:
    if not state.get("terminal_key"):
        return ""
    return (
        f"this terminal may have been activated before (terminal {state.get('terminal_id')}, "
        f"{state.get('activated_at', 'date unknown')}); a new activation replaces its key"
    )


def _code_id(code: str) -> str:
    """The state file keeps a code's fingerprint, never the code."""
    return hashlib.sha256(code.strip().encode("utf-8")).hexdigest()[:16]


# -- shared private helpers ----------------------------------------------------------


async def _send(
    client: httpx.AsyncClient,
    url: str,
    fields: Mapping[str, object],
    *,
    key: str,
    terminal_id: str,
    provider: str,
    order_id: str = "",
) -> tuple[httpx.Response, str]:
    """POST one signed request; return the answer and the nonce it must be signed over."""
    body = wire.encode(fields)
    nonce = wire.new_nonce()
    path = httpx.URL(url).path
    headers = {
        "Content-Type": "application/json",
        wire.TERMINAL_HEADER: terminal_id,
        wire.NONCE_HEADER: nonce,
        wire.SIGNATURE_HEADER: wire.request_signature(key, "POST", path, nonce, body),
    }
    with translate_httpx_errors(provider, order_id):
        response = await client.post(url, content=body, headers=headers)
    raise_for_unavailable(response, provider=provider, order_id=order_id)
    return response, nonce


def _describe(envelope: wire.Envelope) -> str:
    try:
        name = wire.ErrNo(envelope.err_no).name
    except ValueError:
        name = "unknown"
    text = f"errNo {envelope.err_no} ({name})"
    return f"{text}: {envelope.err_msg}" if envelope.err_msg else text


def _refusal(response: httpx.Response) -> str:
    try:
        return _describe(wire.decode_envelope(response.content))
    except ValueError:
        return f"HTTP {response.status_code}"


def _config_error(name: str, key: str, message: str) -> ConfigError:
    return ConfigError(message, key=f"providers.{name}.options.{key}")


def _check_known(name: str, options: Mapping[str, str]) -> None:
    for key in options:
        if key in _OPTIONS:
            continue
        hint = _ELSEWHERE.get(key, f"known options: {', '.join(sorted(_OPTIONS))}")
        raise _config_error(name, key, f"is not a Sendy option; {hint.format(name=name)}")


def _required(name: str, options: Mapping[str, str], key: str) -> str:
    value = options.get(key, "").strip()
    if not value:
        raise _config_error(name, key, "is required (the id Sendy issued at registration)")
    return value


def _flag(name: str, options: Mapping[str, str], key: str) -> bool:
    value = options.get(key, "false").strip().lower()
    if value not in ("true", "false"):
        raise _config_error(name, key, 'must be "true" or "false"')
    return value == "true"


def _online_services(name: str, options: Mapping[str, str]) -> tuple[str, ...]:
    """Sendy is always on (it cannot be switched off); WeChat and AliPay when switched on."""
    if options.get("service_sendy", "true").strip().lower() != "true":
        raise _config_error(name, "service_sendy", "Sendy is always on: it cannot be switched off")
    switchable = [s for s in wire.SERVICES if s != "sendy" and _flag(name, options, f"service_{s}")]
    return ("sendy", *switchable)


def _service_problem(service: str) -> str:
    if service not in wire.SERVICES:
        return f"{service!r} is not a Sendy service; one of {', '.join(wire.SERVICES)}"
    return f'{service} is switched off; set service_{service} = "true" to offer it'


def _key_from_state(name: str, state_path: Path | None, terminal_id: str) -> str:
    """The terminal key the activation stored, or ``ConfigError`` saying how to get one."""
    if state_path is None:
        raise ConfigError(
            "no terminal key: put terminal_key in the secrets file's [providers."
            f"{name}] table, or activate the terminal and set options.state_path",
            key=f"providers.{name}.terminal_key",
        )
    where = f"providers.{name}.options.state_path"
    state = _read_state(state_path, key=where)
    if not state.get("terminal_key"):
        raise ConfigError(f"{state_path} holds no terminal key: activate the terminal", key=where)
    if state.get("terminal_id") != terminal_id:
        raise ConfigError(
            f"{state_path} was activated for terminal {state.get('terminal_id')!r}, "
            f"not {terminal_id!r}: activate again or fix options.terminal_id",
            key=where,
        )
    if state_path.stat().st_mode & stat.S_IRWXO:
        raise ConfigError(f"{state_path} may be read by every user: run chmod 600 on it", key=where)
    return str(state["terminal_key"])


def _read_state(path: Path, *, key: str = "state_path") -> dict[str, Any]:
    """The activation state file's content; empty when it does not exist yet."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", key=key) from exc
    try:
        state = json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        raise ConfigError(f"{path} is not the Sendy state file (not JSON)", key=key) from exc
    if not isinstance(state, dict) or not isinstance(state.get("attempts", {}), dict):
        raise ConfigError(f"{path} is not the Sendy state file", key=key)
    return state


def _write_state(path: Path, state: Mapping[str, Any]) -> None:
    """Replace the state file atomically, readable by its owner only (0600)."""
    data = json.dumps(state, indent=2, sort_keys=True).encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temporary, 0o600)
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}", key="state_path") from exc
