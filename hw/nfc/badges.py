"""Supervisor badges: a UID as it is tapped, and the digest a secrets file may list instead."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable

__all__ = ["badge_digest", "badge_matches", "normalise_uid"]

_UID = re.compile(r"(?:[0-9a-f]{2}){4,10}")
_DIGEST = re.compile(r"[0-9a-f]{64}")


def normalise_uid(uid: str) -> str:
    """``uid`` as lowercase hex without separators ("04:A1:B2:C3" → "04a1b2c3").

    Raises ValueError unless it is 4 to 10 bytes, the sizes ISO 14443 and FeliCa use.
    """
    text = re.sub(r"[\s:-]", "", uid).lower()
    if not _UID.fullmatch(text):
        raise ValueError(f"not a badge UID (4 to 10 bytes of hex): {uid!r}")
    return text


def badge_digest(uid: str) -> str:
    """The SHA-256 of the UID's bytes as 64 lowercase hex digits, for the secrets file."""
    return hashlib.sha256(bytes.fromhex(normalise_uid(uid))).hexdigest()


def badge_matches(uid: str, entries: Iterable[str]) -> bool:
    """True if ``uid`` is listed in ``entries``, each a UID or a :func:`badge_digest`.

    Every entry is compared in constant time, so the answer's timing tells nothing.
    """
    plain = normalise_uid(uid)
    digest = badge_digest(plain)
    found = False
    for entry in entries:
        wanted = entry.strip().lower()
        mine = digest if _DIGEST.fullmatch(wanted) else plain
        found |= hmac.compare_digest(mine.encode(), wanted.encode())
    return found
