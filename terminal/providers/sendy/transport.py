"""Sendy's signed POST, shared by the driver and the activation, and the wording of its refusals."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from terminal.providers.httpx_errors import raise_for_unavailable, translate_httpx_errors
from terminal.providers.sendy import codec as wire

__all__ = ["send_signed", "describe", "refusal_of"]


async def send_signed(
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


def describe(envelope: wire.Envelope) -> str:
    """An envelope's error number, its name and message, for error texts."""
    try:
        name = wire.ErrNo(envelope.err_no).name
    except ValueError:
        name = "unknown"
    text = f"errNo {envelope.err_no} ({name})"
    return f"{text}: {envelope.err_msg}" if envelope.err_msg else text


def refusal_of(response: httpx.Response) -> str:
    """What a refusing answer says, or its HTTP status when it is no Sendy envelope."""
    try:
        return describe(wire.decode_envelope(response.content))
    except ValueError:
        return f"HTTP {response.status_code}"
