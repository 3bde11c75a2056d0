"""Translate httpx failures and unusable HTTP answers into the terminal's provider error tree.

    httpx.TimeoutException                          -> ProviderTimeout
    httpx.NetworkError, RemoteProtocolError, ...    -> ProviderUnavailable
    httpx.DecodingError, other httpx.HTTPError      -> ProviderProtocolError
    an answer with HTTP status >= 500 (or 408, 429) -> ProviderUnavailable
    a body that is not JSON or lacks a field        -> ProviderProtocolError

Messages name the provider, the order and the failure, never a URL's query or a header,
so they are safe to log.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx

from terminal.errors import ProviderProtocolError, ProviderTimeout, ProviderUnavailable

__all__ = ["translate_httpx_errors", "raise_for_unavailable", "read_json"]

#: Statuses that mean "the provider cannot take this now; ask again later".
RETRY_LATER_STATUSES = frozenset({408, 429})


@contextmanager
def translate_httpx_errors(provider: str, order_id: str = "") -> Iterator[None]:
    """Run an httpx call, re-raising its failures as ``ProviderTechnicalError`` subclasses."""
    where = _where(provider, order_id)
    try:
        yield
    except httpx.TimeoutException as exc:
        raise ProviderTimeout(
            f"{where}no answer in time ({_kind(exc)})", provider=provider, order_id=order_id
        ) from exc
    except (httpx.TransportError, httpx.StreamError) as exc:
        # NetworkError (connect/read/write/close), RemoteProtocolError, ProxyError, ...
        raise ProviderUnavailable(
            f"{where}connection failed ({_kind(exc)})", provider=provider, order_id=order_id
        ) from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise ProviderProtocolError(
            f"{where}unusable answer ({_kind(exc)})", provider=provider, order_id=order_id
        ) from exc


def raise_for_unavailable(response: httpx.Response, *, provider: str, order_id: str = "") -> None:
    """Raise ``ProviderUnavailable`` when ``response`` is a server error or "retry later"."""
    status = response.status_code
    if status >= 500 or status in RETRY_LATER_STATUSES:
        answered = f"server answered HTTP {status} {response.reason_phrase}".rstrip()
        raise ProviderUnavailable(
            f"{_where(provider, order_id)}{answered}",
            provider=provider,
            order_id=order_id,
        )


def read_json(
    response: httpx.Response,
    *,
    provider: str,
    order_id: str = "",
    required: Mapping[str, type | tuple[type, ...]] | None = None,
) -> dict[str, Any]:
    """Return ``response``'s JSON object, checking that ``required`` fields have their types.

    Raises ``ProviderUnavailable`` for a server error (see :func:`raise_for_unavailable`)
    and ``ProviderProtocolError`` for a body that is not a JSON object or lacks a field.
    A ``bool`` never passes for an ``int`` field.
    """
    raise_for_unavailable(response, provider=provider, order_id=order_id)
    where = _where(provider, order_id)
    try:
        data = response.json()
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ProviderProtocolError(
            f"{where}HTTP {response.status_code} answer is not JSON",
            provider=provider,
            order_id=order_id,
        ) from exc
    if not isinstance(data, dict):
        raise ProviderProtocolError(
            f"{where}answer is JSON but not an object", provider=provider, order_id=order_id
        )
    for key, kind in (required or {}).items():
        if not _has_type(data.get(key), kind):
            raise ProviderProtocolError(
                f"{where}answer lacks field {key!r} of type {_type_name(kind)}",
                provider=provider,
                order_id=order_id,
            )
    return data


def _where(provider: str, order_id: str) -> str:
    return f"{provider}: order {order_id}: " if order_id else f"{provider}: "


def _has_type(value: object, kind: type | tuple[type, ...]) -> bool:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        return False
    return isinstance(value, kinds)


def _type_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


def _kind(exc: BaseException) -> str:
    """Name the failure without the request's URL (which may carry a signature or key)."""
    safe = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
    detail = str(exc) if isinstance(exc, safe) else ""
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
