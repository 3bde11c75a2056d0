"""The webhook signature: HMAC-SHA256 over the timestamp and the body, Stripe's ``t=…,v1=…``.

The header ``Payterm-Signature: t=<unix seconds>,v1=<hex>`` carries the time the batch was
signed and ``HMAC-SHA256(secret, "<t>.<body>")``. A receiver recomputes it with the shared
secret and compares in constant time (:func:`verify` is the reference); it may also refuse
a timestamp too far from its own clock, keeping in mind that a terminal whose clock is not
yet synchronised says so in each record (``recorded_wall_synced``).
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["SIGNATURE_HEADER", "sign", "signature_header", "verify"]

SIGNATURE_HEADER = "Payterm-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>.<body>"`` under ``secret``."""
    message = str(int(timestamp)).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The value of the ``Payterm-Signature`` header for ``body`` signed at ``timestamp``."""
    return f"t={int(timestamp)},v1={sign(secret, timestamp, body)}"


def verify(
    secret: str, header: str, body: bytes, *, now: int | None = None, tolerance_s: int = 300
) -> bool:
    """True when ``header`` signs ``body`` with ``secret`` (and, given ``now``, is recent)."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    if now is not None and abs(now - timestamp) > tolerance_s:
        return False
    expected = sign(secret, timestamp, body)
    return any(hmac.compare_digest(expected, given) for given in fields.get("v1", []))
