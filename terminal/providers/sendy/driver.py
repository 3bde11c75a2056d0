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
import logging
from collections.abc import Mapping

import httpx

from terminal.errors import ConfigError, ProviderProtocolError
from terminal.money import Money
from terminal.payment import mask_code
from terminal.providers.base import Capabilities, Order, PaymentStatus, ProviderAnswer
from terminal.providers.sendy import codec as wire
from terminal.providers.sendy.activation import MAX_ACTIVATION_ATTEMPTS, ActivationResult, activate
from terminal.providers.sendy.settings import LANGUAGES, SendySettings, service_problem
from terminal.providers.sendy.transport import describe, refusal_of, send_signed

# The activation and the settings have their own modules; the command line reaches the
# activation through this one, the provider's front door.
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
        """Online mode: numbers first, then a token QR payable with ``service``'s app.

        The service is ``service``, else the one the cashier chose (``order.wallet``), else
        ``options.online_service``.
        """
        chosen = service or order.wallet or self.settings.online_service
        if chosen not in self.settings.online_services:
            raise ConfigError(
                service_problem(chosen), key=f"providers.{self.name}.options.service_{chosen}"
            )
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
            raise self._protocol_error("", f"shift close refused: {describe(envelope)}")
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
            raise self._protocol_error(order.order_id, f"no numbers: {describe(envelope)}")
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
        response, nonce = await send_signed(
            self._client, self._base_url + self.settings.api_root + wire.PATHS[op], fields,
            key=key, terminal_id=self.settings.terminal_id, provider=self.name,
            order_id=order_id,
        )  # fmt: skip
        if response.status_code == 401:
            refused = f"the server refused the request ({refusal_of(response)})"
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
            what = f"HTTP {response.status_code}: {describe(envelope)}"
            raise self._protocol_error(order_id, what)
        return envelope

    def _payment_answer(self, envelope: wire.Envelope, order: Order) -> ProviderAnswer:
        """Turn a payment envelope (or a business refusal) into an answer."""
        refusal = _REFUSALS.get(envelope.err_no)
        if refusal is not None:
            return ProviderAnswer(refusal[0], raw_status=refusal[1], message=envelope.err_msg)
        if envelope.err_no != wire.ErrNo.OK:
            raise self._protocol_error(order.order_id, describe(envelope))
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
