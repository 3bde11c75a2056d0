"""Activating a terminal with Sendy: three attempts per code, the key kept in the state file."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from terminal.errors import ConfigError, ProviderProtocolError, ProviderTechnicalError
from terminal.providers.sendy import codec as wire
from terminal.providers.sendy.state import read_state, write_state
from terminal.providers.sendy.transport import describe, send_signed

__all__ = ["ActivationResult", "activate", "MAX_ACTIVATION_ATTEMPTS"]

logger = logging.getLogger(__name__)

#: Attempts allowed per activation code; after the third wrong one the code is void.
MAX_ACTIVATION_ATTEMPTS = 3


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
    state = read_state(state_path)
    attempts: dict[str, int] = state.setdefault("attempts", {})
    code_id = _code_id(activation_code)
    used = int(attempts.get(code_id, 0))
    result = _Result(terminal_id, state_path, _earlier_activation(state))
    if used >= MAX_ACTIVATION_ATTEMPTS:
        logger.warning("sendy:activation refused locally: code used %d times", used)
        return result.refused(used, _VOID)
    attempts[code_id] = used = used + 1
    write_state(state_path, state)
    url = base_url.rstrip("/") + api_root + wire.PATHS["activate"]
    fields = wire.activation_request(terminal_id, serial_number)
    try:
        response, nonce = await send_signed(client, url, fields, key=activation_code,
                                      terminal_id=terminal_id, provider=provider)  # fmt: skip
    except ProviderTechnicalError as exc:
        if isinstance(exc.__cause__, httpx.ConnectError | httpx.ConnectTimeout):
            attempts[code_id] = used - 1  # the request never left: the attempt is not used
            write_state(state_path, state)
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
        write_state(state_path, state)
        logger.info("sendy:activated terminal=%s serial=%s", terminal_id, serial_number)
        return result.activated(used)
    left = _attempts_left(envelope, used)
    if left == 0:
        attempts[code_id] = MAX_ACTIVATION_ATTEMPTS
        write_state(state_path, state)
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
    return f"activation refused: {describe(envelope)}"


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
